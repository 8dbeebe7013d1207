public import SSHCrypto

/// A certificate as ssh-keygen prints it: `ssh-keygen -L` (ssh-keygen.c `print_cert`,
/// `show_options`) and the validity of sshkey.c `sshkey_format_cert_validity`.
extension SSHCertificate {
    /// The validity as ssh-keygen prints it: `forever`, `before TIME`, `after TIME` or
    /// `from TIME to TIME`, each TIME `YYYY-MM-DDTHH:MM:SS` in local time.
    public var validityDescription: String {
        let (after, before) = (self.validAfter, self.validBefore)
        return Self.validityDescription(validAfter: after, validBefore: before)
    }

    /// ``validityDescription`` of an interval.
    public static func validityDescription(validAfter after: UInt64, validBefore before: UInt64) -> String {
        if after == 0 && before == .max { return "forever" }
        // format_absolute_time clamps to the largest time_t.
        func time(_ t: UInt64) -> String { AbsoluteTime.format(Int64(clamping: t)) }
        if after == 0 { return "before \(time(before))" }
        if before == .max { return "after \(time(after))" }
        return "from \(time(after)) to \(time(before))"
    }

    /// The lines `ssh-keygen -L` prints for the certificate `key` (after the file name line),
    /// each ending in a newline.
    public var keygenDescription: String { self.keygenDescription(hash: .sha256) }

    /// The lines `ssh-keygen -L -E hash` prints for the certificate: the key's and the CA's
    /// fingerprints made with `hash`.
    public func keygenDescription(hash: HashFunction) -> String {
        let key = SSHPublicKey(backing: .certificate(self))
        var out = ""
        out += "        Type: \(key.type.sshName) \(self.kind.label) certificate\n"
        out += "        Public key: \(key.type.displayName) \(key.fingerprint(hash))\n"
        out += "        Signing CA: \(self.signatureKey.type.displayName) \(self.signatureKey.fingerprint(hash))"
        out += " (using \(self.signature.algorithm))\n"
        out += "        Key ID: \"\(self.keyID)\"\n"
        out += "        Serial: \(self.serial)\n"
        out += "        Valid: \(self.validityDescription)\n"
        out += "        Principals: "
        if self.principals.isEmpty {
            out += "(none)\n"
        } else {
            for principal in self.principals { out += "\n                \(principal)" }
            out += "\n"
        }
        out += "        Critical Options: "
        out += self.criticalOptions.isEmpty ? "(none)\n" : "\n" + Self.describe(self.criticalOptions, critical: true)
        out += "        Extensions: "
        out += self.extensions.isEmpty ? "(none)\n" : "\n" + Self.describe(self.extensions, critical: false)
        return out
    }

    /// The extensions show_options prints by name alone.
    private static let knownFlagExtensions: Set<String> = [
        "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
        "permit-user-rc", "no-touch-required",
    ]

    /// show_options: the name, then the value of force-command and source-address, nothing
    /// for known flags, and for anything else its data in hex or `UNKNOWN FLAG OPTION`.
    private static func describe(_ fields: [Field], critical: Bool) -> String {
        var out = ""
        for field in fields {
            out += "                \(field.name)"
            if !critical && knownFlagExtensions.contains(field.name) {
                out += "\n"
            } else if critical && (field.name == "force-command" || field.name == "source-address"),
                let value = field.stringValue
            {
                out += " \(value)\n"
            } else if critical && field.name == "verify-required" {
                out += "\n"
            } else if !field.data.isEmpty {
                out += " UNKNOWN OPTION: \(field.data.map(hex2).joined()) (len \(field.data.count))\n"
            } else {
                out += " UNKNOWN FLAG OPTION\n"
            }
        }
        return out
    }
}

extension SSHCertificate.Field {
    /// The data read as one string (force-command, source-address), or nil when it is not
    /// exactly one string.
    public var stringValue: String? {
        var r = SSHWireReader(self.data)
        guard let value = try? r.readString(), r.isAtEnd else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
