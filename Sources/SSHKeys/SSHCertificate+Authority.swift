/// Checking a certificate as sshd, ssh and ssh-keygen check it before they trust it.
///
/// sshkey.c `sshkey_cert_check_authority` (kind, validity, principals),
/// `sshkey_cert_check_host` (no critical options on a host certificate), auth-options.c
/// `sshauthopt_from_cert` (which critical options and extensions exist), and
/// addrmatch.c `addr_match_cidr_list` (`source-address`). The CA key itself is matched by
/// the caller (an authorized_keys `cert-authority` line, `TrustedUserCAKeys`, an
/// allowed_signers `cert-authority` line, a known_hosts `@cert-authority` line); the CA's
/// signature was verified when the certificate was read.
extension SSHCertificate {
    /// The name a certificate is checked for.
    public enum RequiredName: Sendable, Hashable {
        /// No name is checked (sshd with a `principals=` option, which matches names itself).
        case none
        /// The certificate must list exactly this principal, or list none at all.
        case principal(String)
        /// A host certificate: the host name must match one of the listed principals, each a
        /// `*`/`?` glob (ssh since 8.0).
        case host(String)
    }

    /// Why ``checkAuthority(kind:name:requirePrincipal:at:)`` refuses a certificate: one
    /// case per refusal of sshkey.c `sshkey_cert_check_authority`, in its order.
    public enum AuthorityFailure: Sendable, Hashable {
        case wrongKind(wanted: Kind)
        case notYetValid
        case expired
        case noPrincipals
        case principalNotListed(String)
        case hostNotListed(String)

        /// The reason sshkey_cert_check_authority gives, word for word (what ssh-keygen and
        /// sshd print after "certificate not authorized: ").
        public var openSSHReason: String {
            switch self {
            case .wrongKind(let wanted): "Certificate invalid: not a \(wanted.label) certificate"
            case .notYetValid: "Certificate invalid: not yet valid"
            case .expired: "Certificate invalid: expired"
            case .noPrincipals: "Certificate lacks principal list"
            case .principalNotListed, .hostNotListed: "Certificate invalid: name is not a listed principal"
            }
        }
    }

    /// sshkey.c `sshkey_cert_check_authority`: whether this certificate may be used, at
    /// `time` (seconds since the epoch), as a certificate of `kind`, for `name`.
    ///
    /// - Parameter requirePrincipal: Refuse a certificate that lists no principals (sshd
    ///   for `TrustedUserCAKeys`, ssh-keygen for SSHSIG); otherwise such a certificate is
    ///   valid for every name.
    /// - Throws: `SSHKeyError` with `.notAllowed` and a sentence naming what failed.
    public func checkAuthority(
        kind wanted: Kind,
        name: RequiredName,
        requirePrincipal: Bool,
        at time: UInt64
    ) throws(SSHKeyError) {
        guard
            let failure = self.authorityFailure(kind: wanted, name: name, requirePrincipal: requirePrincipal, at: time)
        else { return }
        let why: String
        switch failure {
        case .wrongKind: why = "is a \(self.kind.label) certificate, not a \(wanted.label) certificate"
        case .notYetValid: why = "is not valid until \(Self.formatTime(self.validAfter))"
        case .expired: why = "expired at \(Self.formatTime(self.validBefore))"
        case .noPrincipals: why = "lists no principals"
        case .principalNotListed(let principal):
            why = "is not valid for \"\(principal)\": its principals are \(self.principalList)"
        case .hostNotListed(let host):
            why = "is not valid for the host \"\(host)\": its principals are \(self.principalList)"
        }
        throw SSHKeyError(.notAllowed, "the certificate \(why)")
    }

    /// The first check of ``checkAuthority(kind:name:requirePrincipal:at:)`` this
    /// certificate fails, or nil when it may be used.
    public func authorityFailure(
        kind wanted: Kind,
        name: RequiredName,
        requirePrincipal: Bool,
        at time: UInt64
    ) -> AuthorityFailure? {
        guard self.kind == wanted else { return .wrongKind(wanted: wanted) }
        if time < self.validAfter { return .notYetValid }
        if time >= self.validBefore { return .expired }
        if self.principals.isEmpty { return requirePrincipal ? .noPrincipals : nil }
        switch name {
        case .none:
            return nil
        case .principal(let principal):
            return self.principals.contains(principal) ? nil : .principalNotListed(principal)
        case .host(let host):
            let matched = self.principals.contains { HostPattern.matches(host.utf8, glob: $0.utf8) }
            return matched ? nil : .hostNotListed(host)
        }
    }

    /// sshkey.c `sshkey_cert_check_host`: a host certificate for `host` at `time`, with no
    /// critical options (ssh knows none for hosts), signed with an algorithm in
    /// `signatureAlgorithms` (ssh's `CASignatureAlgorithms`).
    public func checkHost(
        _ host: String,
        at time: UInt64,
        signatureAlgorithms: [String] = SSHCertificate.defaultCASignatureAlgorithms
    ) throws(SSHKeyError) {
        try self.checkAuthority(kind: .host, name: .host(host), requirePrincipal: false, at: time)
        if let option = self.criticalOptions.first {
            throw SSHKeyError(
                .notAllowed,
                "the host certificate has the critical option \"\(option.name)\", which ssh does not support"
            )
        }
        try self.checkSignatureAlgorithm(signatureAlgorithms)
    }

    /// sshkey.c `sshkey_check_cert_sigtype`: refuses a certificate whose CA signed it with an
    /// algorithm not in `allowed` (`CASignatureAlgorithms`; by default not `ssh-rsa`, SHA-1).
    public func checkSignatureAlgorithm(
        _ allowed: [String] = SSHCertificate.defaultCASignatureAlgorithms
    )
        throws(SSHKeyError)
    {
        guard allowed.contains(self.signature.algorithm) else {
            throw SSHKeyError(
                .notAllowed,
                "the certificate's CA signed it with \(self.signature.algorithm), which is not an allowed CA signature algorithm"
            )
        }
    }

    /// OpenSSH's default `CASignatureAlgorithms` (myproposal.h `SSH_ALLOWED_CA_SIGALGS`).
    public static let defaultCASignatureAlgorithms = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ]

    /// The principals as one comma-separated list, for messages.
    private var principalList: String { self.principals.map { "\"\($0)\"" }.joined(separator: ", ") }

    private static func formatTime(_ t: UInt64) -> String {
        t >= UInt64(Int64.max) ? "forever" : AbsoluteTime.format(Int64(t))
    }
}

extension SSHCertificate.Kind {
    /// `user` or `host`.
    public var label: String { self == .user ? "user" : "host" }
}

/// What a user certificate's critical options and extensions grant and require, as sshd
/// reads them (auth-options.c `sshauthopt_from_cert`).
public struct CertificateRestrictions: Sendable, Hashable {
    /// `force-command`: the command run for every session.
    public var forceCommand: String?
    /// `source-address`: a comma-separated list of addresses and CIDR networks the client
    /// must connect from.
    public var sourceAddress: String?
    /// `verify-required`: a security key must have verified its user (PIN or biometric).
    public var requiresUserVerification = false
    /// `no-touch-required`: a security key need not have seen a touch.
    public var waivesUserPresence = false
    /// `permit-X11-forwarding`.
    public var permitsX11Forwarding = false
    /// `permit-agent-forwarding`.
    public var permitsAgentForwarding = false
    /// `permit-port-forwarding`.
    public var permitsPortForwarding = false
    /// `permit-pty`.
    public var permitsPTY = false
    /// `permit-user-rc`.
    public var permitsUserRC = false
    /// Extensions sshd does not know; it logs and ignores them.
    public var unknownExtensions: [String] = []

    /// Reads a certificate's options as sshd does.
    ///
    /// - Throws: `SSHKeyError` with `.notAllowed` for an unknown critical option, an option
    ///   given twice, an option whose data is malformed or has bytes left over, or a
    ///   `source-address` list that is not addresses and networks.
    public init(_ certificate: SSHCertificate) throws(SSHKeyError) {
        func refuse(_ why: String) -> SSHKeyError { SSHKeyError(.notAllowed, "the certificate \(why)") }
        for field in certificate.extensions {
            switch field.name {
            case "no-touch-required": self.waivesUserPresence = true
            case "permit-X11-forwarding": self.permitsX11Forwarding = true
            case "permit-agent-forwarding": self.permitsAgentForwarding = true
            case "permit-port-forwarding": self.permitsPortForwarding = true
            case "permit-pty": self.permitsPTY = true
            case "permit-user-rc": self.permitsUserRC = true
            default:
                self.unknownExtensions.append(field.name)
                continue
            }
            guard field.data.isEmpty else { throw refuse("has data after the extension \"\(field.name)\"") }
        }
        for field in certificate.criticalOptions {
            switch field.name {
            case "verify-required":
                guard field.data.isEmpty else { throw refuse("has data after the option \"verify-required\"") }
                self.requiresUserVerification = true
            case "force-command":
                guard self.forceCommand == nil else { throw refuse("has more than one force-command option") }
                self.forceCommand = try Self.stringValue(of: field)
            case "source-address":
                guard self.sourceAddress == nil else { throw refuse("has more than one source-address option") }
                let list = try Self.stringValue(of: field)
                guard SourcePattern.matchCIDRList(nil, list: list) != -1 else {
                    throw refuse("has an invalid source-address list \"\(list)\"")
                }
                self.sourceAddress = list
            default:
                throw refuse("has the critical option \"\(field.name)\", which is not supported")
            }
        }
    }

    /// addrmatch.c `addr_match_cidr_list`: whether `address` is in the `source-address` list;
    /// true when there is no such option.
    public func permitsSource(_ address: String?) -> Bool {
        guard let list = self.sourceAddress else { return true }
        guard let address else { return false }
        return SourcePattern.matchCIDRList(address, list: list) == 1
    }

    /// An option's data: one string (sshbuf_get_cstring), nothing after it.
    private static func stringValue(of field: SSHCertificate.Field) throws(SSHKeyError) -> String {
        var r = SSHWireReader(field.data[...])
        guard let value = try? r.readString(), r.isAtEnd, !value.contains(0) else {
            throw SSHKeyError(.notAllowed, "the certificate's option \"\(field.name)\" is malformed")
        }
        return String(decoding: value, as: UTF8.self)
    }
}

extension SourcePattern {
    /// addrmatch.c `addr_match_cidr_list`: 1 when `address` is in one of the list's
    /// addresses or networks, 0 when not (or when `address` is not an address), -1 when the
    /// list is malformed (an empty entry, an entry too long or with characters other than
    /// hex digits, `.`, `:` and `/`, or not a network). No globs, no negation. With a nil
    /// address only the list's syntax is checked.
    static func matchCIDRList(_ address: String?, list: String) -> Int {
        var parsedAddress: NetworkAddress? = nil
        if let address {
            guard let a = NetworkAddress(address) else { return 0 }
            parsedAddress = a
        }
        let allowed = Set("0123456789abcdefABCDEF.:/".utf8)
        var result = 0
        for entry in list.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            // INET6_ADDRSTRLEN (46) and three bytes of mask length.
            guard !entry.isEmpty, entry.count <= 49, entry.allSatisfy({ allowed.contains($0) }) else { return -1 }
            switch NetworkAddress.parseNetwork(Substring(entry)) {
            case .inconsistent, .notANetwork:
                return -1
            case .network(let network, let length):
                if let parsedAddress, parsedAddress.isIn(network, prefixLength: length) { result = 1 }
            }
        }
        return result
    }
}
