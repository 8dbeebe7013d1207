/// A ProxyJump value (`-J`, ssh_config's `ProxyJump`): jump hosts, each
/// `[user@]host[:port]` or `ssh://[user@]host[:port]`, separated by commas, parsed as
/// readconf.c's `parse_jump` does.
///
/// As in ssh.c, the last hop is the one that reaches the destination; it is reached through
/// the hops before it, given to it as its own `-J` (``leadingText``), and the first hop is
/// resolved with its own ssh_config (its `ProxyJump` too).
public struct SSHProxyJump: Sendable, Hashable, CustomStringConvertible {
    /// The jump hosts, first contacted first.
    public var hops: [SSHDestination]
    /// The hops before the last as written (ssh's `jump_extra`), nil for a single hop.
    public var leadingText: String?

    /// Parses a ProxyJump value other than `none`.
    ///
    /// - Parameter strict: check host and user names as ssh does for `-J` and `-o`
    ///   (readconf.c `ssh_valid_hostname`, `ssh_valid_ruser`), not for files.
    /// - Throws: `.invalidConfiguration` naming the hop that is not valid.
    public init(parsing value: String, strict: Bool) throws(SSHProtocolError) {
        // parse_jump: a '#' ends the value, trailing blanks go.
        var text = Substring(value)
        if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
        while let last = text.last, last == " " || last == "\t" || last == "\r" || last == "\n" {
            text = text.dropLast()
        }
        var hops: [SSHDestination] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let hop = try Self.parseHop(String(part))
            if strict {
                guard Self.validHostName(hop.host) else {
                    throw SSHProtocolError(.invalidConfiguration, "the jump host name '\(hop.host)' is not valid")
                }
                if let user = hop.user, !Self.validUser(user) {
                    throw SSHProtocolError(.invalidConfiguration, "the jump host user name '\(user)' is not valid")
                }
            }
            hops.append(hop)
        }
        self.hops = hops
        self.leadingText = text.lastIndex(of: ",").map { String(text[..<$0]) }
    }

    /// The value as `ssh -G` prints it on its `proxyjump` line (readconf.c `dump_client_config`):
    /// the leading hops as written, then the last as `[user@]host[:port]`, the host in
    /// brackets when it has a colon or is all digits and dots.
    public var description: String {
        guard let last = self.hops.last else { return "" }
        let numeric = last.host.contains(":") || last.host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
        var out = self.leadingText.map { $0 + "," } ?? ""
        out += last.user.map { $0 + "@" } ?? ""
        out += numeric ? "[\(last.host)]" : last.host
        if let port = last.port { out += ":\(port)" }
        return out
    }

    /// One hop: misc.c `parse_ssh_uri`, else `parse_user_host_port`.
    static func parseHop(_ text: String) throws(SSHProtocolError) -> SSHDestination {
        func bad() -> SSHProtocolError {
            SSHProtocolError(
                .invalidConfiguration,
                "the jump host '\(text)' is not [user@]host[:port] or ssh://[user@]host[:port]"
            )
        }
        if text.hasPrefix("ssh://") {
            var hop: SSHDestination
            do {
                hop = try SSHDestination(parsing: text)
            } catch {
                throw bad()
            }
            // misc.c parse_uri wants a domain name (valid_domain), so no address in brackets.
            guard Self.validDomain(hop.host) else { throw bad() }
            if hop.host.hasSuffix(".") { hop.host.removeLast() }
            return hop
        }
        var rest = Substring(text)
        var user: String? = nil
        if let at = rest.lastIndex(of: "@") {
            guard at > rest.startIndex else { throw bad() }
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        // misc.c hpdelim: a bracketed host, or up to the first ':' or '/'.
        var host: Substring
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad() }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if let first = after.first {
                guard first == ":" || first == "/" else { throw bad() }
                portText = after.dropFirst()
            }
        } else if let delimiter = rest.firstIndex(where: { $0 == ":" || $0 == "/" }) {
            host = rest[..<delimiter]
            portText = rest[rest.index(after: delimiter)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw bad() }
        var port: Int? = nil
        if let portText, !portText.isEmpty {
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portText), (1...65535).contains(p)
            else { throw bad() }
            port = p
        }
        return SSHDestination(user: user, host: String(host), port: port)
    }

    /// misc.c `valid_domain`: letters, digits, `-`, `_` and single dots, starting with a
    /// letter, digit or `_`.
    static func validDomain(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first,
            ("a"..."z").contains(first) || ("A"..."Z").contains(first)
                || ("0"..."9").contains(first) || first == "_"
        else { return false }
        var last: Unicode.Scalar = "\0"
        for c in name.unicodeScalars {
            if last == "." && c == "." { return false }
            let alnum = ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
            if !alnum && c != "." && c != "-" && c != "_" { return false }
            last = c
        }
        return true
    }

    /// readconf.c `ssh_valid_hostname`.
    static func validHostName(_ name: String) -> Bool {
        if name.hasPrefix("-") { return false }
        return !name.unicodeScalars.contains { c in
            "'`\"$\\;&<>|(){},".unicodeScalars.contains(c) || c == " " || c == "\t" || c == "\n" || c == "\r"
                || c.value < 0x20 || c.value == 0x7f
        }
    }

    /// readconf.c `ssh_valid_ruser`.
    static func validUser(_ name: String) -> Bool {
        if name.hasPrefix("-") { return false }
        let scalars = Array(name.unicodeScalars)
        for (i, c) in scalars.enumerated() {
            if c.value < 0x20 || c.value == 0x7f { return false }
            if "'`\";&<>|(){}".unicodeScalars.contains(c) { return false }
            if (c == " " || c == "\t") && i + 1 < scalars.count && scalars[i + 1] == "-" { return false }
            if c == "\\" && i + 1 == scalars.count { return false }
        }
        return true
    }
}
