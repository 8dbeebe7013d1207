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
/// `expiry-time=` against the current time (`AuthorizedKeysFile/authorizes(_:user:from:hostName:at:caSignatureAlgorithms:)`).
///
/// User certificates log in as sshd lets them: through a `cert-authority` line holding
/// their CA key (the line's `principals=`, else the user name, must be one of the
/// certificate's principals), and, after the authorized_keys file, through
/// ``Configuration/trustedUserCAKeysPath`` (sshd's `TrustedUserCAKeys`: the user name must
/// be a principal, or, with ``Configuration/authorizedPrincipalsPath``, a principal listed
/// there). The certificate's validity, critical options (`source-address` against the
/// client's address; an unknown one refuses) and CA signature algorithm are checked, and
/// the certificate's key signs (`ssh-ed25519-cert-v01@openssh.com`,
/// `rsa-sha2-512-cert-v01@openssh.com`, …). The answer's comment is the authorized_keys
/// line's comment (none for `TrustedUserCAKeys`); the log names the certificate's ID,
/// serial and CA.
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
        /// sshd's `TrustedUserCAKeys`: CA keys whose user certificates log in as a user
        /// their principals name; read for each certificate offered. Nil for none.
        public var trustedUserCAKeysPath: String?
        /// sshd's `AuthorizedPrincipalsFile`: with trusted CA keys, the principals (one a
        /// line, options before it) a certificate must list one of, whatever the user name.
        public var authorizedPrincipalsPath: String?
        /// sshd's `RevokedKeys`: a KRL or a list of public keys, read for each key offered;
        /// a key, a certificate or a certificate's CA listed there is refused, and a file
        /// that cannot be used refuses every key, as in sshd. Nil for none.
        public var revokedKeysPath: String?
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
            idleTimeout: Double = 60,
            trustedUserCAKeysPath: String? = nil,
            authorizedPrincipalsPath: String? = nil,
            revokedKeysPath: String? = nil
        ) {
            self.revokedKeysPath = revokedKeysPath
            self.trustedUserCAKeysPath = trustedUserCAKeysPath
            self.authorizedPrincipalsPath = authorizedPrincipalsPath
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
        let sources = CertificateSources(
            trustedUserCAKeysPath: configuration.trustedUserCAKeysPath,
            authorizedPrincipalsPath: configuration.authorizedPrincipalsPath,
            revokedKeysPath: configuration.revokedKeysPath
        )
        if let revokedPath = sources.revokedKeysPath {
            do {
                _ = try RevokedKeys(path: revokedPath)
            } catch {
                throw KeyVerifyError(.stateError, error.message)
            }
        }
        if let caPath = sources.trustedUserCAKeysPath {
            do {
                let cas = try TrustedUserCAKeys(path: caPath)
                logger.info("trusted user CA keys read", metadata: ["file": "\(caPath)", "keys": "\(cas.keys.count)"])
            } catch {
                throw KeyVerifyError(.stateError, error.message)
            }
        }
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
                decide: { peer, user, key in
                    Self.decide(key, user: user, from: peer.address, path: path, certificates: sources)
                },
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

    /// Where certificates' CAs are trusted besides authorized_keys `cert-authority` lines,
    /// and the revoked keys.
    struct CertificateSources: Sendable {
        var trustedUserCAKeysPath: String?
        var authorizedPrincipalsPath: String?
        var revokedKeysPath: String?
    }

    /// Whether `key` may log in as `user` from `address` now, by the files read now: the
    /// authorized_keys file, then (for a certificate) the trusted CA keys, as sshd's
    /// `user_key_allowed` tries them. Without a user name a certificate logs in only
    /// through a `cert-authority` line with `principals=`.
    static func decide(
        _ key: SSHPublicKey,
        user: String? = nil,
        from address: String,
        path: String,
        certificates: CertificateSources = CertificateSources()
    ) -> SSHPublicKeyDecision {
        let now = Int64(time(nil))
        // auth2-pubkey.c user_key_allowed: revoked keys first, the certificate's CA too.
        if let revokedPath = certificates.revokedKeysPath {
            do {
                if try RevokedKeys(path: revokedPath).isRevoked(key) {
                    let what = key.certificate.map {
                        "the certificate \"\(printable($0.keyID.utf8))\" (serial \($0.serial))"
                    }
                    return .refuse(reason: "\(what ?? "the key") is revoked by \(revokedPath)")
                }
            } catch {
                return .refuse(reason: "every key is refused: \(error.message)")
            }
        }
        let file: AuthorizedKeysFile
        do {
            file = try AuthorizedKeysFile(path: path)
        } catch {
            return .refuse(reason: error.message)
        }
        var decision = file.authorizes(key, user: user, from: address, at: now)
        if case .refused(let refusal) = decision, key.certificate != nil, let user,
            let caPath = certificates.trustedUserCAKeysPath
        {
            let trusted: AuthorizedKeysDecision
            do {
                let cas = try TrustedUserCAKeys(path: caPath)
                let principals = try certificates.authorizedPrincipalsPath.map { (p) throws(SSHKeyError) in
                    try AuthorizedPrincipalsFile(path: p)
                }
                trusted = cas.authorizes(key, user: user, principals: principals, from: address, at: now)
            } catch {
                return .refuse(reason: error.message)
            }
            // The authorized_keys refusal stands unless the file never held the CA.
            if case .refused(let other) = trusted, refusal.reason != .notListed, other.reason == .notListed {
                decision = .refused(refusal)
            } else {
                decision = trusted
            }
        }
        switch decision {
        case .authorized(let entry):
            guard key.type.isSecurityKey else { return .accept(comment: entry.comment) }
            return .acceptSecurityKey(comment: entry.comment, policy: SecurityKeyPolicy(entry.options))
        case .certified(let certified):
            let comment = certified.entry?.comment
            guard key.plainKey.type.isSecurityKey else { return .accept(comment: comment) }
            return .acceptSecurityKey(comment: comment, policy: SecurityKeyPolicy(certified.options))
        case .refused(let refusal):
            if refusal.reason == .notListed, key.certificate == nil,
                file.entries.contains(where: { $0.key == key && $0.options.isCertificateAuthority })
            {
                return .refuse(
                    reason:
                        "the key is listed only as a cert-authority, which vouches for certificates it signed, not for itself"
                )
            }
            return .refuse(reason: refusal.message)
        }
    }

    private static func report(_ file: AuthorizedKeysFile, logger: Logger) {
        for warning in file.warnings {
            logger.warning("authorized_keys line skipped", metadata: ["warning": "\(warning)"])
        }
        logger.info("authorized keys read", metadata: ["file": "\(file.path)", "keys": "\(file.entries.count)"])
    }
}
