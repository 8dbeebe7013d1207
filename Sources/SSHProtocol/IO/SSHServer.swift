package import Logging
import SSHCrypto
package import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The limits a server keeps on connections, as sshd's options of similar names.
public struct SSHServerLimits: Sendable, Hashable {
    /// Seconds a connection may take from accept to successful authentication
    /// (LoginGraceTime; sshd's default is 120).
    public var loginGraceTime: Double
    /// Connections accepted but not yet authenticated at once; more are closed at
    /// once (MaxStartups without the random early drop; sshd's start is 10).
    public var maxStartups: Int
    /// Failed authentication requests before the connection is dropped (MaxAuthTries).
    public var maxAuthTries: Int
    /// Seconds without a byte from the client before the connection is closed.
    public var idleTimeout: Double

    public init(loginGraceTime: Double = 120, maxStartups: Int = 10, maxAuthTries: Int = 6, idleTimeout: Double = 60) {
        self.loginGraceTime = loginGraceTime
        self.maxStartups = maxStartups
        self.maxAuthTries = maxAuthTries
        self.idleTimeout = idleTimeout
    }
}

/// Who is connecting: the peer's numeric address and port.
public struct SSHPeer: Sendable, Hashable, CustomStringConvertible {
    /// The numeric IP address (an IPv4-mapped IPv6 address is given as IPv4, as sshd does).
    public let address: String
    public let port: Int
    public var description: String {
        self.address.contains(":") ? "[\(self.address)]:\(self.port)" : "\(self.address):\(self.port)"
    }
}

/// A blocking SSH server that authenticates public keys and runs nothing: it listens on
/// one or more addresses, serves each connection on its own thread with
/// ``SSHTransport``, ``SSHUserAuthServer`` and ``SSHSessionServer``, and answers an
/// exec or shell request with the text the caller makes from the authenticated key.
///
/// Every connection is bounded: by the login grace time until it authenticates, by the
/// idle time limit throughout, by the cap on connections still authenticating (excess
/// connections are closed as soon as they are accepted), and by the packet size limit.
///
/// `@unchecked Sendable`: its mutable state is guarded by one lock.
package final class SSHServer: @unchecked Sendable {
    package typealias Decide = @Sendable (SSHPeer, String, SSHPublicKey) -> SSHPublicKeyDecision
    package typealias Answer = @Sendable (String, SSHPublicKey, String?) -> String

    private let hostKeys: [SSHPrivateKey]
    private let algorithms: SSHAlgorithms
    private let limits: SSHServerLimits
    private let logger: Logger
    private let decide: Decide
    private let answer: Answer
    private var listeners: [(fd: Int32, address: String, port: Int)] = []
    /// Whether a connection ends once its session channel closed (as `keysmith serve` does);
    /// false keeps it open and refuses every further session channel, as a server that allows
    /// one session per connection does. Set before ``run()``.
    package var endsConnectionAfterSession = true
    /// Written once by ``stop()``; every poll watches its read end.
    private let stopPipe: (read: Int32, write: Int32)

    private let lock = ConditionLock()
    private var unauthenticated = 0
    private var active = 0
    private var stopped = false
    private var connectionCounter = 0

    /// Binds the listening sockets at once, so the ports are known before ``run()``.
    /// - Parameters:
    ///   - addresses: numeric addresses or host names; each resolved address is bound.
    ///   - port: 0 picks a free port per address.
    /// - Throws: `.invalidConfiguration` without host keys, `.connectionFailed` when an
    ///   address cannot be bound.
    package init(
        addresses: [String],
        port: Int,
        hostKeys: [SSHPrivateKey],
        algorithms: SSHAlgorithms = .clientDefaults,
        limits: SSHServerLimits,
        logger: Logger,
        decide: @escaping Decide,
        answer: @escaping Answer
    ) throws(SSHProtocolError) {
        guard !hostKeys.isEmpty else { throw SSHProtocolError(.invalidConfiguration, "no host key") }
        guard (0...65535).contains(port) else {
            throw SSHProtocolError(.invalidConfiguration, "the port \(port) is not 0-65535")
        }
        self.hostKeys = hostKeys
        self.algorithms = algorithms
        self.limits = limits
        self.logger = logger
        self.decide = decide
        self.answer = answer
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw SSHProtocolError(.connectionFailed, "cannot create a pipe: \(errnoText())")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        self.stopPipe = (fds[0], fds[1])
        // As sshd: an address that cannot be bound is logged and skipped; only when none
        // can be bound is it an error ("Cannot bind any address").
        var firstError: SSHProtocolError? = nil
        for address in addresses {
            do {
                self.listeners += try ServerSocket.listen(address: address, port: port)
            } catch {
                logger.error("cannot listen", metadata: ["address": "\(address)", "reason": "\(error.message)"])
                if firstError == nil { firstError = error }
            }
        }
        if self.listeners.isEmpty {
            _ = close(fds[0])
            _ = close(fds[1])
            throw firstError ?? SSHProtocolError(.invalidConfiguration, "no address to listen on")
        }
    }

    deinit {
        for listener in self.listeners { _ = close(listener.fd) }
        _ = close(self.stopPipe.read)
        _ = close(self.stopPipe.write)
    }

    /// The bound addresses and ports.
    package var endpoints: [(address: String, port: Int)] { self.listeners.map { ($0.address, $0.port) } }

    /// Accepts and serves connections until ``stop()``; then waits for the connections'
    /// threads to end (they end at once: every poll watches the stop signal).
    package func run() {
        for listener in self.listeners {
            self.logger.info(
                "listening",
                metadata: ["address": "\(listener.address)", "port": "\(listener.port)"]
            )
        }
        var pfds = self.listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        pfds.append(pollfd(fd: self.stopPipe.read, events: Int16(POLLIN), revents: 0))
        accepting: while true {
            let rc = poll(&pfds, nfds_t(pfds.count), -1)
            if rc < 0 {
                if errno == EINTR { continue }
                self.logger.error("poll failed", metadata: ["error": "\(errnoText())"])
                break
            }
            if pfds[pfds.count - 1].revents != 0 { break accepting }
            for i in 0..<(pfds.count - 1) where pfds[i].revents != 0 {
                self.acceptOne(self.listeners[i].fd)
            }
        }
        self.lock.withLock { self.stopped = true }
        self.lock.wait(until: { self.active == 0 })
        self.logger.info("stopped")
    }

    /// Makes ``run()`` return; safe from any thread and from a signal-watching thread.
    package func stop() {
        var byte: UInt8 = 1
        _ = write(self.stopPipe.write, &byte, 1)
    }

    private func acceptOne(_ listener: Int32) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) }
        }
        guard fd >= 0 else {
            if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                // Out of descriptors: the listener stays readable, so wait a little
                // instead of spinning until connections end.
                self.logger.error("accept failed", metadata: ["reason": "\(errnoText())"])
                usleep(100_000)
            }
            return
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let peer = ServerSocket.peer(of: storage)
        let admitted: Int? = self.lock.withLock {
            guard !self.stopped, self.unauthenticated < self.limits.maxStartups else { return nil }
            self.unauthenticated += 1
            self.active += 1
            self.connectionCounter += 1
            return self.connectionCounter
        }
        guard let number = admitted else {
            // sshd: "drop connection #N from [addr]:port past MaxStartups".
            self.logger.warning(
                "connection dropped",
                metadata: ["peer": "\(peer)", "outcome": "\(LogOutcome.dropped)", "reason": "max-startups"]
            )
            _ = close(fd)
            return
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(peer)"
        logger[metadataKey: "connection"] = "\(number)"
        logger.debug("connection accepted")
        let connection = ServerConnection(
            fd: fd,
            peer: peer,
            server: self,
            logger: logger
        )
        do {
            try startThread { connection.run() }
        } catch {
            logger.error("cannot start a thread", metadata: ["outcome": "\(LogOutcome.error)"])
            _ = close(fd)
            self.connectionEnded(authenticated: false)
        }
    }

    fileprivate func authenticatedConnection() {
        self.lock.withLock { self.unauthenticated -= 1 }
    }

    fileprivate func connectionEnded(authenticated: Bool) {
        self.lock.withLock {
            if !authenticated { self.unauthenticated -= 1 }
            self.active -= 1
        }
        self.lock.broadcast()
    }

    fileprivate var configuration:
        (
            hostKeys: [SSHPrivateKey], algorithms: SSHAlgorithms, limits: SSHServerLimits, decide: Decide,
            answer: Answer, stopFD: Int32, endsConnectionAfterSession: Bool
        )
    {
        (
            self.hostKeys, self.algorithms, self.limits, self.decide, self.answer, self.stopPipe.read,
            self.endsConnectionAfterSession
        )
    }
}

/// The `outcome` a log line reports; its text is the case's name.
private enum LogOutcome: String, CustomStringConvertible {
    /// The client closed the connection (or, authenticated, ended it cleanly).
    case closed
    /// The login grace time or the idle limit ran out.
    case timeout
    /// A socket, thread or protocol error.
    case error
    /// The server was stopped.
    case stopped
    /// The session's request was answered.
    case answered
    /// The client sent DISCONNECT before an answer.
    case disconnected
    /// Authentication failed, a key or method was refused, or the client left after a refusal.
    case refused
    /// A key was accepted.
    case accepted
    /// The connection was dropped past MaxStartups.
    case dropped

    var description: String { self.rawValue }
}

/// One connection, served on its own thread.
private final class ServerConnection: @unchecked Sendable {
    private let fd: Int32
    private let peer: SSHPeer
    private let server: SSHServer
    private var logger: Logger
    /// Whether a key or method was refused: a client that then leaves was refused.
    private var refused = false

    init(fd: Int32, peer: SSHPeer, server: SSHServer, logger: Logger) {
        self.fd = fd
        self.peer = peer
        self.server = server
        self.logger = logger
    }

    private enum Phase {
        case keyExchange
        case authenticating(SSHUserAuthServer)
        case session(SSHSessionServer)
    }

    func run() {
        let authenticated = self.serve()
        // serve()'s OpenSSL objects (ciphers, MACs, kex) are freed by now. Free this thread's
        // own OpenSSL state too before SSHServer.run() may return and the process exit:
        // OpenSSL would free it when the thread ends, but not if that is after exit's cleanup.
        releaseThreadCryptoState()
        _ = close(self.fd)
        self.server.connectionEnded(authenticated: authenticated)
    }

    /// Serves the connection until it ends; returns whether the client authenticated.
    private func serve() -> Bool {
        var authenticated = false
        let config = self.server.configuration
        let transport = SSHTransport(hostKeys: config.hostKeys, algorithms: config.algorithms)
        var phase = Phase.keyExchange
        var outgoing: [UInt8] = transport.takeOutbound()
        var offset = 0
        let start = ContinuousClock.now
        let graceEnd = start + .seconds(config.limits.loginGraceTime)
        var lastInput = start
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        var finishing = false
        var outcome = LogOutcome.closed
        var reason: String? = nil

        loop: while true {
            let now = ContinuousClock.now
            if !authenticated && now >= graceEnd {
                // sshd: "Timeout before authentication for ...".
                outcome = .timeout
                reason = "login grace time"
                break
            }
            if now - lastInput >= .seconds(config.limits.idleTimeout) {
                outcome = .timeout
                reason = "idle"
                break
            }
            if finishing && offset >= outgoing.count { break }
            var end = lastInput + .seconds(config.limits.idleTimeout)
            if !authenticated { end = min(end, graceEnd) }
            var pfds = [
                pollfd(
                    fd: self.fd,
                    events: Int16(POLLIN) | (offset < outgoing.count ? Int16(POLLOUT) : 0),
                    revents: 0
                ),
                pollfd(fd: config.stopFD, events: Int16(POLLIN), revents: 0),
            ]
            let rc = poll(&pfds, 2, milliseconds(end - now))
            if rc < 0 {
                if errno == EINTR { continue }
                outcome = .error
                reason = errnoText()
                break
            }
            if pfds[1].revents != 0 {
                outcome = .stopped
                break
            }
            if pfds[0].revents & Int16(POLLOUT) != 0 && offset < outgoing.count {
                let n = outgoing[offset...].withUnsafeBytes { sendNoSignal(self.fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    offset += n
                    if offset == outgoing.count {
                        outgoing = []
                        offset = 0
                    }
                } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    outcome = .error
                    reason = "write: \(errnoText())"
                    break
                }
            }
            guard pfds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, !finishing else { continue }
            let n = buffer.withUnsafeMutableBytes { read(self.fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                outcome = .error
                reason = "read: \(errnoText())"
                break
            }
            if n == 0 {
                outcome = .closed
                break
            }
            lastInput = ContinuousClock.now
            do throws(SSHProtocolError) {
                for event in try transport.receive(buffer[0..<n]) {
                    switch event {
                    case .ready(let sessionID):
                        if let negotiated = transport.negotiated {
                            self.logger.debug(
                                "keys exchanged",
                                metadata: [
                                    "kex": "\(negotiated.keyExchange)", "hostkey": "\(negotiated.hostKey)",
                                    "cipher": "\(negotiated.cipherClientToServer)",
                                    "client": "\(transport.clientVersion ?? "")",
                                ]
                            )
                        }
                        let peer = self.peer
                        let decide = config.decide
                        phase = .authenticating(
                            SSHUserAuthServer(
                                sessionID: sessionID,
                                maximumFailures: config.limits.maxAuthTries,
                                decide: { user, key in decide(peer, user, key) }
                            )
                        )
                    case .payload(let payload):
                        switch phase {
                        case .keyExchange:
                            throw SSHProtocolError(.protocolViolation, "a message before the key exchange")
                        case .authenticating(let auth):
                            let replies: [[UInt8]]
                            do throws(SSHProtocolError) {
                                replies = try auth.receive(payload)
                            } catch {
                                self.log(auth.events)
                                throw error
                            }
                            self.log(auth.events)
                            for reply in replies { try transport.send(reply) }
                            if let done = auth.authenticated {
                                authenticated = true
                                self.server.authenticatedConnection()
                                self.logger[metadataKey: "user"] = "\(done.user)"
                                self.logger[metadataKey: "fingerprint"] = "\(done.key.fingerprint())"
                                phase = .session(
                                    SSHSessionServer(text: config.answer(done.user, done.key, done.comment))
                                )
                            }
                        case .session(let session):
                            for reply in try session.receive(payload) { try transport.send(reply) }
                            if let request = session.answeredRequest, outcome != .answered {
                                outcome = .answered
                                self.logger.info(
                                    "answered",
                                    metadata: ["request": "\(request)", "outcome": "\(LogOutcome.answered)"]
                                )
                            }
                            if session.isFinished && config.endsConnectionAfterSession { finishing = true }
                        }
                    }
                }
            } catch {
                switch error.code {
                case .disconnected:
                    outcome = outcome == .answered ? .answered : .disconnected
                case .authenticationFailed:
                    outcome = .refused
                    reason = error.message
                    transport.disconnect(reason: 2, description: "Too many authentication failures")
                default:
                    outcome = .error
                    reason = error.message
                }
                // Send the DISCONNECT the transport queued, if the socket takes it now.
                let rest = transport.takeOutbound()
                outgoing = Array(outgoing[offset...]) + rest
                if !outgoing.isEmpty {
                    _ = outgoing.withUnsafeBytes { sendNoSignal(self.fd, $0.baseAddress!, $0.count) }
                }
                break loop
            }
            let more = transport.takeOutbound()
            if !more.isEmpty {
                if offset > 0 {
                    outgoing.removeFirst(offset)
                    offset = 0
                }
                outgoing += more
            } else if offset >= outgoing.count {
                // Nothing to answer, so no reply will carry the ACK: send it now. OpenSSH's
                // ssh leaves Nagle on for a command without a terminal and writes NEWKEYS and
                // SERVICE_REQUEST separately, so it holds the second until the first is
                // acknowledged, and a delayed ACK (up to 40 ms on Linux) stalls the login.
                acknowledgeNow(self.fd)
            }
        }
        if !authenticated && self.refused && (outcome == .closed || outcome == .disconnected) {
            outcome = .refused
        }
        var metadata: Logger.Metadata = ["outcome": "\(outcome)"]
        if let reason { metadata["reason"] = "\(reason)" }
        if outcome == .answered || outcome == .stopped || outcome == .closed && authenticated {
            self.logger.info("connection closed", metadata: metadata)
        } else {
            self.logger.notice("connection closed", metadata: metadata)
        }
        return authenticated
    }

    private func log(_ events: [SSHUserAuthServerEvent]) {
        for event in events {
            switch event {
            case .keyAcceptable(let user, let key):
                self.logger.debug(
                    "key acceptable",
                    metadata: ["user": "\(user)", "fingerprint": "\(key.fingerprint())"]
                )
            case .keyRefused(let user, let key, let algorithm, let reason):
                self.refused = true
                var metadata: Logger.Metadata = [
                    "user": "\(user)", "algorithm": "\(algorithm)", "outcome": "\(LogOutcome.refused)",
                    "reason": "\(reason)",
                ]
                if let key {
                    metadata["fingerprint"] = "\(key.fingerprint())"
                    metadata.merge(Self.certificateMetadata(key)) { old, _ in old }
                }
                self.logger.notice("key refused", metadata: metadata)
            case .badSignature(let user, let key):
                self.refused = true
                self.logger.notice(
                    "bad signature",
                    metadata: [
                        "user": "\(user)", "fingerprint": "\(key.fingerprint())", "outcome": "\(LogOutcome.refused)",
                    ]
                )
            case .methodRefused(let user, let method):
                self.refused = true
                self.logger.notice(
                    "method refused",
                    metadata: ["user": "\(user)", "method": "\(method)", "outcome": "\(LogOutcome.refused)"]
                )
            case .authenticated(let user, let key, let comment):
                let metadata: Logger.Metadata = [
                    "user": "\(user)", "fingerprint": "\(key.fingerprint())", "comment": "\(comment ?? "")",
                    "outcome": "\(LogOutcome.accepted)",
                ]
                self.logger.notice(
                    "authenticated",
                    metadata: metadata.merging(Self.certificateMetadata(key)) { old, _ in old }
                )
            }
        }
    }

    /// A certificate's ID, serial and CA fingerprint, as sshd logs them; nothing for a plain key.
    private static func certificateMetadata(_ key: SSHPublicKey) -> Logger.Metadata {
        guard let certificate = key.certificate else { return [:] }
        return [
            "certificate-id": "\(printable(certificate.keyID.utf8))", "serial": "\(certificate.serial)",
            "ca": "\(certificate.signatureKey.fingerprint())",
        ]
    }
}

/// Sends the ACK for what was read at once instead of delaying it (Linux TCP_QUICKACK,
/// which lasts until the kernel sees a request-reply pattern again).
private func acknowledgeNow(_ fd: Int32) {
    #if os(Linux)
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), Int32(TCP_QUICKACK), &one, socklen_t(MemoryLayout<Int32>.size))
    #endif
}
