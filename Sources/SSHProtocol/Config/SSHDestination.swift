/// Where to connect, as given on the command line: `[user@]host` or
/// `ssh://[user@]host[:port]` (RFC 3986 authority syntax, as ssh(1) accepts it).
///
/// IPv6 addresses are written in brackets (`user@[::1]`, `ssh://[::1]:2222`, and
/// `[::1]:2222` as known_hosts writes them); the brackets are not part of ``host``. A
/// link-local address keeps its zone (`fe80::1%eth0`), which getaddrinfo(3) resolves to the
/// interface's scope.
public struct SSHDestination: Sendable, Hashable, CustomStringConvertible {
    /// The user name, if the destination names one.
    public var user: String?
    /// The host name or address (the `Host` pattern ssh_config matches against).
    public var host: String
    /// The port, if the destination names one (only the `ssh://` form can).
    public var port: Int?

    public init(user: String? = nil, host: String, port: Int? = nil) {
        self.user = user
        self.host = host
        self.port = port
    }

    /// Parses a destination.
    ///
    /// - Throws: `.invalidConfiguration` naming the destination and what is wrong with it.
    public init(parsing text: String) throws(SSHProtocolError) {
        func bad(_ why: String) -> SSHProtocolError {
            SSHProtocolError(.invalidConfiguration, "the destination '\(text)' is invalid: \(why)")
        }
        if text.isEmpty { throw bad("it is empty") }
        if text.hasPrefix("-") { throw bad("it starts with '-'") }
        if text.lowercased().hasPrefix("ssh://") {
            // misc.c parse_uri: ssh://[user[;params]@]host[:port][/]
            var rest = Substring(text.dropFirst(6))
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            if rest.contains("/") { throw bad("an ssh:// destination takes no path") }
            var user: String? = nil
            if let at = rest.lastIndex(of: "@") {
                var u = rest[..<at]
                // Connection parameters after ';' are reserved by the URI draft and ignored by ssh.
                if let semi = u.firstIndex(of: ";") { u = u[..<semi] }
                guard let decoded = Self.percentDecoded(u), !decoded.isEmpty else {
                    throw bad("the user name is invalid")
                }
                user = decoded
                rest = rest[rest.index(after: at)...]
            }
            var host: Substring
            var portText: Substring? = nil
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw bad("the '[' has no matching ']'") }
                host = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw bad("unexpected text after ']'") }
                    portText = after.dropFirst()
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = rest[..<colon]
                portText = rest[rest.index(after: colon)...]
            } else {
                host = rest
            }
            guard !host.isEmpty else { throw bad("the host is missing") }
            var port: Int? = nil
            if let portText {
                guard let p = Int(portText), (1...65535).contains(p) else {
                    throw bad("the port '\(portText)' is not a number from 1 to 65535")
                }
                port = p
            }
            self.init(user: user, host: String(host), port: port)
            return
        }
        // ssh.c: the user is everything before the last '@'.
        var user: String? = nil
        var host = Substring(text)
        if let at = text.lastIndex(of: "@") {
            let u = text[..<at]
            guard !u.isEmpty else { throw bad("the user name is empty") }
            user = String(u)
            host = text[text.index(after: at)...]
        }
        var port: Int? = nil
        if host.hasPrefix("["), let close = host.firstIndex(of: "]"), host.count > 2 {
            // `[::1]`, and `[::1]:2222` as known_hosts writes a host with its port (ssh itself
            // takes the port only from ssh:// or -p).
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw bad("after ']' only ':PORT' (1 to 65535) may follow")
                }
                port = p
            }
            host = host[host.index(after: host.startIndex)..<close]
        }
        guard !host.isEmpty else { throw bad("the host is missing") }
        if host.contains(where: { $0 == " " || $0 == "\t" || $0 == "/" || $0 == "\n" }) {
            throw bad("the host contains a blank or '/'")
        }
        self.init(user: user, host: String(host), port: port)
    }

    /// `user@host`, `host`, with brackets around an IPv6 address and `:port` only when one was given
    /// (then in the ssh:// form).
    public var description: String {
        let h = self.host.contains(":") ? "[\(self.host)]" : self.host
        let u = self.user.map { $0 + "@" } ?? ""
        if let port = self.port { return "ssh://\(u)\(h):\(port)" }
        return u + h
    }

    private static func percentDecoded(_ s: Substring) -> String? {
        var out = [UInt8]()
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%") {
                guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
                else {
                    return nil
                }
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
