import Foundation
import Hummingbird
public import KeyVerify
public import Logging
import NIOCore
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The challenge verifier as an HTTP/1.1 JSON service (`keysmith-challenged serve`):
///
/// - `POST /v1/challenges`, body empty or `{"ttl":N}`: 200 `{"token","expiresAt","audience"}`;
/// - `POST /v1/verifications`, body `{"token","response","from"?}`: 200
///   `{"fingerprint","type","comment","line"}`, else 400, 401, 409, 410, 413 or 503;
/// - `GET /healthz`: 200 `{"status":"ok"}` while the store answers, else 503;
/// - `GET /metrics`: the Prometheus text exposition (``ServiceMetrics``).
///
/// Every error is `{"error":"one sentence"}`. docs/challenge-service.md describes the
/// API, its deployment behind a TLS proxy and several replicas sharing one store.
public struct ChallengeService: Sendable {
    /// What the service serves and how.
    public struct Configuration: Sendable {
        /// The address to listen on (an IP address or host name).
        public var host: String
        /// The port; 0 lets the system choose (see ``portFile``).
        public var port: Int
        /// The authorized_keys file, read again whenever it changes.
        public var authorizedKeysPath: String
        /// Keys refused whatever authorized_keys says (a KRL or public keys), read again
        /// whenever it changes.
        public var revokedKeysPath: String?
        /// The user a certificate must name, as sshd's login user.
        public var user: String?
        /// The lifetime of a token issued without `ttl`, in seconds.
        public var defaultLifetime: Int64
        /// The largest request body accepted, in bytes; a larger one gets 413.
        public var maxBodySize: Int
        /// How long a connection may take to deliver a whole request, and may stay idle
        /// between requests, in seconds.
        public var timeout: Int64
        /// A file the bound port is written to once the server listens.
        public var portFile: String?

        public init(
            host: String,
            port: Int,
            authorizedKeysPath: String,
            revokedKeysPath: String? = nil,
            user: String? = nil,
            defaultLifetime: Int64 = ChallengeVerifier.defaultLifetime,
            maxBodySize: Int = 64 * 1024,
            timeout: Int64 = 10,
            portFile: String? = nil
        ) {
            self.host = host
            self.port = port
            self.authorizedKeysPath = authorizedKeysPath
            self.revokedKeysPath = revokedKeysPath
            self.user = user
            self.defaultLifetime = defaultLifetime
            self.maxBodySize = maxBodySize
            self.timeout = timeout
            self.portFile = portFile
        }
    }

    /// How often used-token records of expired tokens are pruned, in seconds.
    public static let pruneInterval: Int64 = 10

    private let configuration: Configuration
    private let state: ServiceState
    private let logger: Logger

    /// A service verifying with `verifier`, recording used tokens in `store`.
    ///
    /// The authorized_keys (and revoked keys) file is read here once, so that a service
    /// started with a file it cannot read says so at once.
    ///
    /// - Throws: ``KeyVerifyError`` (`invalidParameter`) naming the file that cannot be read.
    public init(
        configuration: Configuration,
        store: any ChallengeStore,
        verifier: ChallengeVerifier,
        logger: Logger
    ) throws(KeyVerifyError) {
        self.configuration = configuration
        self.logger = logger
        let authorizedKeys = ReloadingFile(path: configuration.authorizedKeysPath) {
            (path) throws(ServiceFailure) -> AuthorizedKeysFile in
            do throws(SSHKeyError) {
                let file = try AuthorizedKeysFile(path: path)
                for warning in file.warnings {
                    logger.warning("authorized_keys line skipped", metadata: ["warning": "\(warning)"])
                }
                logger.info("authorized keys read", metadata: ["file": "\(path)", "keys": "\(file.entries.count)"])
                return file
            } catch {
                logger.error("authorized keys unreadable", metadata: ["file": "\(path)", "error": "\(error.message)"])
                throw ServiceFailure(.serviceUnavailable, "the authorized_keys file cannot be read: \(error.message)")
            }
        }
        let revokedKeys = configuration.revokedKeysPath.map { path in
            ReloadingFile(path: path) { (path) throws(ServiceFailure) -> RevokedKeys in
                do throws(SSHKeyError) {
                    let keys = try RevokedKeys(path: path)
                    logger.info("revoked keys read", metadata: ["file": "\(path)"])
                    return keys
                } catch {
                    logger.error("revoked keys unreadable", metadata: ["file": "\(path)", "error": "\(error.message)"])
                    throw ServiceFailure(.serviceUnavailable, "the revoked keys file cannot be read: \(error.message)")
                }
            }
        }
        do throws(ServiceFailure) {
            _ = try authorizedKeys.current()
            _ = try revokedKeys?.current()
        } catch {
            throw KeyVerifyError(.invalidParameter, error.message)
        }
        self.state = ServiceState(
            store: store,
            verifier: verifier,
            authorizedKeys: authorizedKeys,
            revokedKeys: revokedKeys,
            user: configuration.user,
            defaultLifetime: configuration.defaultLifetime,
            maxBodySize: configuration.maxBodySize,
            logger: logger
        )
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in progress and returns.
    /// Expired used-token records are pruned every ``pruneInterval`` seconds meanwhile.
    public func run() async throws {
        let timeout = TimeAmount.seconds(self.configuration.timeout)
        let portFile = self.configuration.portFile
        let logger = self.logger
        let application = Application(
            responder: ChallengeResponder(state: self.state),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestDeadlineHandler(timeout: timeout)],
                    idleTimeout: timeout
                )
            ),
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice(
                    "listening",
                    metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "")", "port": "\(port)"]
                )
                if let portFile { writePortFile(portFile, port: port, logger: logger) }
            },
            logger: logger
        )
        let store = self.state.store
        let metrics = self.state.metrics
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService() }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(Self.pruneInterval))
                    do throws(KeyVerifyError) {
                        try await store.pruneUsedTokens(now: ChallengeVerifier.currentTime())
                    } catch {
                        metrics.storeError()
                        logger.warning("pruning used tokens failed", metadata: ["error": "\(error.message)"])
                    }
                }
            }
            // The server ends (a signal, or an error); the pruner then stops with it.
            try await group.next()
            group.cancelAll()
        }
    }
}

/// Writes the port, then renames, so a reader never sees a partial file.
private func writePortFile(_ path: String, port: Int, logger: Logger) {
    let temporary = path + ".tmp\(getpid())"
    let text = "\(port)\n"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        logger.error("cannot write the port file", metadata: ["file": "\(path)"])
        return
    }
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    if rename(temporary, path) != 0 {
        logger.error("cannot write the port file", metadata: ["file": "\(path)"])
    }
}

/// A request refused with an HTTP status and one sentence.
struct ServiceFailure: Error {
    let status: HTTPResponse.Status
    let message: String
    /// The verifier's reason, for a refused verification.
    let code: KeyVerifyError.Code?

    init(_ status: HTTPResponse.Status, _ message: String, code: KeyVerifyError.Code? = nil) {
        self.status = status
        self.message = message
        self.code = code
    }
}

/// What every request handler shares.
final class ServiceState: Sendable {
    let store: any ChallengeStore
    let verifier: ChallengeVerifier
    let authorizedKeys: ReloadingFile<AuthorizedKeysFile>
    let revokedKeys: ReloadingFile<RevokedKeys>?
    let user: String?
    let defaultLifetime: Int64
    let maxBodySize: Int
    let logger: Logger
    let metrics = ServiceMetrics()

    init(
        store: any ChallengeStore,
        verifier: ChallengeVerifier,
        authorizedKeys: ReloadingFile<AuthorizedKeysFile>,
        revokedKeys: ReloadingFile<RevokedKeys>?,
        user: String?,
        defaultLifetime: Int64,
        maxBodySize: Int,
        logger: Logger
    ) {
        self.store = store
        self.verifier = verifier
        self.authorizedKeys = authorizedKeys
        self.revokedKeys = revokedKeys
        self.user = user
        self.defaultLifetime = defaultLifetime
        self.maxBodySize = maxBodySize
        self.logger = logger
    }
}

/// A request's context: Hummingbird's, and the client's address.
struct ChallengeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The TCP peer (a reverse proxy, when there is one).
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
