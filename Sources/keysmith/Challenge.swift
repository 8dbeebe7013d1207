import ArgumentParser
import CommandLineText
import KeyVerify
import SSHConnect
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Challenge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "challenge",
        abstract: "Prove who holds a key: issue a challenge, answer it, verify the answer.",
        discussion: """
            The server issues a token naming its audience (the server's name or URL), the \
            client signs it with its SSH key (keysmith challenge respond --audience NAME, \
            which refuses a token for another audience), and the server verifies the \
            signature, the audience, that the key is in its authorized_keys file with the \
            entry's options honoured, and that the token is used only once. \
            printf %s TOKEN | ssh-keygen -Y sign -n challenge@keysmith -f KEY answers too, \
            but signs without looking at the audience.
            """,
        subcommands: [Issue.self, Respond.self, Verify.self, Serve.self]
    )

    /// `--state`: where the secret and the used-token records live.
    struct StateOptions: ParsableArguments {
        @Option(
            name: .customLong("state"),
            help: ArgumentHelp(
                "State directory (default $XDG_STATE_HOME/keysmith/challenge or ~/.local/state/keysmith/challenge).",
                valueName: "dir"
            )
        )
        var directory: String?

        @Option(
            help: ArgumentHelp(
                "This server's name or URL, put in every token and required of every token verified; kept in the state directory on first use, which then refuses another.",
                valueName: "name"
            )
        )
        var audience: String?

        @Option(
            name: .customLong("store-timeout"),
            help: ArgumentHelp(
                "Seconds a database store may take to answer (default 10); for postgres:// states only.",
                valueName: "seconds"
            )
        )
        var storeTimeout: Int?

        /// Whether `--state` names a database (`postgres://…`) rather than a directory: the
        /// commands then run in keysmith-challenged, which links the database client.
        var isDatabase: Bool {
            guard let directory else { return false }
            return directory.hasPrefix("postgres://") || directory.hasPrefix("postgresql://")
        }

        var path: String {
            if let directory { return expandTilde(directory) }
            if let xdg = getenv("XDG_STATE_HOME"), xdg.pointee != 0 {
                return String(cString: xdg) + "/keysmith/challenge"
            }
            return (KeyFileIO.homeDirectory() ?? ".") + "/.local/state/keysmith/challenge"
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue",
            abstract: "Print a new challenge token.",
            discussion: """
                The token holds a random nonce, its issue time, its expiry and the audience, \
                authenticated with this server's secret (created in the state directory on \
                first use), so verifying needs no record of issued tokens. The first use of a \
                state directory needs --audience.
                """
        )

        @OptionGroup var state: StateOptions

        @Option(help: ArgumentHelp("Seconds the token stays valid (default 300).", valueName: "seconds"))
        var ttl: Int64 = ChallengeVerifier.defaultLifetime

        func run() throws {
            if self.state.isDatabase {
                try reportingFailures { try runChallengeService("issue") }
                return
            }
            try reportingChallengeFailures {
                let verifier = try ChallengeVerifier(stateDirectory: self.state.path, audience: self.state.audience)
                writeOut(try verifier.issue(lifetime: self.ttl).text + "\n")
            }
        }
    }

    struct Respond: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "respond",
            abstract: "Answer a challenge token with a private key.",
            discussion: """
                Prints an armoured SSH signature of the token in the namespace \
                challenge@keysmith, as ssh-keygen -Y sign makes it, after checking that the \
                token is for the audience given with --audience: a token for another audience \
                is refused, since signing it would let whoever passed it on log in there as \
                you. On a terminal the audience is shown on standard error before signing. \
                A security key signs on its authenticator, through the provider of -w, else \
                SSH_SK_PROVIDER, else libfido2.
                """
        )

        @Option(
            name: .customShort("f", allowingJoined: true),
            help: ArgumentHelp("Private key file.", valueName: "file")
        )
        var keyFile: String

        @Option(
            name: .customShort("P", allowingJoined: true),
            help: ArgumentHelp("Passphrase of the private key.", valueName: "passphrase")
        )
        var passphrase: String?

        @Option(
            help: ArgumentHelp(
                "The name or URL of the server you mean to answer; a token for another is refused.",
                valueName: "name"
            )
        )
        var audience: String

        @OptionGroup var securityKey: SecurityKeyProviderOption

        @Argument(help: ArgumentHelp("The token, as issued.", valueName: "token"))
        var token: String

        func run() throws {
            try reportingChallengeFailures {
                // The token and its audience first: nothing is asked or read for a token
                // that would be refused.
                let parsed = try ChallengeToken(text: self.token)
                try KeyVerify.Challenge.checkAudience(parsed, expected: self.audience)
                if isatty(2) == 1 { printError("keysmith: signing a challenge for the audience \(parsed.audience)") }
                let path = try signingKeyPath(expandTilde(self.keyFile))
                let (key, _) = try loadPrivateKey(path: path, passphrase: self.passphrase)
                let signer = try signerPresentingCertificate(
                    keySigner(for: key, provider: self.securityKey),
                    given: expandTilde(self.keyFile)
                )
                writeOut(try KeyVerify.Challenge.respond(to: self.token, signer: signer, audience: self.audience))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a response to a challenge token.",
            discussion: """
                Checks the token's MAC, audience and expiry, the signature and its namespace, that the \
                key is in the authorized_keys file with its options honoured (from= against \
                --from, expiry-time=; for a security key, user presence unless no-touch-required \
                and user verification where verify-required, as sshd asks), and that the token \
                has not been used: a token is used \
                up by its first successful verification. On success prints the key's \
                fingerprint and comment and exits 0; otherwise prints one sentence and exits 1. \
                The response is read from --response-file (- for standard input); a service \
                should use it, so that text a client sent is never taken for a path. Given \
                after the token instead, RESPONSE is a file holding the signature, - for \
                standard input, or the signature text itself. A response signed with a user \
                certificate is accepted as sshd accepts the certificate for a login as \
                --user (by default the user running keysmith): through a cert-authority line \
                holding its CA key whose principals= list, else the user name, is one of the \
                certificate's principals, with its validity, source-address (against --from) \
                and critical options checked. With --revoked-keys, a key, certificate or \
                certificate's CA listed there (a KRL or a list of public keys) is refused.
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

        func run() throws {
            if self.state.isDatabase {
                try reportingFailures { try runChallengeService("verify") }
                return
            }
            try reportingChallengeFailures {
                let path = expandTilde(self.authorizedKeys)
                let keys = try AuthorizedKeysFile(path: path)
                for warning in keys.warnings { printError("keysmith: \(warning)") }
                let revoked = try self.revokedKeys.map { try RevokedKeys(path: expandTilde($0)) }
                let verifier = try ChallengeVerifier(stateDirectory: self.state.path, audience: self.state.audience)
                let result = try verifier.verify(
                    token: self.token,
                    response: try self.responseText(),
                    authorizedKeys: keys,
                    from: self.address,
                    user: self.user ?? localUserName(),
                    revokedKeys: revoked
                )
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
}

extension Challenge {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Issue and verify challenges over HTTP, for services on any number of machines.",
            discussion: """
                An HTTP/1.1 JSON API: POST /v1/challenges issues a token, POST \
                /v1/verifications checks {"token", "response", "from"} as challenge verify \
                does, GET /healthz says whether the store answers and GET /metrics gives \
                Prometheus counters. --state is a directory (one machine) or \
                postgres://user@host/db, a PostgreSQL database every replica shares, so that \
                each token is accepted once whichever replica sees it. Runs \
                keysmith-challenged, installed beside keysmith (docs/challenge-service.md).
                """
        )

        @Option(help: ArgumentHelp("The address and port to listen on.", valueName: "addr:port"))
        var listen: String

        @Option(
            help: ArgumentHelp(
                "The store: a state directory or postgres://user@host[:port]/database.",
                valueName: "dir|url"
            )
        )
        var state: String

        @Option(
            name: .customLong("authorized-keys"),
            help: ArgumentHelp("The authorized_keys file listing the keys allowed to answer.", valueName: "file")
        )
        var authorizedKeys: String

        @Option(help: ArgumentHelp("This server's name or URL, required on the store's first use.", valueName: "name"))
        var audience: String?

        @Option(help: ArgumentHelp("Seconds a token stays valid (default 300).", valueName: "seconds"))
        var ttl: Int64?

        @Option(
            name: .customLong("max-body"),
            help: ArgumentHelp("The largest request body accepted, in bytes (default 65536).", valueName: "bytes")
        )
        var maxBody: Int?

        @Option(help: ArgumentHelp("Seconds a client may stay idle or slow (default 10).", valueName: "seconds"))
        var timeout: Int?

        @Option(
            name: .customLong("store-timeout"),
            help: ArgumentHelp("Seconds a database store may take to answer (default 10).", valueName: "seconds")
        )
        var storeTimeout: Int?

        @Option(
            name: .customLong("user"),
            help: ArgumentHelp("The user a certificate must name (default: the user running it).", valueName: "name")
        )
        var user: String?

        @Option(
            name: .customLong("revoked-keys"),
            help: ArgumentHelp(
                "Keys, certificates and CA keys refused: a KRL or a list of public keys.",
                valueName: "file"
            )
        )
        var revokedKeys: String?

        @Option(
            name: .customLong("port-file"),
            help: ArgumentHelp("Write the port listened on to this file (for a port of 0).", valueName: "file")
        )
        var portFile: String?

        func run() throws {
            try reportingFailures { try runChallengeService("serve") }
        }
    }
}

/// Replaces this process with keysmith-challenged running `command` with the arguments
/// keysmith was given after `challenge COMMAND`: the HTTP service and the database store
/// link SwiftNIO, which the keysmith executable leaves out to start as fast as ssh-keygen.
/// Returns only by throwing.
private func runChallengeService(_ command: String) throws -> Never {
    let arguments = CommandLine.arguments
    var rest: [String] = []
    if let index = arguments.firstIndex(of: "challenge"), index + 2 <= arguments.count {
        rest = Array(arguments[(index + 2)...])
    }
    let path = challengeServicePath()
    let argv = [path, command] + rest
    let cArguments = argv.map { strdup($0) } + [nil]
    execv(path, cArguments)
    let reason = String(cString: strerror(errno))
    throw Failure(
        "cannot run keysmith-challenged (\(path)): \(reason); install it beside keysmith with make install, or name it in KEYSMITH_CHALLENGED"
    )
}

/// `$KEYSMITH_CHALLENGED` when set, else `keysmith-challenged` beside this program, else in
/// `../libexec/keysmith/` from this program's directory (where `make install` puts it).
private func challengeServicePath() -> String {
    if let value = getenv("KEYSMITH_CHALLENGED"), value.pointee != 0 { return String(cString: value) }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let program = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    let directory = String(program[..<(program.lastIndex(of: "/") ?? program.startIndex)])
    let beside = directory + "/keysmith-challenged"
    if access(beside, X_OK) == 0 { return beside }
    let installed = directory + "/../libexec/keysmith/keysmith-challenged"
    return access(installed, X_OK) == 0 ? installed : beside
}

/// ``reportingFailures`` that also turns a `KeyVerifyError` into one sentence and exit 1.
private func reportingChallengeFailures(_ body: () throws -> Void) throws {
    try reportingFailures {
        do {
            try body()
        } catch let error as KeyVerifyError {
            throw Failure(error.message)
        }
    }
}
