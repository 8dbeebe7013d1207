import ArgumentParser
import ChallengeService
import CommandLineText
import KeyVerify
import Logging
import SSHConnect
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `--state` and `--audience`, as keysmith challenge takes them, where the state may also be
/// a database URL.
struct StateOptions: ParsableArguments {
    @Option(
        name: .customLong("state"),
        help: ArgumentHelp(
            "State directory or postgres:// URL (default $XDG_STATE_HOME/keysmith/challenge or ~/.local/state/keysmith/challenge).",
            valueName: "state"
        )
    )
    var state: String?

    @Option(
        help: ArgumentHelp(
            "This server's name or URL, put in every token and required of every token verified; kept in the store on first use, which then refuses another.",
            valueName: "name"
        )
    )
    var audience: String?

    @Option(
        name: .customLong("store-timeout"),
        help: ArgumentHelp(
            "Seconds a database store may take to answer before the verification is refused as unavailable (default 10).",
            valueName: "seconds"
        )
    )
    var storeTimeout: Int = 10

    func validate() throws {
        guard self.storeTimeout >= 1 && self.storeTimeout <= 600 else {
            throw ValidationError("--store-timeout must be between 1 second and 10 minutes")
        }
    }

    /// The state as ChallengeStores.open takes it: a URL as given, a path with `~` expanded.
    var location: String {
        if let state { return state.contains("://") ? state : expandTilde(state) }
        if let xdg = getenv("XDG_STATE_HOME"), xdg.pointee != 0 {
            return String(cString: xdg) + "/keysmith/challenge"
        }
        return (KeyFileIO.homeDirectory() ?? ".") + "/.local/state/keysmith/challenge"
    }

    /// Opens the store, runs `body` with it and its verifier, and shuts the store down.
    func withStore<T>(
        logger: Logger,
        _ body: (any ChallengeStore, ChallengeVerifier) async throws -> T
    ) async throws -> T {
        let (store, shutdown) = try await ChallengeStores.open(
            state: self.location,
            audience: self.audience,
            logger: logger,
            timeout: .seconds(self.storeTimeout)
        )
        do {
            let verifier = try await store.verifier(audience: self.audience)
            let result = try await body(store, verifier)
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }
}

/// A logger for the store of a one-shot command: its warnings only, on stderr.
func commandLogger() -> Logger {
    Logger(label: "keysmith-challenged") { label in KeyValueLogHandler(label: label, level: .warning) }
}

struct Issue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Print a new challenge token.",
        discussion: """
            As keysmith challenge issue: the token holds a random nonce, its issue time, its \
            expiry and the audience, authenticated with the store's secret (created on \
            first use, which needs --audience).
            """
    )

    @OptionGroup var state: StateOptions

    @Option(help: ArgumentHelp("Seconds the token stays valid (default 300).", valueName: "seconds"))
    var ttl: Int64 = ChallengeVerifier.defaultLifetime

    func run() async throws {
        try await reportingFailures {
            let token = try await self.state.withStore(logger: commandLogger()) { _, verifier in
                try verifier.issue(lifetime: self.ttl)
            }
            writeOut(token.text + "\n")
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a response to a challenge token.",
        discussion: """
            As keysmith challenge verify, recording the token's use in the store: on success \
            prints the key's fingerprint and comment and exits 0; otherwise prints one \
            sentence and exits 1. The response is read from --response-file (- for standard \
            input); given after the token instead, RESPONSE is a file holding the signature, \
            - for standard input, or the signature text itself.
            """
    )

    @OptionGroup var state: StateOptions

    @Option(
        name: .customLong("authorized-keys"),
        help: ArgumentHelp("The authorized_keys file listing the keys allowed to answer.", valueName: "file")
    )
    var authorizedKeys: String

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp("The client's IP address, matched against from= options.", valueName: "addr")
    )
    var address: String?

    @Option(
        name: .customLong("user"),
        help: ArgumentHelp(
            "The user a certificate must name, as sshd's login user (default: the user running keysmith).",
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

    @Flag(help: "Print {fingerprint, comment, type, line} as JSON.")
    var json = false

    @Argument(help: ArgumentHelp("The token, as issued.", valueName: "token"))
    var token: String

    @Option(
        name: .customLong("response-file"),
        help: ArgumentHelp("The file holding the response (- for standard input).", valueName: "file")
    )
    var responseFile: String?

    @Argument(
        help: ArgumentHelp(
            "The response, when --response-file is not given: a file, - for standard input, or the text.",
            valueName: "response"
        )
    )
    var response: String?

    func validate() throws {
        switch (self.responseFile, self.response) {
        case (nil, nil): throw ValidationError("give the response with --response-file FILE")
        case (.some, .some):
            throw ValidationError("give the response either with --response-file or after the token")
        default: break
        }
    }

    func run() async throws {
        try await reportingFailures {
            let keys = try AuthorizedKeysFile(path: expandTilde(self.authorizedKeys))
            for warning in keys.warnings { printError("keysmith: \(warning)") }
            let revoked = try self.revokedKeys.map { try RevokedKeys(path: expandTilde($0)) }
            let response = try self.responseText()
            let result = try await self.state.withStore(logger: commandLogger()) { store, verifier in
                try await verifier.verify(
                    token: self.token,
                    response: response,
                    authorizedKeys: keys,
                    in: store,
                    from: self.address,
                    user: self.user ?? localUserName(),
                    revokedKeys: revoked
                )
            }
            let fingerprint = result.fingerprint.description
            if self.json {
                let object = JSON.object([
                    ("fingerprint", .string(fingerprint)), ("comment", .string(orNull: result.comment)),
                    ("type", .string(result.key.type.sshName)), ("line", .int(result.entry.lineNumber)),
                ])
                writeOut(object.text + "\n")
            } else {
                writeOut(fingerprint + " " + escapeForTerminal(result.comment ?? "no comment") + "\n")
            }
        }
    }

    private func responseText() throws -> String {
        if let file = self.responseFile {
            let bytes = file == "-" ? try readStandardInput() : try KeyFileIO.readFile(expandTilde(file))
            return String(decoding: bytes, as: UTF8.self)
        }
        let response = self.response ?? ""
        if response.hasPrefix("-----BEGIN") { return response }
        let bytes = response == "-" ? try readStandardInput() : try KeyFileIO.readFile(expandTilde(response))
        return String(decoding: bytes, as: UTF8.self)
    }
}
