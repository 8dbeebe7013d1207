/// ssh-keygen's `-O` certificate options (ssh-keygen.c `add_cert_option`,
/// `finalise_cert_exts`, `prepare_options_buf`): the critical options and extensions a
/// certificate gets, in the order ssh-keygen writes them.
///
/// A user certificate starts with the permit-X11-forwarding, permit-agent-forwarding,
/// permit-port-forwarding, permit-pty and permit-user-rc extensions; a host certificate
/// with none. Options are matched case-insensitively, as ssh-keygen matches them.
public struct CertificateOptions: Sendable {
    /// The standard flags ssh-keygen keeps as bits, each with its extension or critical option name.
    private struct Flag: Sendable {
        var name: String
        var critical: Bool
        var on: String
        var off: String
    }

    private static let flags: [Flag] = [
        Flag(name: "permit-X11-forwarding", critical: false, on: "permit-x11-forwarding", off: "no-x11-forwarding"),
        Flag(
            name: "permit-agent-forwarding",
            critical: false,
            on: "permit-agent-forwarding",
            off: "no-agent-forwarding"
        ),
        Flag(name: "permit-port-forwarding", critical: false, on: "permit-port-forwarding", off: "no-port-forwarding"),
        Flag(name: "permit-pty", critical: false, on: "permit-pty", off: "no-pty"),
        Flag(name: "permit-user-rc", critical: false, on: "permit-user-rc", off: "no-user-rc"),
        Flag(name: "no-touch-required", critical: false, on: "no-touch-required", off: "touch-required"),
        Flag(name: "verify-required", critical: true, on: "verify-required", off: "no-verify-required"),
    ]

    /// The names of the flags that are set, as ssh-keygen's `certflags_flags`.
    private var set: Set<String>
    private var forceCommand: String?
    private var sourceAddress: String?
    /// `critical:` and `extension:` options, in the order given.
    private var custom: [(name: String, value: String?, critical: Bool)] = []

    /// The defaults for a certificate of `kind`.
    public init(kind: SSHCertificate.Kind) {
        self.set = kind == .user ? Set(Self.flags.prefix(5).map(\.name)) : []
    }

    /// Applies one `-O` option.
    ///
    /// - Throws: `SSHKeyError` (`.invalidParameter`) for an unknown option, an empty or
    ///   repeated force-command or source-address, or a source-address list that is not a
    ///   list of addresses and CIDR networks.
    public mutating func apply(_ option: String) throws(SSHKeyError) {
        let lower = String(decoding: option.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        if lower == "clear" {
            self.set = []
            return
        }
        for flag in Self.flags {
            if lower == flag.on {
                self.set.insert(flag.name)
                return
            }
            if lower == flag.off {
                self.set.remove(flag.name)
                return
            }
        }
        if lower.hasPrefix("force-command=") {
            let value = String(option.dropFirst(14))
            guard !value.isEmpty else { throw SSHKeyError(.invalidParameter, "the force-command option is empty") }
            guard self.forceCommand == nil else {
                throw SSHKeyError(.invalidParameter, "force-command is given more than once")
            }
            self.forceCommand = value
        } else if lower.hasPrefix("source-address=") {
            let value = String(option.dropFirst(15))
            guard !value.isEmpty else { throw SSHKeyError(.invalidParameter, "the source-address option is empty") }
            guard self.sourceAddress == nil else {
                throw SSHKeyError(.invalidParameter, "source-address is given more than once")
            }
            guard SourcePattern.matchCIDRList(nil, list: value) == 0 else {
                throw SSHKeyError(
                    .invalidParameter,
                    "the source-address list \"\(value)\" is invalid: give addresses and CIDR networks separated by commas"
                )
            }
            self.sourceAddress = value
        } else if lower.hasPrefix("extension:") || lower.hasPrefix("critical:") {
            let critical = lower.hasPrefix("critical:")
            let rest = option.drop { $0 != ":" }.dropFirst()
            if let equals = rest.firstIndex(of: "=") {
                self.custom.append((String(rest[..<equals]), String(rest[rest.index(after: equals)...]), critical))
            } else {
                self.custom.append((String(rest), nil, critical))
            }
        } else {
            throw SSHKeyError(.invalidParameter, "unsupported certificate option \"\(option)\"")
        }
    }

    /// The critical options, in the order ssh-keygen encodes them.
    public var criticalOptions: [SSHCertificate.Field] { self.fields(critical: true) }

    /// The extensions, in the order ssh-keygen encodes them.
    public var extensions: [SSHCertificate.Field] { self.fields(critical: false) }

    /// finalise_cert_exts then prepare_options_buf: the standard options join the custom
    /// ones, all sorted by name (byte order), a flag before a value of the same name, then
    /// by value; a flag's data is empty, a value's is the value as a string.
    private func fields(critical: Bool) -> [SSHCertificate.Field] {
        var all = self.custom
        if let forceCommand { all.append(("force-command", forceCommand, true)) }
        if let sourceAddress { all.append(("source-address", sourceAddress, true)) }
        for flag in Self.flags where self.set.contains(flag.name) { all.append((flag.name, nil, flag.critical)) }
        let chosen = all.filter { $0.critical == critical }.sorted { a, b in
            let (an, bn) = (Array(a.name.utf8), Array(b.name.utf8))
            if an != bn { return an.lexicographicallyPrecedes(bn) }
            switch (a.value, b.value) {
            case (nil, nil), (_?, nil): return false
            case (nil, _?): return true
            case (let av?, let bv?): return Array(av.utf8).lexicographicallyPrecedes(Array(bv.utf8))
            }
        }
        return chosen.map { entry in
            guard let value = entry.value else { return .flag(entry.name) }
            return .string(entry.name, value)
        }
    }
}

extension SSHCertificate.Field {
    /// An option without data (`permit-pty`, `verify-required`).
    public static func flag(_ name: String) -> SSHCertificate.Field {
        SSHCertificate.Field(name: name, data: [])
    }

    /// An option whose data is a string (`force-command`, `source-address`).
    public static func string(_ name: String, _ value: String) -> SSHCertificate.Field {
        var w = SSHWireWriter()
        w.writeString(value)
        return SSHCertificate.Field(name: name, data: w.bytes)
    }
}
