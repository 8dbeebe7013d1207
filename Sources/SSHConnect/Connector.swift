public import SSHKeys
public import SSHProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shows how a run over hosts goes while it runs (keysmith: a progress line on a terminal).
public protocol FleetReporter: Sendable {
    /// A host ended: `ended` of `total` have. Calls never overlap.
    func hostEnded(_ ended: Int, of total: Int)
    /// Every host has ended.
    func runEnded()
}

/// Connects and logs in to the hosts of one run, by ``ConnectionSettings``, asking what
/// must be asked through one ``Prompter``.
///
/// What the hosts of a run share lives here: the identity files and their passphrases
/// (``IdentityStore``), and a lock so that host keys are checked, confirmed and recorded in
/// known_hosts one host at a time.
public final class Connector: Sendable {
    public let settings: ConnectionSettings
    public let prompter: any Prompter
    public let events: ConnectionEvents
    public let identities: IdentityStore
    private let environment: @Sendable (String) -> String?
    private let hostKeyLock = Mutex(())

    /// - Parameters:
    ///   - extraKeys: keys offered before the identity files (rotate's old key).
    ///   - environment: looks up an environment variable (SSH_AUTH_SOCK); the process's own by default.
    public init(
        settings: ConnectionSettings,
        prompter: any Prompter,
        events: ConnectionEvents = ConnectionEvents(),
        extraKeys: [(label: String, key: SSHPrivateKey)] = [],
        environment: @escaping @Sendable (String) -> String? = SystemPrompter.processEnvironment
    ) {
        self.settings = settings
        self.prompter = prompter
        self.events = events
        self.identities = IdentityStore(extraKeys: extraKeys, prompter: prompter, events: events)
        self.environment = environment
    }

    /// Where passwords come from in a run over `hosts` hosts (see ``PasswordSource/forRun(hosts:standardInput:prompter:events:)``).
    public func passwordSource(hosts: Int) throws(SSHConnectError) -> PasswordSource {
        try PasswordSource.forRun(
            hosts: hosts,
            standardInput: self.settings.passwordStdin ? StandardInputPrompter() : nil,
            prompter: self.prompter,
            events: self.events
        )
    }

    /// Everything a connection to `config`'s host needs: algorithms, credentials, the
    /// order of methods and the host key check.
    ///
    /// - Parameter onlyKey: log in with this key alone (publickey, no agent, no password):
    ///   the proof of a rotation.
    public func clientOptions(
        _ config: SSHResolvedConfig,
        password: PasswordSource,
        onlyKey: (label: String, key: SSHPrivateKey)? = nil
    ) throws(SSHProtocolError) -> SSHClientOptions {
        var policy = HostKeyPolicy(
            config: config,
            log: self.events.diagnostic,
            ask: { [prompter] in prompter.askVisible($0) }
        )
        policy.caSignatureAlgorithms = try config.certificateSignatureAlgorithms()
        var algorithms = try config.algorithms()
        if config.hostKeyAlgorithms == nil {
            algorithms.hostKey = try policy.orderingHostKeyAlgorithms(algorithms.hostKey)
        }
        var credentials: SSHCredentials
        var order = config.preferredAuthentications
        let agentSocket: String? =
            switch config.identityAgent {
            case .environment(let name): self.environment(name)
            case .none: nil
            case .socket(let path): path
            }
        if let onlyKey {
            credentials = SSHCredentials(keys: [onlyKey])
            order = [.publicKey]
        } else {
            credentials = CredentialPolicy.credentials(
                for: config,
                password: password,
                keys: self.identities.identities(config),
                useAgent: !config.identitiesOnly && !(agentSocket ?? "").isEmpty,
                prompter: self.prompter,
                events: self.events
            )
            credentials.agentSocket = agentSocket
            credentials.certificates = self.identities.certificates(config)
        }
        let providerPath = SecurityKeySigning.providerPath(
            configured: config.securityKeyProvider,
            environment: self.environment
        )
        credentials.securityKeySigner = { [prompter, events] label, key in
            SecurityKeySigning.loginSigner(
                label: label,
                key: key,
                providerPath: providerPath,
                batch: config.batchMode,
                prompter: prompter,
                events: events
            ) ?? SSHKeySigner(key)
        }
        // known_hosts is read, asked about and rewritten by one host at a time.
        let verifier = policy.verifier
        var options = SSHClientOptions(
            host: config.hostName,
            port: config.port,
            user: config.user,
            algorithms: algorithms,
            credentials: credentials,
            authenticationOrder: order,
            connectTimeout: config.connectTimeout ?? 10,
            hostKeyVerifier: { [self] (key: SSHPublicKey) throws(SSHProtocolError) -> Void in
                try self.hostKeyLock.withLock { _ throws(SSHProtocolError) -> Void in try verifier(key) }
            }
        )
        // CheckHostIP: the policy also sees the address a direct connection went to.
        let addressed = policy.addressedVerifier
        options.addressedHostKeyVerifier = { [self] (key: SSHPublicKey, address: String?) throws(SSHProtocolError) in
            try self.hostKeyLock.withLock { _ throws(SSHProtocolError) -> Void in try addressed(key, address) }
        }
        options.addressFamily = config.addressFamily
        options.bindAddress = config.bindAddress
        options.bindInterface = config.bindInterface
        options.connectionAttempts = config.connectionAttempts
        options.serverAliveInterval = Double(config.serverAliveInterval)
        options.serverAliveCountMax = config.serverAliveCountMax
        options.rekeyLimitBytes = config.rekeyLimitBytes ?? 0
        options.rekeyLimitSeconds = config.rekeyLimitSeconds.map(Double.init)
        options.environment = self.sentEnvironment(config)
        options.publicKeyAlgorithms = try config.publicKeyAlgorithms()
        if config.noHostAuthenticationForLocalhost { options.loopbackHostKeyVerifier = policy.loopbackVerifier }
        options.requiredRSASize = config.requiredRSASize
        return options
    }

    /// SetEnv's pairs, then the local variables SendEnv's patterns name (ssh.c
    /// `ssh_session2_setup` sends both; SetEnv's win for a name in both).
    func sentEnvironment(_ config: SSHResolvedConfig) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = config.setEnv.map { assignment in
            let name = assignment.prefix { $0 != "=" }
            return (String(name), String(assignment.dropFirst(name.count + 1)))
        }
        guard !config.sendEnv.isEmpty else { return out }
        for name in Self.environmentNames() where !out.contains(where: { $0.name == name }) {
            guard
                config.sendEnv.contains(where: { HostPattern.matches(Array(name.utf8), glob: Array($0.utf8)) }),
                let value = self.environment(name)
            else { continue }
            out.append((name, value))
        }
        return out
    }

    /// Connects and authenticates to one host.
    public func connect(
        _ config: SSHResolvedConfig,
        password: PasswordSource,
        onlyKey: (label: String, key: SSHPrivateKey)? = nil
    ) throws -> SSHClient {
        try self.connect(config, password: password, onlyKey: onlyKey, path: [])
    }

    /// The most jump hosts one connection goes through. ssh itself has no bound: it refuses
    /// only a hop that is its own destination, and a loop through ssh_config (`Host a`
    /// `ProxyJump b`, `Host b` `ProxyJump a`) starts ssh after ssh without end.
    public static let maximumJumpHosts = 16

    private func connect(
        _ config: SSHResolvedConfig,
        password: PasswordSource,
        onlyKey: (label: String, key: SSHPrivateKey)?,
        path: [SSHResolvedConfig]
    ) throws -> SSHClient {
        var options = try self.clientOptions(config, password: password, onlyKey: onlyKey)
        let stream = try self.stream(to: config, password: password, path: path + [config])
        if self.settings.verbose {
            options.reconnecting = { [events] reason in
                events.diagnostic("keysmith: \(reason); logging in again on a new connection")
            }
            self.events.diagnostic(
                "keysmith: connecting to \(KnownHostsFormat.hostName(config.hostName, port: config.port)) as \(config.user)"
                    + (stream.map { " through \($0.label)" } ?? "")
            )
        }
        // A fresh connection (a server allowing one session per connection) takes the same route.
        let reopen: () throws(SSHProtocolError) -> SSHByteStream = { () throws(SSHProtocolError) in
            do {
                guard let stream = try self.stream(to: config, password: password, path: path + [config]) else {
                    throw SSHProtocolError(.connectionFailed, "no route to \(config.host) could be made again")
                }
                return stream
            } catch let error as SSHProtocolError {
                throw error
            } catch {
                throw SSHProtocolError(.connectionFailed, "\(error)")
            }
        }
        let client = try SSHClient.connect(options, over: stream, reopen: reopen)
        if self.settings.verbose {
            if let negotiated = client.negotiatedAlgorithms {
                for line in negotiated.verboseLines { self.events.diagnostic("keysmith: \(line)") }
            }
            self.events.diagnostic(
                "keysmith: authenticated with \(client.authenticatedWith); host key \(client.hostKey.type.displayName) \(client.hostKey.fingerprint())"
            )
        }
        return client
    }

    /// What carries the connection to `config`'s host when it is not a TCP connection of
    /// its own: its ProxyJump's last hop, connected (through the hops before it) and asked
    /// for a `direct-tcpip` tunnel, or its ProxyCommand; nil for a direct connection.
    /// `path` holds the hosts the connection is for, the destination first.
    private func stream(
        to config: SSHResolvedConfig,
        password: PasswordSource,
        path: [SSHResolvedConfig]
    ) throws -> SSHByteStream? {
        if let jump = config.proxyJump, let last = jump.hops.last {
            let hop = try self.settings.resolveJumpHost(last, jump: jump.leadingText)
            if let repeated = path.first(where: {
                $0.hostName.lowercased() == hop.hostName.lowercased() && $0.port == hop.port && $0.user == hop.user
            }) {
                let route = (path.map(\.host) + [hop.host]).joined(separator: " <- ")
                throw SSHProtocolError(
                    .invalidConfiguration,
                    "jump host loop via \(last): \(repeated.host) would be reached through itself (\(route))"
                )
            }
            guard path.count <= Self.maximumJumpHosts else {
                throw SSHProtocolError(
                    .invalidConfiguration,
                    "more than \(Self.maximumJumpHosts) jump hosts lead to \(path[0].host) (\(path.map(\.host).joined(separator: " <- ")))"
                )
            }
            let client = try self.connect(hop, password: password, onlyKey: nil, path: path)
            // ssh -W waits for the tunnel within the destination's ConnectTimeout.
            return try client.openTunnel(host: config.hostName, port: config.port, timeout: config.connectTimeout ?? 10)
        }
        if let command = config.proxyCommand {
            if config.proxyUseFdpass {
                return try SSHByteStream.proxyCommandPassingDescriptor(command, connectTimeout: config.connectTimeout)
            }
            return try SSHByteStream.proxyCommand(command, connectTimeout: config.connectTimeout)
        }
        return nil
    }

    /// Resolves `destination`, connects and logs in, and runs `body` on the connection,
    /// closing it afterwards: one host's step of ``run(_:password:reporter:_:)``, and the
    /// whole run when there is one host whose output is printed as it comes.
    public func withConnection<Value>(
        to destination: String,
        password: PasswordSource,
        _ body: (SSHResolvedConfig, SSHClient) throws -> Value
    ) throws -> Value {
        let config = try self.settings.resolve(destination)
        let client = try self.connect(config, password: password)
        defer { client.close() }
        return try body(config, client)
    }

    /// Connects to every destination, at most ``ConnectionSettings/parallel`` at a time
    /// (one host runs on the calling thread), and runs `work` on each connection.
    ///
    /// - Parameters:
    ///   - password: where passwords come from (see ``passwordSource(hosts:)``).
    ///   - reporter: told as hosts end, and when all have.
    ///   - work: the job on one host: its destination as written, its configuration and
    ///     the logged-in client (closed afterwards); what it throws is that host's failure.
    /// - Returns: one result per destination, in the order given.
    public func run<Value: Sendable>(
        _ destinations: [String],
        password: PasswordSource,
        reporter: (any FleetReporter)? = nil,
        _ work: @escaping @Sendable (String, SSHResolvedConfig, SSHClient) throws -> Value
    ) -> [Fleet.HostResult<Value>] {
        var progress: (@Sendable (Int, Int) -> Void)? = nil
        if let reporter { progress = { ended, total in reporter.hostEnded(ended, of: total) } }
        let job: @Sendable (String) throws -> Value = { [self] destination in
            try self.withConnection(to: destination, password: password) { config, client in
                try work(destination, config, client)
            }
        }
        let results = Fleet.run(destinations, parallel: self.settings.parallel, progress: progress, job)
        reporter?.runEnded()
        return results
    }

    /// The names of this process's environment variables, in environ(7)'s order.
    static func environmentNames() -> [String] {
        var names: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            names.append(String(text.prefix { $0 != "=" }))
            cursor += 1
        }
        return names
    }
}
