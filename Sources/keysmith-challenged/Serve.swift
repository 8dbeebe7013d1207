import ArgumentParser
import ChallengeService
import CommandLineText
import KeyVerify
import Logging
import SSHConnect

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve challenge verification over HTTP/1.1 until SIGTERM or SIGINT.",
        discussion: """
            POST /v1/challenges issues a token ({"ttl": seconds} optional); POST \
            /v1/verifications checks {"token", "response", "from"} and uses the token up; \
            GET /healthz says whether the store answers; GET /metrics gives Prometheus \
            metrics. Replicas sharing one --state accept each token once. The \
            authorized_keys file is read again when it changes. Serve TLS through a reverse \
            proxy (docs/challenge-service.md). Logs go to standard error, one key=value line \
            per event.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The address and port to listen on (127.0.0.1:0 lets the system choose).",
            valueName: "addr:port"
        )
    )
    var listen: String

    @OptionGroup var state: StateOptions

    @Option(
        name: .customLong("authorized-keys"),
        help: ArgumentHelp("The authorized_keys file listing the keys allowed to answer.", valueName: "file")
    )
    var authorizedKeys: String

    @Option(
        help: ArgumentHelp(
            "Seconds a token stays valid when a request names no ttl (default 300).",
            valueName: "seconds"
        )
    )
    var ttl: Int64 = ChallengeVerifier.defaultLifetime

    @Option(
        name: .customLong("max-body"),
        help: ArgumentHelp("The largest request body accepted (default 65536).", valueName: "bytes")
    )
    var maxBody: Int = 64 * 1024

    @Option(
        help: ArgumentHelp(
            "Seconds a connection may take to send a whole request, or stay idle (default 10).",
            valueName: "seconds"
        )
    )
    var timeout: Int64 = 10

    @Option(
        name: .customLong("port-file"),
        help: ArgumentHelp("A file to write the port to once listening.", valueName: "file")
    )
    var portFile: String?

    @Option(
        name: .customLong("user"),
        help: ArgumentHelp(
            "The user a certificate must name, as sshd's login user (default: the user running the service).",
            valueName: "name"
        )
    )
    var user: String?

    @Option(
        name: .customLong("revoked-keys"),
        help: ArgumentHelp(
            "Keys, certificates and CA keys refused: a KRL or a list of public keys (sshd's RevokedKeys).",
            valueName: "file"
        )
    )
    var revokedKeys: String?

    /// `--listen`'s host and port: `HOST:PORT` or `[IPV6]:PORT`.
    var address: (host: String, port: Int)? {
        guard let colon = self.listen.lastIndex(of: ":") else { return nil }
        var host = String(self.listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(self.listen[self.listen.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        return (host, port)
    }

    func validate() throws {
        guard self.address != nil else { throw ValidationError("--listen takes ADDRESS:PORT, such as 127.0.0.1:8080") }
        guard self.ttl > 0 && self.ttl <= 366 * 86400 else {
            throw ValidationError("--ttl must be between 1 second and a year")
        }
        guard self.maxBody >= 1024 && self.maxBody <= 16 << 20 else {
            throw ValidationError("--max-body must be between 1024 bytes and 16 MiB")
        }
        guard self.timeout >= 1 && self.timeout <= 3600 else {
            throw ValidationError("--timeout must be between 1 second and an hour")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label, level: .info) }
        let logger = Logger(label: "keysmith-challenged")
        guard let address = self.address else { throw ExitCode.validationFailure }
        var service: ChallengeService?
        var shutdown: ChallengeStores.Shutdown = {}
        try await reportingFailures {
            let (store, close) = try await ChallengeStores.open(
                state: self.state.location,
                audience: self.state.audience,
                logger: logger,
                timeout: .seconds(self.state.storeTimeout)
            )
            shutdown = close
            do {
                let verifier = try await store.verifier(audience: self.state.audience)
                service = try ChallengeService(
                    configuration: .init(
                        host: address.host,
                        port: address.port,
                        authorizedKeysPath: expandTilde(self.authorizedKeys),
                        revokedKeysPath: self.revokedKeys.map(expandTilde),
                        user: self.user ?? localUserName(),
                        defaultLifetime: self.ttl,
                        maxBodySize: self.maxBody,
                        timeout: self.timeout,
                        portFile: self.portFile.map(expandTilde)
                    ),
                    store: store,
                    verifier: verifier,
                    logger: logger
                )
            } catch {
                await close()
                throw error
            }
        }
        guard let service else { return }
        do {
            try await service.run()
        } catch {
            await shutdown()
            printError("keysmith: \(sentence("the service stopped: \(error)"))")
            throw ExitCode(1)
        }
        await shutdown()
    }
}
