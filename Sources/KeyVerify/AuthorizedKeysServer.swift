public import Logging
public import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An SSH server that proves who holds a key: it authenticates public keys against an
/// authorized_keys file, as sshd would, and answers an exec or shell request with
///
/// ```
/// authenticated SHA256:<fingerprint> <comment>
/// ```
///
/// and exit status 0. It runs no command and gives no shell. Only public-key
/// authentication is offered (RFC 4252 §7); password and keyboard-interactive are refused.
///
/// ```swift
/// let hostKey = try SSHPrivateKey(fileContents: hostKeyBytes)
/// let server = try AuthorizedKeysServer(
///     configuration: .init(port: 2222, hostKeys: [hostKey], authorizedKeysPath: "/etc/keysmith/authorized_keys"),
///     logger: Logger(label: "serve") { KeyValueLogHandler(label: $0) }
/// )
/// Thread { server.run() }   // blocks until stop()
/// server.stop()
/// ```
///
/// The authorized_keys file is read again for each key offered, as sshd does, so edits
/// apply to the next login; `from=` is matched against the client's address and
/// `expiry-time=` against the current time (`AuthorizedKeysFile/authorizes(_:from:hostName:at:)`).
/// `cert-authority` lines are not supported (the server accepts no certificates) and never
/// authorize a key. The answer's comment is the authorized_keys line's comment.
///
/// `@unchecked Sendable`: the wrapped server guards its state with a lock.
public final class AuthorizedKeysServer: @unchecked Sendable {
    /// What to serve and the limits to keep.
    public struct Configuration: Sendable {
        /// Addresses to listen on; by default every IPv4 and IPv6 address, as sshd.
        public var addresses: [String]
        /// The TCP port; 0 picks a free one (see ``AuthorizedKeysServer/endpoints``).
        public var port: Int
        /// Host keys; each offers its signature algorithms (RSA: rsa-sha2-512, rsa-sha2-256).
        public var hostKeys: [SSHPrivateKey]
        /// The authorized_keys file, read for each key offered.
        public var authorizedKeysPath: String
        /// Seconds from connect to authentication (sshd's LoginGraceTime, default 120).
        public var loginGraceTime: Double
        /// Connections still authenticating at once; more are dropped as they arrive
        /// (sshd's MaxStartups, default 10).
        public var maxStartups: Int
        /// Failed authentication attempts per connection (sshd's MaxAuthTries, default 6).
        public var maxAuthTries: Int
        /// Seconds a connection may stay silent (default 60).
        public var idleTimeout: Double

        public init(
            addresses: [String] = ["0.0.0.0", "::"],
            port: Int,
            hostKeys: [SSHPrivateKey],
            authorizedKeysPath: String,
            loginGraceTime: Double = 120,
            maxStartups: Int = 10,
            maxAuthTries: Int = 6,
            idleTimeout: Double = 60
        ) {
            self.addresses = addresses
            self.port = port
            self.hostKeys = hostKeys
            self.authorizedKeysPath = authorizedKeysPath
            self.loginGraceTime = loginGraceTime
            self.maxStartups = maxStartups
            self.maxAuthTries = maxAuthTries
            self.idleTimeout = idleTimeout
        }
    }

    private let server: SSHServer

    /// Binds the listening sockets (so ``endpoints`` is known) and checks the configuration.
    /// - Throws: `KeyVerifyError` with `.invalidParameter` for a bad limit or no host key,
    ///   `.stateError` when an address cannot be bound or the authorized_keys file cannot be read.
    public init(configuration: Configuration, logger: Logger) throws(KeyVerifyError) {
        guard !configuration.hostKeys.isEmpty else {
            throw KeyVerifyError(.invalidParameter, "no host key was given")
        }
        for (name, value) in [
            ("login grace time", configuration.loginGraceTime), ("idle timeout", configuration.idleTimeout),
        ] where !(value > 0 && value.isFinite) {
            throw KeyVerifyError(.invalidParameter, "the \(name) must be a positive number of seconds")
        }
        guard configuration.maxStartups > 0, configuration.maxAuthTries > 0 else {
            throw KeyVerifyError(.invalidParameter, "the connection limits must be positive")
        }
        let path = configuration.authorizedKeysPath
        let file: AuthorizedKeysFile
        do {
            file = try AuthorizedKeysFile(path: path)
        } catch {
            throw KeyVerifyError(.stateError, error.message)
        }
        Self.report(file, logger: logger)
        let limits = SSHServerLimits(
            loginGraceTime: configuration.loginGraceTime,
            maxStartups: configuration.maxStartups,
            maxAuthTries: configuration.maxAuthTries,
            idleTimeout: configuration.idleTimeout
        )
        do {
            self.server = try SSHServer(
                addresses: configuration.addresses,
                port: configuration.port,
                hostKeys: configuration.hostKeys,
                limits: limits,
                logger: logger,
                decide: { peer, _, key in Self.decide(key, from: peer.address, path: path) },
                answer: { _, key, comment in Self.answer(key: key, comment: comment) }
            )
        } catch {
            throw KeyVerifyError(.stateError, error.message)
        }
    }

    /// The bound addresses and ports.
    public var endpoints: [(address: String, port: Int)] { self.server.endpoints }

    /// Serves connections until ``stop()``, each on its own thread; returns once they ended.
    public func run() { self.server.run() }

    /// Makes ``run()`` return and ends open connections; safe from any thread.
    public func stop() { self.server.stop() }

    /// The line an authenticated client gets: `authenticated FINGERPRINT COMMENT`.
    public static func answer(key: SSHPublicKey, comment: String?) -> String {
        var line = "authenticated \(key.fingerprint())"
        if let comment, !comment.isEmpty { line += " \(comment)" }
        return line + "\n"
    }

    /// Whether `key` may log in from `address` now, by the file at `path` read now.
    static func decide(_ key: SSHPublicKey, from address: String, path: String) -> SSHPublicKeyDecision {
        let file: AuthorizedKeysFile
        do {
            file = try AuthorizedKeysFile(path: path)
        } catch {
            return .refuse(reason: error.message)
        }
        switch file.authorizes(key, from: address, at: Int64(time(nil))) {
        case .authorized(let entry):
            guard key.type.isSecurityKey else { return .accept(comment: entry.comment) }
            return .acceptSecurityKey(comment: entry.comment, policy: SecurityKeyPolicy(entry.options))
        case .refused(let refusal):
            if refusal.reason == .notListed,
                file.entries.contains(where: { $0.key == key && $0.options.isCertificateAuthority })
            {
                return .refuse(reason: "the key is listed only as a cert-authority, which is not supported")
            }
            return .refuse(reason: refusal.message)
        }
    }

    private static func report(_ file: AuthorizedKeysFile, logger: Logger) {
        for warning in file.warnings {
            logger.warning("authorized_keys line skipped", metadata: ["warning": "\(warning)"])
        }
        for entry in file.entries where entry.options.isCertificateAuthority {
            logger.warning(
                "cert-authority lines are not supported and authorize nothing",
                metadata: ["file": "\(file.path)", "line": "\(entry.lineNumber)"]
            )
        }
        logger.info("authorized keys read", metadata: ["file": "\(file.path)", "keys": "\(file.entries.count)"])
    }
}
