import KeyVerify
import NIOSSL
import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a ``PostgresChallengeStore`` connects, read from a connection URL as libpq reads one
/// (PostgreSQL's documentation, "Connection URIs"), limited to what a store needs:
///
///     postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-full]
///     postgres:///database?host=/path/to/socketdir[&port=5432][&user=name]
///
/// `postgresql://` is the same. Percent-encoded characters are decoded in the user name,
/// password, host and database. A host that is a directory (it starts with `/`, given in the
/// query or percent-encoded) names the directory of a Unix-domain socket, `.s.PGSQL.PORT`
/// inside it. Without a user, the name of the user running the process, as libpq does.
/// `sslmode` is libpq's: `prefer` (the default) and `require` do not check the server's
/// certificate, `verify-full` does; a socket never uses TLS.
struct PostgresLocation: Sendable {
    enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case socket(directory: String, port: Int)
    }

    enum SSLMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    let endpoint: Endpoint
    let user: String
    let password: String?
    let database: String
    let sslMode: SSLMode

    /// How messages name the store: `HOST:PORT/DATABASE` or `SOCKETPATH/DATABASE`, never the
    /// user or password.
    var place: String {
        switch self.endpoint {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "\(shown):\(port)/\(self.database)"
        case .socket(let directory, let port):
            return "\(directory)/.s.PGSQL.\(port) (database \(self.database))"
        }
    }

    /// Parses `url`.
    ///
    /// - Throws: ``KeyVerifyError/Code/invalidParameter`` with one sentence that quotes no
    ///   part of the URL that could hold the password.
    init(url: String) throws(KeyVerifyError) {
        func invalid(_ why: String) -> KeyVerifyError {
            KeyVerifyError(.invalidParameter, "the PostgreSQL URL is not usable: \(why)")
        }
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
            throw invalid("it must start with postgres:// or postgresql://")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if rest.contains("#") { throw invalid("it must not have a fragment (#)") }
        let authority: Substring
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = ""
        }

        var user: String?
        var password: String?
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                guard let decoded = Self.percentDecoded(userInfo[..<colon]) else {
                    throw invalid("its user name has a bad percent escape")
                }
                user = decoded
                guard let secret = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                    throw invalid("its password has a bad percent escape")
                }
                password = secret
            } else {
                guard let decoded = Self.percentDecoded(userInfo) else {
                    throw invalid("its user name has a bad percent escape")
                }
                user = decoded
            }
        }

        var host: String?
        var port: Int?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("its IPv6 address lacks a ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("its host is followed by something other than :PORT") }
                port = try Self.port(after.dropFirst(), invalid)
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try Self.port(hostPort[hostPort.index(after: colon)...], invalid)
        } else if !hostPort.isEmpty {
            host = String(hostPort)
        }
        if let raw = host {
            guard let decoded = Self.percentDecoded(Substring(raw)) else {
                throw invalid("its host has a bad percent escape")
            }
            host = decoded.isEmpty ? nil : decoded
        }

        var sslMode = SSLMode.prefer
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard parts.count == 2, let value = Self.percentDecoded(parts[1]) else {
                throw invalid("its query parameter \(Self.printable(name)) has no value or a bad percent escape")
            }
            switch name {
            case "host": host = value
            case "port": port = try Self.port(Substring(value), invalid)
            case "user": user = value
            case "password": password = value
            case "dbname": break  // taken below, after the path
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw invalid("sslmode must be disable, prefer, require or verify-full")
                }
                sslMode = mode
            default:
                throw invalid(
                    "the query parameter \(Self.printable(name)) is not one of host, port, user, password, dbname, sslmode"
                )
            }
        }

        var database = Self.percentDecoded(path)
        if let dbname = query.split(separator: "&").first(where: { $0.hasPrefix("dbname=") }) {
            database = Self.percentDecoded(dbname.dropFirst("dbname=".count))
        }
        guard let database, !database.isEmpty else {
            throw invalid("it names no database (postgres://host/DATABASE)")
        }
        guard !database.contains("/") else { throw invalid("its database name has a /") }
        guard let host else {
            throw invalid("it names no host (postgres://host/database, or ?host=/socket/directory)")
        }
        let resolvedPort = port ?? 5432
        if host.hasPrefix("/") {
            self.endpoint = .socket(directory: host, port: resolvedPort)
        } else {
            guard !host.contains("/") && !host.contains(" ") else { throw invalid("its host is not a name or address") }
            self.endpoint = .tcp(host: host, port: resolvedPort)
        }
        guard let user = user ?? Self.processUserName(), !user.isEmpty else {
            throw invalid("it names no user, and the user running keysmith has no name")
        }
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    /// A port number from 1 to 65535.
    private static func port(
        _ text: Substring,
        _ invalid: (String) -> KeyVerifyError
    ) throws(KeyVerifyError) -> Int {
        guard let port = Int(text), (1...65535).contains(port), text.allSatisfy(\.isASCII) else {
            throw invalid("its port must be a number from 1 to 65535")
        }
        return port
    }

    /// RFC 3986 §2.1 percent-decoding; nil for a bad escape or bytes that are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A query parameter's name as a message may quote it: at most 32 printable characters.
    private static func printable(_ name: String) -> String {
        let kept = name.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }.prefix(32)
        return String(String.UnicodeScalarView(kept))
    }

    /// The name of the user running the process, as libpq's default user.
    private static func processUserName() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    /// postgres-nio's configuration for this location.
    func clientConfiguration() -> PostgresClient.Configuration {
        switch self.endpoint {
        case .socket(let directory, let port):
            return PostgresClient.Configuration(
                unixSocketPath: "\(directory)/.s.PGSQL.\(port)",
                username: self.user,
                password: self.password,
                database: self.database
            )
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS
            switch self.sslMode {
            case .disable:
                tls = .disable
            case .prefer, .require:
                // libpq's prefer and require encrypt without checking the certificate.
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                tls = self.sslMode == .prefer ? .prefer(configuration) : .require(configuration)
            case .verifyFull:
                tls = .require(.makeClientConfiguration())
            }
            return PostgresClient.Configuration(
                host: host,
                port: port,
                username: self.user,
                password: self.password,
                database: self.database,
                tls: tls
            )
        }
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
