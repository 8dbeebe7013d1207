public import SSHCrypto
public import SSHKeys

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
        useAgent: Bool = false,
        agentSocket: String? = nil,
        password: (@Sendable (String) -> SecureBytes?)? = nil,
        keyboardInteractive: (@Sendable (String, String, [(String, Bool)]) -> [SecureBytes]?)? = nil
    ) {
        self.keys = keys
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
    /// Decides about the server's host key; throwing refuses it.
    public var hostKeyVerifier: @Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void

    public init(
        host: String,
        port: Int = 22,
        user: String,
        algorithms: SSHAlgorithms = .clientDefaults,
        credentials: SSHCredentials,
        authenticationOrder: [SSHAuthenticationMethod] = [.publicKey, .keyboardInteractive, .password],
        connectTimeout: Double = 10,
        overallTimeout: Double = 120,
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
/// session channels. Drives ``SSHClientTransport`` and the userauth and connection
/// layers over a socket with poll(2), under the options' time limits.
public final class SSHClient {
    /// Connects, exchanges keys, verifies the host key and authenticates.
    /// - Throws: `SSHProtocolError` (connectionFailed, timeout, hostKeyRejected, authenticationFailed, …).
    public static func connect(_ options: SSHClientOptions) throws(SSHProtocolError) -> SSHClient {
        fatalError("unimplemented")
    }

    /// The authentication method that succeeded, and for publickey the key's label.
    public var authenticatedWith: String { fatalError("unimplemented") }

    /// The server's host key.
    public var hostKey: SSHPublicKey { fatalError("unimplemented") }

    /// Runs `command` on a new session channel, sends `stdin` then EOF, and collects
    /// output until the channel closes (window and flow control handled).
    public func exec(_ command: String, stdin: [UInt8] = []) throws(SSHProtocolError) -> SSHExecResult {
        fatalError("unimplemented")
    }

    /// Disconnects politely and closes the socket.
    public func close() { fatalError("unimplemented") }
}
