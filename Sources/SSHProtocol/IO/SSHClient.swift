public import SSHCrypto
public import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the client proves who it is, in the order tried (ssh's PreferredAuthentications).
public enum SSHAuthenticationMethod: String, Sendable, Hashable, CaseIterable {
    case publicKey = "publickey"
    case keyboardInteractive = "keyboard-interactive"
    case password = "password"
}

/// Where credentials come from. Every closure may be called from the connecting thread.
public struct SSHCredentials: Sendable {
    /// Private keys to offer (already loaded and decrypted), with a label for messages.
    public var keys: [(label: String, key: SSHPrivateKey)]
    /// Makes the signer of a security key among ``keys`` (its authenticator signs, through a
    /// provider); nil leaves such keys without a way to sign.
    public var securityKeySigner: (@Sendable (_ label: String, _ key: SSHPrivateKey) -> SSHKeySigner)?
    /// User certificates to offer (`CertificateFile`, `KEY-cert.pub`), with a label for
    /// messages. Each is offered, before every plain key, when one of ``keys`` or of the
    /// agent's keys is the key it certifies; that key signs for it.
    public var certificates: [(label: String, certificate: SSHPublicKey)] = []
    /// Whether to offer the keys of the agent at SSH_AUTH_SOCK.
    public var useAgent: Bool
    /// The agent socket path (default: SSH_AUTH_SOCK).
    public var agentSocket: String?
    /// Asks for the password (prompt text given); nil means none is available.
    public var password: (@Sendable (String) -> SecureBytes?)?
    /// Answers keyboard-interactive prompts: (name, instruction, [(prompt, echo)]) → answers, or nil to give up.
    public var keyboardInteractive: (@Sendable (String, String, [(String, Bool)]) -> [SecureBytes]?)?

    public init(
        keys: [(label: String, key: SSHPrivateKey)] = [],
        securityKeySigner: (@Sendable (_ label: String, _ key: SSHPrivateKey) -> SSHKeySigner)? = nil,
        useAgent: Bool = false,
        agentSocket: String? = nil,
        password: (@Sendable (String) -> SecureBytes?)? = nil,
        keyboardInteractive: (@Sendable (String, String, [(String, Bool)]) -> [SecureBytes]?)? = nil
    ) {
        self.keys = keys
        self.securityKeySigner = securityKeySigner
        self.useAgent = useAgent
        self.agentSocket = agentSocket
        self.password = password
        self.keyboardInteractive = keyboardInteractive
    }
}

/// Everything needed to open one connection.
public struct SSHClientOptions: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var algorithms: SSHAlgorithms
    public var credentials: SSHCredentials
    public var authenticationOrder: [SSHAuthenticationMethod]
    /// Seconds to wait for the TCP connection (ConnectTimeout).
    public var connectTimeout: Double
    /// Seconds the whole connection may take before it is abandoned (no silent server hangs the client).
    public var overallTimeout: Double
    /// Seconds the client waits for the server to send anything while it expects an answer
    /// (a command that prints nothing for longer than this is abandoned too).
    public var idleTimeout: Double
    /// Decides about the server's host key; throwing refuses it.
    public var hostKeyVerifier: @Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void
    /// Decides about the server's host key knowing the address the connection went to
    /// (CheckHostIP): the numeric address of a direct TCP connection (getnameinfo with
    /// NI_NUMERICHOST, as sshconnect.c formats it), nil over a stream. Called instead of
    /// ``hostKeyVerifier`` when set.
    public var addressedHostKeyVerifier: (@Sendable (SSHPublicKey, String?) throws(SSHProtocolError) -> Void)? =
        nil
    /// Decides instead of ``hostKeyVerifier`` when the connection is the client's own TCP
    /// connection to a loopback address (127.0.0.0/8, ::1): NoHostAuthenticationForLocalhost
    /// (sshconnect.c `sockaddr_is_local`; through a ProxyCommand or jump host ssh knows no
    /// address, so it never applies there). nil: ``hostKeyVerifier`` always decides.
    public var loopbackHostKeyVerifier: (@Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void)? = nil
    /// Told why, each time the server refused a later session channel and the client logs
    /// in again on a fresh connection (see ``SSHClient``).
    public var reconnecting: (@Sendable (String) -> Void)?
    /// AddressFamily: which of the host's addresses are tried.
    public var addressFamily: SSHAddressFamily = .any
    /// BindAddress: the local address to connect from, nil for any.
    public var bindAddress: String? = nil
    /// BindInterface: connect from this interface's address (when no BindAddress is set).
    public var bindInterface: String? = nil
    /// ConnectionAttempts: how many times the TCP connection is tried, a second apart.
    public var connectionAttempts: Int = 1
    /// ServerAliveInterval in seconds (0: off): a keepalive@openssh.com request goes to a
    /// server that sent nothing for this long; ServerAliveCountMax unanswered ones drop the connection.
    public var serverAliveInterval: Double = 0
    public var serverAliveCountMax: Int = 3
    /// RekeyLimit: bytes (0: the cipher's own limit) and seconds (nil: none) after which
    /// keysmith renews the keys.
    public var rekeyLimitBytes: UInt64 = 0
    public var rekeyLimitSeconds: Double? = nil
    /// SetEnv and SendEnv's variables, sent as "env" requests before each command.
    public var environment: [(name: String, value: String)] = []
    /// PubkeyAcceptedAlgorithms, resolved: the keys offered and the algorithms they are
    /// offered under (sshconnect2.c `key_type_allowed_by_config`, `key_sig_algorithm`).
    public var publicKeyAlgorithms: [String] = SSHAlgorithms.defaultPublicKey
    /// RequiredRSASize: an RSA host key smaller than this many bits is refused, an RSA
    /// identity smaller than it is not offered (sshkey.c `sshkey_check_rsa_length`).
    public var requiredRSASize: Int = 1024

    public init(
        host: String,
        port: Int = 22,
        user: String,
        algorithms: SSHAlgorithms = .clientDefaults,
        credentials: SSHCredentials,
        authenticationOrder: [SSHAuthenticationMethod] = [.publicKey, .keyboardInteractive, .password],
        connectTimeout: Double = 10,
        overallTimeout: Double = 120,
        idleTimeout: Double = 60,
        hostKeyVerifier: @escaping @Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.algorithms = algorithms
        self.credentials = credentials
        self.authenticationOrder = authenticationOrder
        self.connectTimeout = connectTimeout
        self.overallTimeout = overallTimeout
        self.idleTimeout = idleTimeout
        self.hostKeyVerifier = hostKeyVerifier
    }
}

/// The result of running a command.
public struct SSHExecResult: Sendable {
    /// The exit status, or nil when the server sent none (for example after a signal).
    public var exitStatus: Int32?
    /// The signal name when the command was killed by one.
    public var exitSignal: String?
    public var stdout: [UInt8]
    public var stderr: [UInt8]
}

/// A blocking SSH client: one TCP connection, authenticated, running commands on
/// session channels. Drives ``SSHTransport`` and the userauth and connection
/// layers over a socket with poll(2), under the options' time limits.
///
/// Every wait is bounded: the TCP connect by `connectTimeout`, each wait for the server by
/// `idleTimeout`, and everything from the first connect attempt on by `overallTimeout`, so
/// a silent or hostile server ends in `.timeout` instead of a hang.
///
/// Why not SwiftNIO: a deploy opens one connection per host and runs a few commands in
/// order on it, so a blocking driver of the sans-I/O state machines is all it needs. It
/// keeps start-up and build time small (no event loop group, no NIO dependency tree), and
/// a fleet deploy gets its parallelism from one thread per connection. The protocol itself
/// stays in the sans-I/O layers, so an event-loop driver can be added beside this one.
///
/// Not `Sendable`: use one client from one thread at a time.
public final class SSHClient {
    private enum Phase {
        case keyExchange
        case authenticating(SSHUserAuthClient)
        case connected
    }

    /// What logged in, offered again (and nothing else, so nothing is asked) when a fresh
    /// connection replaces one whose server allows a single session channel.
    private struct Relogin {
        var order: [SSHAuthenticationMethod]
        var identities: [SSHAuthIdentity]
        var password: SecureBytes?
        var answers: [SecureBytes]?
    }

    /// The last password and keyboard-interactive answers given, kept for a ``Relogin``.
    private final class GivenSecrets {
        var password: SecureBytes?
        var answers: [SecureBytes]?
    }

    let options: SSHClientOptions
    /// `host:port` (`[v6]:port`), for messages.
    let peer: String
    var socket: TCPConnection
    var transport: SSHTransport
    var connection: SSHConnectionClient
    private let deadline: ContinuousClock.Instant
    private var phase = Phase.keyExchange
    var sessionID: [UInt8]?
    var outgoing: [UInt8] = []
    var outgoingOffset = 0
    var failure: SSHProtocolError?
    private var isClosed = false
    /// Session channels opened on the current connection.
    private var channelsOpened = 0
    private var relogin: Relogin?
    /// How a fresh connection to the same host is made (``reconnect()``).
    private var route = Route.direct

    private enum Route {
        /// A TCP connection of the client's own.
        case direct
        /// A ProxyCommand's or a jump host's stream, and how to get another (nil: none can be had).
        case stream((() throws(SSHProtocolError) -> SSHByteStream)?)
    }

    /// How many connections this client has made: more than one when the server refused
    /// a second session channel on a connection and a fresh one took over.
    public private(set) var connections = 1
    /// ServerAlive state: when bytes last came from the server, when the last keepalive
    /// went, and how many are unanswered.
    private var lastReceived = ContinuousClock.now
    private var lastKeepalive: ContinuousClock.Instant?
    private var unansweredKeepalives = 0
    /// RekeyLimit's time: since when the current keys are in use.
    private var keysSince = ContinuousClock.now
    private var keyExchangesSeen = 0

    /// The authentication method that succeeded, and for publickey the key's label.
    public private(set) var authenticatedWith: String = ""

    /// The server's host key.
    public private(set) var hostKey: SSHPublicKey

    /// The texts of SSH_MSG_USERAUTH_BANNER messages the server sent (RFC 4252 §5.4).
    public private(set) var banners: [String] = []

    /// How many key exchanges have finished on this connection (1, more after re-keys).
    package var completedKeyExchanges: Int { self.transport.completedKeyExchanges }

    /// The algorithms of the latest key exchange (what `ssh -v` prints as its `kex:` lines).
    public var negotiatedAlgorithms: SSHNegotiatedAlgorithms? { self.transport.negotiated }

    private init(
        options: SSHClientOptions,
        peer: String,
        socket: TCPConnection,
        direct: Bool,
        deadline: ContinuousClock.Instant
    ) {
        self.options = options
        self.peer = peer
        self.socket = socket
        self.deadline = deadline
        var verifier = options.hostKeyVerifier
        if let addressed = options.addressedHostKeyVerifier {
            let address = direct ? socket.peerAddress : nil
            verifier = { (key: SSHPublicKey) throws(SSHProtocolError) in try addressed(key, address) }
        }
        if direct, let loopback = options.loopbackHostKeyVerifier, socket.isLoopbackPeer { verifier = loopback }
        let minimum = options.requiredRSASize
        self.transport = SSHTransport(algorithms: options.algorithms) { [verifier] key throws(SSHProtocolError) in
            // sshconnect2.c verify_host_key_callback checks the size before known_hosts.
            if let refusal = Self.rsaSizeRefusal(key, minimum: minimum) {
                throw SSHProtocolError(.hostKeyRejected, "Bad server host key: \(refusal)")
            }
            try verifier(key)
        }
        self.transport.rekeyLimit = options.rekeyLimitBytes
        self.connection = SSHConnectionClient(peer: peer)
        self.connection.environment = options.environment
        // Replaced by the verified key once the key exchange is done; never read before.
        self.hostKey = SSHPublicKey(backing: .ed25519([UInt8](repeating: 0, count: 32)))
    }

    deinit { self.close() }

    /// Connects, exchanges keys, verifies the host key and authenticates.
    /// - Throws: `SSHProtocolError` (connectionFailed, timeout, hostKeyRejected, authenticationFailed, …).
    public static func connect(_ options: SSHClientOptions) throws(SSHProtocolError) -> SSHClient {
        try Self.connect(options, over: nil)
    }

    /// Connects over `stream` (a ProxyCommand, a jump host's tunnel) instead of a TCP
    /// connection of its own when it is given, then exchanges keys, verifies the host key
    /// and authenticates. The client owns the stream from then on, and releases it when it
    /// closes (or here, when the connection fails).
    /// - Throws: `SSHProtocolError`; a failure of what serves the stream is named as such.
    ///
    /// A server that allows one session channel per connection makes the client connect
    /// again (``startChannel(_:_:)``): over a new stream from `reopen` when this connection
    /// runs over one, for a fresh connection must take the same route.
    public static func connect(
        _ options: SSHClientOptions,
        over stream: SSHByteStream?,
        reopen: (() throws(SSHProtocolError) -> SSHByteStream)? = nil
    ) throws(SSHProtocolError)
        -> SSHClient
    {
        let start = ContinuousClock.now
        let peer = TCPConnection.describe(host: options.host, port: options.port)
        guard (1...65535).contains(options.port) else {
            stream?.release()
            throw SSHProtocolError(.invalidConfiguration, "the port \(options.port) of \(options.host) is not 1-65535")
        }
        for (name, value) in [
            ("connect", options.connectTimeout), ("overall", options.overallTimeout), ("idle", options.idleTimeout),
        ] where !(value > 0 && value.isFinite) {
            stream?.release()
            throw SSHProtocolError(.invalidConfiguration, "the \(name) timeout must be a positive number of seconds")
        }
        let deadline = start + .seconds(options.overallTimeout)
        let socket: TCPConnection
        if let stream {
            socket = TCPConnection(adopting: stream)
        } else {
            socket = try TCPConnection(
                host: options.host,
                port: options.port,
                connectTimeout: options.connectTimeout,
                deadline: deadline,
                family: options.addressFamily,
                bindAddress: options.bindAddress,
                bindInterface: options.bindInterface,
                attempts: options.connectionAttempts
            )
        }
        let client = SSHClient(options: options, peer: peer, socket: socket, direct: stream == nil, deadline: deadline)
        client.route = stream == nil ? .direct : .stream(reopen)
        do {
            try client.handshake()
        } catch {
            // What serves the stream may know better why it broke (a jump host, a command).
            let explained = stream?.explain(error) ?? error
            client.close()
            throw explained
        }
        return client
    }

    /// Runs `command` on a new session channel, sends `stdin` then EOF, and collects
    /// output until the channel closes (window and flow control handled).
    public func exec(_ command: String, stdin: [UInt8] = []) throws(SSHProtocolError) -> SSHExecResult {
        let id = try self.startChannel("while starting a command") {
            $0.openExec(command: command, stdin: stdin)
        }
        try self.pump("while running a command") { self.connection.isFinished(id) }
        return try self.connection.takeResult(id)
    }

    /// Starts `command` on a new session channel whose input is sent with
    /// ``sendOnChannel(_:_:)`` after reading output with ``receiveOnChannel(_:_:)``, and
    /// ended with ``finishExec(_:)``.
    package func openStreamingExec(_ command: String) throws(SSHProtocolError) -> UInt32 {
        try self.startChannel("while starting a command") { $0.openStreamingExec(command: command) }
    }

    /// Waits for output on a streaming exec channel; empty once the channel has closed
    /// (its exit status then waits in ``finishExec(_:)``).
    package func receiveFromExec(_ id: UInt32) throws(SSHProtocolError) -> [UInt8] {
        try self.checkUsable()
        try self.pump("while running a command") { self.connection.hasOutput(id) || self.connection.isFinished(id) }
        return self.connection.takeOutput(id)
    }

    /// Sends EOF on a streaming exec channel and waits for the command to finish; the
    /// result holds the output not yet taken by ``receiveOnChannel(_:_:)``.
    package func finishExec(_ id: UInt32) throws(SSHProtocolError) -> SSHExecResult {
        try self.checkUsable()
        self.connection.finishInput(id)
        try self.pump("while running a command") { self.connection.isFinished(id) }
        return try self.connection.takeResult(id)
    }

    /// Starts the subsystem `name` (RFC 4254 §6.5) on a new session channel; returns its id
    /// for ``sendOnChannel(_:_:)``, ``receiveOnChannel(_:_:)`` and ``closeChannel(_:)``.
    package func openSubsystem(_ name: String) throws(SSHProtocolError) -> UInt32 {
        let id = try self.startChannel("while starting the \(name) subsystem") { $0.openSubsystem(name) }
        if self.connection.wasRefused(id) {
            try self.pump("while closing a channel") { self.connection.isFinished(id) }
            _ = try self.connection.takeResult(id)
        }
        if self.connection.isFinished(id) {
            _ = try self.connection.takeResult(id)
            throw SSHProtocolError(.channelFailure, "\(self.peer) closed the \(name) channel as it started")
        }
        return id
    }

    /// Queues `bytes` on a subsystem channel (sent by the next receive).
    package func sendOnChannel(_ id: UInt32, _ bytes: [UInt8]) throws(SSHProtocolError) {
        try self.checkUsable()
        self.connection.send(bytes, on: id)
    }

    /// Waits for output on a subsystem channel and returns it (never empty).
    /// - Throws: `.channelFailure` when the server closed the channel.
    package func receiveOnChannel(_ id: UInt32, _ activity: String) throws(SSHProtocolError) -> [UInt8] {
        try self.checkUsable()
        try self.pump(activity) { self.connection.hasOutput(id) || self.connection.isFinished(id) }
        let output = self.connection.takeOutput(id)
        if output.isEmpty {
            _ = try? self.connection.takeResult(id)
            throw SSHProtocolError(.channelFailure, "\(self.peer) closed the channel \(activity)")
        }
        return output
    }

    /// Closes a subsystem channel and waits for the server's CLOSE.
    package func closeChannel(_ id: UInt32) throws(SSHProtocolError) {
        try self.checkUsable()
        self.connection.closeChannel(id)
        try self.pump("while closing a channel") { self.connection.isFinished(id) }
        _ = try? self.connection.takeResult(id)
    }

    /// Opens a session channel with `open` and waits until the server accepted or refused
    /// it and its request.
    ///
    /// Some servers allow one session channel (or one exec) per connection: they refuse a
    /// later channel (CHANNEL_OPEN_FAILURE), its request (CHANNEL_FAILURE), or close the
    /// connection once the first channel closed. When that happens to a channel after the
    /// first of a connection, nothing ran on it, so the client logs in again on a fresh
    /// connection (the host key must be the same one, and only what logged in the first
    /// time is offered, so nothing is asked again) and opens the channel there. A refusal
    /// of a connection's first channel is the server's answer and is reported.
    private func startChannel(
        _ activity: String,
        _ open: (SSHConnectionClient) -> UInt32
    ) throws(SSHProtocolError) -> UInt32 {
        try self.checkUsable()
        let isLater = self.channelsOpened > 0
        self.channelsOpened += 1
        var id = open(self.connection)
        let reason: String
        do {
            try self.pump(activity) { self.connection.isRunning(id) || self.connection.isFinished(id) }
            guard isLater && self.connection.wasRefused(id) else { return id }
            do {
                _ = try self.connection.takeResult(id)
                reason = "\(self.peer) refused a session channel"
            } catch {
                reason = error.message
            }
        } catch  where isLater && (error.code == .disconnected || error.code == .connectionFailed) {
            // The server closed the connection instead of answering: also one channel per connection.
            reason = error.message
        }
        self.options.reconnecting?(reason)
        try self.reconnect()
        self.channelsOpened = 1
        id = open(self.connection)
        try self.pump(activity) { self.connection.isRunning(id) || self.connection.isFinished(id) }
        return id
    }

    /// Replaces the connection by a fresh one to the same address, logged in with what
    /// logged in before (``Relogin``) and accepted only with the same host key.
    private func reconnect() throws(SSHProtocolError) {
        guard let relogin = self.relogin else {
            throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) cannot be made again")
        }
        let socket: TCPConnection
        switch self.route {
        case .direct:
            self.close()
            socket = try TCPConnection(
                host: self.options.host,
                port: self.options.port,
                connectTimeout: self.options.connectTimeout,
                deadline: self.deadline,
                family: self.options.addressFamily,
                bindAddress: self.options.bindAddress,
                bindInterface: self.options.bindInterface,
                attempts: self.options.connectionAttempts
            )
        case .stream(let reopen?):
            self.close()
            socket = TCPConnection(adopting: try reopen())
        case .stream(nil):
            throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) cannot be made again")
        }
        let known = self.hostKey
        let peer = self.peer
        self.socket = socket
        self.transport = SSHTransport(algorithms: self.options.algorithms) {
            (key: SSHPublicKey) throws(SSHProtocolError) in
            guard key == known else {
                throw SSHProtocolError(
                    .hostKeyRejected,
                    "\(peer) presented another host key (\(key.fingerprint())) on a new connection "
                        + "than on the first (\(known.fingerprint()))"
                )
            }
        }
        self.transport.rekeyLimit = self.options.rekeyLimitBytes
        self.connection = SSHConnectionClient(peer: peer)
        self.connection.environment = self.options.environment
        self.lastReceived = ContinuousClock.now
        self.lastKeepalive = nil
        self.unansweredKeepalives = 0
        self.keysSince = ContinuousClock.now
        self.keyExchangesSeen = 0
        self.phase = .keyExchange
        self.sessionID = nil
        self.outgoing = []
        self.outgoingOffset = 0
        self.failure = nil
        self.isClosed = false
        self.connections += 1
        do {
            try self.handshake(relogin: relogin)
        } catch {
            self.close()
            throw error
        }
    }

    /// Disconnects politely and closes the socket.
    public func close() {
        guard !self.isClosed else { return }
        self.isClosed = true
        if self.failure == nil && self.sessionID != nil {
            // RFC 4253 §11.1: SSH_DISCONNECT_BY_APPLICATION. Best effort, without waiting.
            self.transport.disconnect(reason: 11, description: "disconnected by keysmith")
            self.outgoing += self.transport.takeOutbound()
            _ = self.socket.write(self.outgoing[self.outgoingOffset...])
        }
        self.socket.close()
    }

    func checkUsable() throws(SSHProtocolError) {
        if let failure = self.failure { throw failure }
        guard !self.isClosed else {
            throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) is closed")
        }
    }

    /// Key exchange, then user authentication: with the options' credentials, or with what
    /// logged in on the first connection.
    private func handshake(relogin: Relogin? = nil) throws(SSHProtocolError) {
        if let limit = self.socket.versionTimeout {
            // sshconnect.c: ConnectTimeout bounds the wait for the server's version line too,
            // which is what a connection through a proxy or a jump host waits for first.
            try self.pump("before its version line", idle: limit) {
                self.transport.peerVersion != nil
            }
        }
        try self.pump("during key exchange") { self.sessionID != nil }
        guard let sessionID = self.sessionID, let hostKey = self.transport.hostKey else {
            throw SSHProtocolError(.protocolViolation, "\(self.peer) finished the key exchange without a host key")
        }
        self.hostKey = hostKey
        if let relogin {
            let answers = relogin.answers
            let auth = SSHUserAuthClient(
                user: self.options.user,
                host: self.options.host,
                peer: self.peer,
                order: relogin.order,
                identities: relogin.identities,
                password: relogin.password.map { password in { _ in password } },
                keyboardInteractive: answers.map { answers in
                    { _, _, prompts in prompts.count == answers.count ? answers : nil }
                },
                sessionID: sessionID
            )
            try self.authenticate(auth)
            return
        }

        let credentials = self.options.credentials
        var identities = credentials.keys.map { (label, key) in
            if key.securityKey != nil, let signer = credentials.securityKeySigner {
                return SSHAuthIdentity(label: label, signer: signer(label, key))
            }
            return SSHAuthIdentity(label: label, privateKey: key)
        }
        var notes: [String] = []
        if credentials.useAgent && self.options.authenticationOrder.contains(.publicKey) {
            do {
                let known = Set(identities.map(\.publicKey) + credentials.certificates.map(\.certificate))
                identities += try self.agentIdentities(excluding: known)
            } catch {
                notes.append(error.message)
            }
        }
        // Certificates before plain keys, as ssh orders its default identities
        // (sshconnect2.c `order_identities_by_prio`); one whose key is not at hand is not offered.
        let certified = credentials.certificates.compactMap { label, certificate -> SSHAuthIdentity? in
            guard let holder = identities.first(where: { $0.publicKey == certificate.plainKey }) else { return nil }
            return SSHAuthIdentity(label: label, certificate: certificate, signingWith: holder)
        }
        identities = certified + identities
        // sshconnect2.c pubkey_prepare and load_identity_file: RSA keys below RequiredRSASize
        // are skipped, then whatever PubkeyAcceptedAlgorithms does not allow.
        identities = identities.filter { identity in
            if let refusal = Self.rsaSizeRefusal(identity.publicKey, minimum: self.options.requiredRSASize) {
                notes.append("skipped \(identity.label): \(refusal)")
                return false
            }
            guard SSHAuthIdentity.isAllowed(identity.publicKey, accepted: self.options.publicKeyAlgorithms) else {
                notes.append(
                    "skipped \(identity.publicKey.type.sshName) key \(identity.label): its algorithm is not in PubkeyAcceptedAlgorithms"
                )
                return false
            }
            return true
        }
        let given = GivenSecrets()
        let auth = SSHUserAuthClient(
            user: self.options.user,
            host: self.options.host,
            peer: self.peer,
            order: self.options.authenticationOrder,
            identities: identities,
            password: credentials.password.map { source in
                { prompt in
                    given.password = source(prompt)
                    return given.password
                }
            },
            keyboardInteractive: credentials.keyboardInteractive.map { source in
                { name, instruction, prompts in
                    given.answers = source(name, instruction, prompts)
                    return given.answers
                }
            },
            sessionID: sessionID,
            notes: notes,
            acceptedAlgorithms: self.options.publicKeyAlgorithms
        )
        try self.authenticate(auth)
        self.relogin = Relogin(
            order: self.options.authenticationOrder.filter(auth.succeededMethods.contains),
            identities: auth.acceptedIdentities,
            password: auth.succeededMethods.contains(.password) ? given.password : nil,
            answers: auth.succeededMethods.contains(.keyboardInteractive)
                ? given.answers ?? given.password.map { [$0] } : nil
        )
    }

    /// sshkey.c `sshkey_check_rsa_length`: why an RSA key or certificate is too small
    /// (below 1024 bits, or below `minimum`), nil for a big enough one or another type.
    static func rsaSizeRefusal(_ key: SSHPublicKey, minimum: Int) -> String? {
        guard key.type.plainType == .rsa else { return nil }
        let least = max(1024, minimum)
        guard key.bits < least else { return nil }
        return "Invalid key length (RSA key of \(key.bits) bits, RequiredRSASize \(least))"
    }

    private func authenticate(_ auth: SSHUserAuthClient) throws(SSHProtocolError) {
        self.phase = .authenticating(auth)
        try self.send(auth.start())
        try self.pump("during authentication") { auth.isAuthenticated }
        self.authenticatedWith = auth.authenticatedWith ?? ""
        self.banners = auth.banners
    }

    private func agentIdentities(excluding known: Set<SSHPublicKey>) throws(SSHProtocolError) -> [SSHAuthIdentity] {
        let environment = getenv("SSH_AUTH_SOCK").map { String(cString: $0) }
        guard let path = self.options.credentials.agentSocket ?? environment, !path.isEmpty else { return [] }
        let agent = try SSHAgentClient(socketPath: path)
        return try SSHAuthIdentity.agentIdentities(agent).filter { !known.contains($0.publicKey) }
    }

    func send(_ payload: [UInt8]) throws(SSHProtocolError) {
        do {
            try self.transport.send(payload)
        } catch {
            throw self.named(error)
        }
    }

    /// Routes one message from the transport to the layer in charge.
    func dispatch(_ payload: [UInt8]) throws(SSHProtocolError) {
        switch self.phase {
        case .keyExchange:
            throw SSHProtocolError(
                .protocolViolation,
                "\(self.peer) sent message \(payload.first ?? 0) before the key exchange finished"
            )
        case .authenticating(let auth):
            auth.serverSignatureAlgorithms = self.transport.serverSignatureAlgorithms
            // Replies may carry a password or keyboard-interactive answers: once the transport
            // has encrypted them, zero the plaintext (unless a re-key holds it; then it lives on
            // until sent, see docs/security.md).
            var replies = try auth.receive(payload)
            defer { for i in replies.indices { secureWipe(&replies[i]) } }
            for reply in replies { try self.send(reply) }
            if auth.isAuthenticated { self.phase = .connected }
        case .connected:
            try self.connection.receive(payload)
        }
    }

    /// Moves bytes between the socket and the transport until `done` holds and every
    /// queued byte is written, within the idle and overall bounds.
    func pump(_ activity: String, idle: Double? = nil, until done: () -> Bool) throws(SSHProtocolError) {
        do {
            try self.runLoop(activity, idle: idle ?? self.options.idleTimeout, until: done)
        } catch {
            let named = self.named(error)
            self.failure = named
            throw named
        }
    }

    private func runLoop(_ activity: String, idle: Double, until done: () -> Bool) throws(SSHProtocolError) {
        var lastProgress = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            try self.keepAliveAndRekey()
            for payload in self.connection.takeOutbound() { try self.send(payload) }
            self.outgoing += self.transport.takeOutbound()
            if self.outgoingOffset == self.outgoing.count {
                self.outgoing.removeAll(keepingCapacity: true)
                self.outgoingOffset = 0
                if done() { return }
            }

            let now = ContinuousClock.now
            if now >= self.deadline {
                throw SSHProtocolError(
                    .timeout,
                    "\(self.peer) did not finish \(activity) within the \(seconds(self.options.overallTimeout))-second limit"
                )
            }
            let idleEnd = lastProgress + .seconds(idle)
            if now >= idleEnd {
                throw SSHProtocolError(
                    .timeout,
                    "\(self.peer) sent nothing for \(seconds(idle)) seconds \(activity)"
                )
            }
            let wantWrite = self.outgoingOffset < self.outgoing.count
            var waitEnd = min(self.deadline, idleEnd)
            if let alive = self.nextKeepalive { waitEnd = min(waitEnd, alive) }
            if let rekey = self.nextTimedRekey { waitEnd = min(waitEnd, rekey) }
            let events = try self.socket.wait(readable: true, writable: wantWrite, until: waitEnd)
            if events.writable && wantWrite {
                let written = self.socket.write(self.outgoing[self.outgoingOffset...])
                switch written {
                case .success(let n):
                    self.outgoingOffset += n
                    if n > 0 { lastProgress = ContinuousClock.now }
                case .failure(let error):
                    throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) broke: \(error)")
                }
            }
            if events.readable {
                switch self.socket.read(into: &buffer) {
                case .success(0):
                    throw SSHProtocolError(.disconnected, "\(self.peer) closed the connection \(activity)")
                case .success(let n):
                    lastProgress = ContinuousClock.now
                    // packet.c: anything from the server resets the unanswered keepalives.
                    self.unansweredKeepalives = 0
                    self.lastReceived = lastProgress
                    let received: [SSHTransportEvent]
                    do {
                        received = try self.transport.receive(buffer[..<n])
                    } catch {
                        throw self.named(error)
                    }
                    for event in received {
                        switch event {
                        case .ready(let sessionID): self.sessionID = sessionID
                        case .payload(let payload): try self.dispatch(payload)
                        }
                    }
                case .failure(let error) where error.wouldBlock:
                    continue
                case .failure(let error):
                    throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) broke: \(error)")
                }
            }
        }
    }

    /// When the next keepalive is due (ServerAliveInterval after the last bytes from the
    /// server or the last keepalive), once logged in; nil when off.
    private var nextKeepalive: ContinuousClock.Instant? {
        guard self.options.serverAliveInterval > 0, case .connected = self.phase else { return nil }
        let interval = Duration.seconds(self.options.serverAliveInterval)
        return max(self.lastReceived, self.lastKeepalive ?? self.lastReceived) + interval
    }

    /// When the keys are due for renewal by RekeyLimit's time; nil when no time is set.
    private var nextTimedRekey: ContinuousClock.Instant? {
        guard let limit = self.options.rekeyLimitSeconds, limit > 0, self.sessionID != nil else { return nil }
        return self.keysSince + .seconds(limit)
    }

    /// clientloop.c `server_alive_check`, and RekeyLimit's time: sends a keepalive when one
    /// is due, or gives up on a server that left ServerAliveCountMax of them unanswered;
    /// starts a re-key when the keys are old enough.
    private func keepAliveAndRekey() throws(SSHProtocolError) {
        let now = ContinuousClock.now
        if self.transport.completedKeyExchanges != self.keyExchangesSeen {
            self.keyExchangesSeen = self.transport.completedKeyExchanges
            self.keysSince = now
        }
        if let due = self.nextTimedRekey, now >= due, !self.transport.isExchangingKeys {
            try self.transport.startKeyExchange()
            self.keysSince = now
        }
        guard let due = self.nextKeepalive, now >= due else { return }
        if self.unansweredKeepalives >= self.options.serverAliveCountMax {
            let total = seconds(self.options.serverAliveInterval * Double(self.options.serverAliveCountMax + 1))
            throw SSHProtocolError(
                .timeout,
                "Timeout, server \(self.options.host) not responding: \(self.options.serverAliveCountMax) keepalives (ServerAliveInterval \(seconds(self.options.serverAliveInterval)), ServerAliveCountMax \(self.options.serverAliveCountMax)) went unanswered for \(total) seconds"
            )
        }
        self.connection.sendKeepalive()
        self.unansweredKeepalives += 1
        self.lastKeepalive = now
    }

    /// The error with the server named, if its message does not name it already.
    func named(_ error: SSHProtocolError) -> SSHProtocolError {
        if error.message.contains(self.options.host) { return error }
        return SSHProtocolError(error.code, "\(self.peer): \(error.message)")
    }
}

/// Seconds for messages: `10`, `2.5`.
func seconds(_ value: Double) -> String {
    value == value.rounded() && value < 1e9 ? String(Int(value)) : String(value)
}
