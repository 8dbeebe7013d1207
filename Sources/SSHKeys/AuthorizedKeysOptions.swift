/// The options before a key in an authorized_keys line, as OpenSSH 9.2's sshd reads them.
///
/// sshd(8) "AUTHORIZED_KEYS FILE FORMAT"; auth-options.c `sshauthopt_parse`. Options are
/// comma-separated and end at the first blank outside double quotes. Names are
/// case-insensitive. Flags: `restrict`, `cert-authority`, and, each also with a `no-`
/// prefix, `agent-forwarding`, `port-forwarding`, `pty`, `user-rc`, `X11-forwarding`,
/// `touch-required`, `verify-required`. Valued options, `name="value"`: `command`,
/// `environment`, `expiry-time`, `from`, `permitlisten`, `permitopen`, `principals`,
/// `tunnel`. Inside the quotes `\"` stands for a quote; any other backslash is kept as it is.
///
/// A line whose options do not parse is ignored by sshd; so is it by
/// ``AuthorizedKeysFile``, which reports it in ``AuthorizedKeysFile/warnings``.
public struct AuthorizedKeyOptions: Sendable, Hashable {
    /// A `tunnel="…"` device.
    public enum TunnelDevice: Sendable, Hashable {
        /// `tunnel="any"`.
        case any
        /// `tunnel="N"`.
        case number(Int)
    }

    /// `restrict`: every permission below starts off; later options may grant some back.
    public var isRestricted = false
    /// `cert-authority`: the key is a CA that signs user certificates, not a login key.
    public var isCertificateAuthority = false
    /// `port-forwarding` (default) or `no-port-forwarding`.
    public var permitsPortForwarding = true
    /// `agent-forwarding` (default) or `no-agent-forwarding`.
    public var permitsAgentForwarding = true
    /// `X11-forwarding` (default) or `no-X11-forwarding`.
    public var permitsX11Forwarding = true
    /// `pty` (default) or `no-pty`.
    public var permitsPTY = true
    /// `user-rc` (default) or `no-user-rc`.
    public var permitsUserRC = true
    /// `touch-required` (default) or `no-touch-required` (FIDO keys only).
    public var requiresUserPresence = true
    /// `verify-required` or `no-verify-required` (default; FIDO keys only).
    public var requiresUserVerification = false
    /// `command="…"`: the command forced for every session.
    public var command: String?
    /// `principals="…"`: principals accepted in certificates (only with `cert-authority`).
    public var principals: String?
    /// `from="…"`: the pattern list the client's address or name must match.
    public var from: String?
    /// `expiry-time="…"`: seconds since the epoch after which the entry no longer authorizes
    /// (the earliest, when given more than once).
    public var expiryTime: Int64?
    /// `environment="NAME=value"` strings in order; the first of a name wins.
    public var environment: [String] = []
    /// `permitopen="host:port"` entries.
    public var permitOpen: [String] = []
    /// `permitlisten="[host:]port"` entries (a bare port becomes `*:port`, as sshd records it).
    public var permitListen: [String] = []
    /// `tunnel="…"`.
    public var tunnel: TunnelDevice?

    /// The options of a line without any: everything permitted, nothing forced.
    public init() {}

    /// Parses an options string as sshd does, e.g. `restrict,pty,from="10.0.0.0/8"`.
    ///
    /// The empty string gives the defaults. Text after the options (a blank outside
    /// quotes) is refused here, since sshd would read it as the key.
    ///
    /// - Throws: `SSHKeyError` with code `.invalidFormat` and sshd's reason
    ///   ("unknown key option", "missing end quote", "invalid expires time", …).
    public init(parsing text: some StringProtocol) throws(SSHKeyError) {
        let bytes = Array(text.utf8)
        if bytes.contains(0) { throw SSHKeyError(.invalidFormat, "the options contain a NUL byte") }
        if let quoteError = AuthorizedKeysLineParser.endOfOptions(bytes, from: 0).error {
            throw SSHKeyError(.invalidFormat, quoteError)
        }
        var end = 0
        switch Self.parse(bytes, from: 0, end: &end) {
        case .success(let options):
            guard end == bytes.count else {
                throw SSHKeyError(
                    .invalidFormat,
                    "a blank ends the options; the text after it would be read as the key"
                )
            }
            self = options
        case .failure(let reason):
            throw SSHKeyError(.invalidFormat, reason.text)
        }
    }

    /// Why sshauthopt_parse refused the options: its `errstr`, word for word.
    struct Failure: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    // sshd's limits (auth-options.h, misc.h).
    static let maximumEnvironment = 1024
    static let maximumPermits = 4096
    static let tunnelAny = 0x7fff_ffff
    static let tunnelMaximum = tunnelAny - 2

    /// auth-options.c `sshauthopt_parse`: parses options starting at `start` and stops at
    /// the end of the bytes (a C string's NUL), a space or a tab, which it returns in `end`.
    static func parse(_ s: [UInt8], from start: Int, end: inout Int) -> Result<AuthorizedKeyOptions, Failure> {
        var o = AuthorizedKeyOptions()
        var i = start
        func at(_ k: Int) -> UInt8 { k < s.count ? s[k] : 0 }
        func isEnd(_ c: UInt8) -> Bool { c == 0 || c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }

        /// misc.c `opt_flag`: a case-insensitive *prefix* match, so `ptyx` matches `pty`
        /// and then fails as an unknown option at the `x`. Returns nil, or whether not negated.
        func flag(_ name: String, negatable: Bool) -> Bool? {
            var k = i
            var negated = false
            if negatable && Self.hasPrefix(s, at: k, "no-") {
                k += 3
                negated = true
            }
            guard Self.hasPrefix(s, at: k, name) else { return nil }
            i = k + name.utf8.count
            return !negated
        }
        /// misc.c `opt_match`: `name=` case-insensitively.
        func valued(_ name: String) -> Bool {
            guard Self.hasPrefix(s, at: i, name), at(i + name.utf8.count) == UInt8(ascii: "=") else { return false }
            i += name.utf8.count + 1
            return true
        }
        /// misc.c `opt_dequote`: `"…"` where `\"` is a quote.
        func dequote() throws(Failure) -> String {
            guard at(i) == UInt8(ascii: "\"") else { throw Failure("missing start quote") }
            i += 1
            var value = [UInt8]()
            while at(i) != 0 && at(i) != UInt8(ascii: "\"") {
                if at(i) == UInt8(ascii: "\\") && at(i + 1) == UInt8(ascii: "\"") { i += 1 }
                value.append(s[i])
                i += 1
            }
            guard at(i) != 0 else { throw Failure("missing end quote") }
            i += 1
            return String(decoding: value, as: UTF8.self)
        }

        do throws(Failure) {
            while !isEnd(at(i)) {
                if flag("restrict", negatable: false) != nil {
                    o.isRestricted = true
                    o.permitsPortForwarding = false
                    o.permitsAgentForwarding = false
                    o.permitsX11Forwarding = false
                    o.permitsPTY = false
                    o.permitsUserRC = false
                } else if flag("cert-authority", negatable: false) != nil {
                    o.isCertificateAuthority = true
                } else if let on = flag("port-forwarding", negatable: true) {
                    o.permitsPortForwarding = on
                } else if let on = flag("agent-forwarding", negatable: true) {
                    o.permitsAgentForwarding = on
                } else if let on = flag("x11-forwarding", negatable: true) {
                    o.permitsX11Forwarding = on
                } else if let on = flag("touch-required", negatable: true) {
                    o.requiresUserPresence = on
                } else if let on = flag("verify-required", negatable: true) {
                    o.requiresUserVerification = on
                } else if let on = flag("pty", negatable: true) {
                    o.permitsPTY = on
                } else if let on = flag("user-rc", negatable: true) {
                    o.permitsUserRC = on
                } else if valued("command") {
                    if o.command != nil { throw Failure("multiple \"command\" clauses") }
                    o.command = try dequote()
                } else if valued("principals") {
                    if o.principals != nil { throw Failure("multiple \"principals\" clauses") }
                    o.principals = try dequote()
                } else if valued("from") {
                    if o.from != nil { throw Failure("multiple \"from\" clauses") }
                    o.from = try dequote()
                } else if valued("expiry-time") {
                    let text = try dequote()
                    guard let t = AbsoluteTime.parse(text), t != 0 else { throw Failure("invalid expires time") }
                    if o.expiryTime == nil || t < o.expiryTime! { o.expiryTime = t }
                } else if valued("environment") {
                    if o.environment.count > Self.maximumEnvironment { throw Failure("too many environment strings") }
                    let text = try dequote()
                    guard let eq = text.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                        throw Failure("invalid environment string")
                    }
                    let name = text.utf8[..<eq]
                    // misc.c valid_env_name: one or more of [A-Za-z0-9_] (isalnum in the C locale).
                    guard !name.isEmpty, name.allSatisfy({ Self.isAlphanumeric($0) || $0 == UInt8(ascii: "_") })
                    else { throw Failure("invalid environment string") }
                    let prefix = Array(name) + [UInt8(ascii: "=")]
                    if !o.environment.contains(where: { Array($0.utf8).starts(with: prefix) }) {
                        o.environment.append(text)
                    }
                } else if valued("permitopen") {
                    o.permitOpen.append(try Self.permit(try dequote(), count: o.permitOpen.count, barePort: false))
                } else if valued("permitlisten") {
                    o.permitListen.append(try Self.permit(try dequote(), count: o.permitListen.count, barePort: true))
                } else if valued("tunnel") {
                    let text = try dequote()
                    // misc.c a2tun: "any" (any case) or 0…SSH_TUNID_MAX.
                    if text.lowercased() == "any" {
                        o.tunnel = .any
                    } else if let n = CNumber.strtonum(text, max: Int64(Self.tunnelMaximum)) {
                        o.tunnel = .number(Int(n))
                    } else {
                        throw Failure("invalid tun device")
                    }
                }
                // Skip the comma; anything else is an unknown option. An empty option
                // (a leading or doubled comma) is skipped too, as sshd does.
                if isEnd(at(i)) { break }
                guard at(i) == UInt8(ascii: ",") else { throw Failure("unknown key option") }
                i += 1
                if at(i) == 0 { throw Failure("unexpected end-of-options") }
            }
        } catch {
            return .failure(error)
        }
        end = i
        return .success(o)
    }

    /// auth-options.c `handle_permit`: `host:port` (or, for permitlisten, a bare port),
    /// where the port is `*` or 1…65535 or a service name.
    private static func permit(_ text: String, count: Int, barePort: Bool) throws(Failure) -> String {
        if count > maximumPermits { throw Failure("too many permission directives") }
        var value = text
        if barePort && !text.contains(":") { value = "*:" + text }
        let bytes = Array(value.utf8)
        // misc.c hpdelim2: `[host]` up to `]`, else up to the first `:` or `/`.
        var k = 0
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else {
                throw Failure("invalid permission hostname")
            }
            k = close + 1
        } else {
            k = bytes.firstIndex(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }) ?? bytes.count
        }
        let hostLength = k
        var port: ArraySlice<UInt8>? = nil
        if k < bytes.count {
            guard bytes[k] == UInt8(ascii: ":") || bytes[k] == UInt8(ascii: "/") else {
                throw Failure("invalid permission hostname")
            }
            port = bytes[(k + 1)...]
        }
        // NI_MAXHOST is 1025.
        if hostLength >= 1025 { throw Failure("invalid permission hostname") }
        guard let port else { throw Failure("invalid permission port") }
        let portText = String(decoding: port, as: UTF8.self)
        if portText != "*" && (CNumber.tcpPort(portText) ?? 0) <= 0 { throw Failure("invalid permission port") }
        return value
    }

    /// Whether `name` (ASCII) appears at `k`, ignoring ASCII case (strncasecmp).
    static func hasPrefix(_ s: [UInt8], at k: Int, _ name: String) -> Bool {
        let n = Array(name.utf8)
        guard k + n.count <= s.count else { return false }
        for j in 0..<n.count where HostPattern.asciiLowercased(s[k + j]) != HostPattern.asciiLowercased(n[j]) {
            return false
        }
        return true
    }

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
            || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }
}
