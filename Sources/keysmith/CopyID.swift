import ArgumentParser
import CommandLineText
import KeyDeploy
import SSHConnect
import SSHKeys
import SSHProtocol

struct CopyID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-id",
        abstract: "Install public keys in remote authorized_keys files (ssh-copy-id), over keysmith's own SSH client.",
        discussion: """
            One connection per host. Keys already present (compared by key blob, whatever their \
            options or comment) are skipped. ~/.ssh (0700) and authorized_keys (0600) are created \
            when missing, and group- or world-writable modes that sshd's StrictModes refuses on \
            the home directory, ~/.ssh and the file are repaired and reported. The file is \
            replaced atomically under a lock, keeping every existing line byte for byte; \
            restorecon runs where it exists. With -s the same edit is made over SFTP, for \
            servers or accounts without a POSIX shell (no restorecon then); when the remote shell \
            does not run keysmith's sh script at all (a restricted or missing login shell, a forced \
            command such as internal-sftp), copy-id says so and goes over SFTP by itself. Without \
            -i, the keys of the ssh-agent SSH_AUTH_SOCK names are installed when it holds any, else \
            the newest ~/.ssh/id*.pub, as ssh-copy-id chooses; -i without a file name is that \
            file. A server that refuses a second session channel on a connection is reached again \
            over a new one, logged in with what worked, nothing asked again. The password comes from the terminal, \
            --password-stdin or SSH_ASKPASS; ~/.ssh/config is read as ssh reads it. Every key \
            type OpenSSH reads is installed (security keys and certificates too) but DSA \
            (ssh-dss), which sshd no longer accepts by default: copy-id refuses it.

            With --cert-authority CA.pub the CA's public key is installed instead, as a \
            "cert-authority" line (with principals="LIST" for --principals): sshd then lets in \
            any user certificate that CA signed whose principals include the account's name, or \
            one of LIST. Such a line is compared by key blob like any other, so a second run adds \
            nothing; remove-id removes it by the same key, and list-ids shows it as a certificate \
            authority.

            With several destinations (arguments and --hosts-file), up to --parallel hosts are \
            worked on at once, one connection each; the password is asked at most once for the \
            whole run. Each host gets one line (added, already present, or failed and why), then \
            a summary line; the exit status is 0 only if every host succeeded.
            """
    )

    @Option(
        name: .customShort("i", allowingJoined: true),
        help: ArgumentHelp(
            "Public key file to install (FILE.pub is used for a private key FILE); default: the keys of the ssh-agent, else the newest ~/.ssh/id*.pub (-i without a file: that file).",
            valueName: "file"
        )
    )
    var identity: String?

    @Flag(name: .customShort("f"), help: "Install the keys even if they are already present.")
    var force = false

    @Flag(name: .customShort("n"), help: "Dry run: show what would be installed or repaired, change nothing.")
    var dryRun = false

    @Option(
        help: ArgumentHelp(
            "authorized_keys options to put before each key, e.g. 'restrict,from=\"10.0.0.0/8\"'.",
            valueName: "options"
        )
    )
    var keyOptions: String?

    @Option(
        help: ArgumentHelp(
            "Install the certificate authority's public key in FILE as a cert-authority line (instead of -i).",
            valueName: "file"
        )
    )
    var certAuthority: String?

    @Option(
        help: ArgumentHelp(
            "With --cert-authority: the comma-separated principals a certificate must name (principals=\"LIST\").",
            valueName: "list"
        )
    )
    var principals: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if self.certAuthority != nil && self.identity != nil {
            throw ValidationError("-i and --cert-authority both name what to install; give one of them.")
        }
        if self.principals != nil && self.certAuthority == nil {
            throw ValidationError("--principals needs --cert-authority.")
        }
        try validateKeyOptions(self.keyOptions)
        try validateKeyOptions(self.lineOptions)
    }

    /// The options of each installed line: `cert-authority[,principals="LIST"]` for a CA,
    /// then --key-options.
    private var lineOptions: String? {
        var options: [String] = []
        if self.certAuthority != nil { options.append("cert-authority") }
        if let principals = self.principals { options.append("principals=\"\(principals)\"") }
        if let extra = self.keyOptions { options.append(extra) }
        return options.isEmpty ? nil : options.joined(separator: ",")
    }

    func run() throws {
        let source: String
        let keys: [(key: SSHPublicKey, comment: String?)]
        let sourceText: String
        do {
            if self.certAuthority == nil && self.identity == nil, let agent = agentKeysToDeploy() {
                source = "the ssh-agent at \(agent.socket)"
                keys = agent.keys
                sourceText = "the \(keyCount(keys.count)) of \(source) (no -i given; -i FILE installs a file's keys)"
            } else {
                (source, keys) = try keysToDeploy(identity: self.certAuthority ?? self.identity)
                sourceText = "\"\(source)\""
            }
            if self.certAuthority != nil, let certificate = keys.first(where: { $0.key.type.isCertificate }) {
                throw Failure(
                    "\(source) holds a certificate (\(certificate.key.type.sshName)), not a certificate authority's key; name the CA's own .pub file"
                )
            }
        } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        // OpenSSH 7.0 took ssh-dss out of sshd's default PubkeyAcceptedAlgorithms (9.2 has
        // none of ssh-dss, ssh-dss-cert-v01@openssh.com): such a line would never log in.
        if let legacy = keys.first(where: { $0.key.type.isLegacy }) {
            printError(
                "keysmith: \(source) holds a DSA key (\(legacy.key.type.sshName)), a legacy type that OpenSSH's sshd no longer accepts by default, so keysmith will not install it; make a new key with keysmith generate -t ed25519."
            )
            throw ExitCode(1)
        }
        for comment in keys.compactMap(\.comment) {
            if let control = KeyLineText.firstControlCharacter(in: comment, allowingTab: true) {
                printError(
                    "keysmith: a key comment in \(source) holds the control character \(KeyLineText.describe(control)), which keysmith will not write into authorized_keys; change it with keysmith comment"
                )
                throw ExitCode(1)
            }
        }
        let lines = keys.map { AuthorizedKeys.line(for: $0.key, comment: $0.comment, options: self.lineOptions) }
        let destinations: [String]
        do { destinations = try self.connection.allDestinations() } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        if !self.connection.json { printError("keysmith: INFO: Source of key(s) to be installed: \(sourceText)") }
        if destinations.count > 1 { return try self.runFleet(destinations, lines: lines) }
        var reports: [JSON] = []
        try self.connection.forEachDestination(destinations) { destination, config, client in
            let result = try client.withAuthorizedKeysStore(
                target: self.connection.target,
                sftp: self.connection.sftp,
                fallingBack: sftpFallbackNote(destination)
            ) {
                try $0.copy(lines: lines, force: self.force, dryRun: self.dryRun)
            }
            if self.connection.json {
                reports.append(self.json(destination: destination, config: config, result: result))
                return
            }
            for path in result.created { printError("keysmith: INFO: created \(escapePeerText(path))") }
            for r in result.repaired {
                let verb = self.dryRun ? "would repair" : "repaired"
                printError(
                    "keysmith: WARNING: \(verb) the mode of \(escapePeerText(r.path)) (was \(escapePeerText(r.mode))): sshd's StrictModes refuses group- or world-writable paths"
                )
            }
            if result.addedFinalNewline {
                printError("keysmith: INFO: added the missing final newline of \(self.connection.target)")
            }
            for key in result.alreadyPresent {
                printError(
                    "keysmith: INFO: \(key.type.displayName) \(key.fingerprint()) is already installed on \(destination)"
                )
            }
            if self.dryRun {
                writeOut("=-=-=-=-=-=-=-=\nWould have added the following key(s):\n\n")
                writeOut(result.added.map { $0 + "\n" }.joined())
                writeOut("=-=-=-=-=-=-=-=\n")
                return
            }
            if result.added.isEmpty {
                printError(
                    "keysmith: WARNING: All keys were skipped because they already exist on the remote system.\n\t\t(if you think this is a mistake, you may want to use -f option)"
                )
                return
            }
            let port = config.port == 22 ? "" : "-p \(config.port) "
            writeOut("\nNumber of key(s) added: \(result.added.count)\n\n")
            writeOut("Now try logging into the machine, with:   \"ssh \(port)'\(config.user)@\(config.hostName)'\"\n")
            writeOut("and check to make sure that only the key(s) you wanted were added.\n\n")
        }
        if self.connection.json { writeOut(JSON.array(reports).text + "\n") }
    }

    /// Deploys `lines` to every destination at once; a line per host and a summary.
    private func runFleet(_ destinations: [String], lines: [String]) throws {
        let run: FleetRun
        do { run = try self.connection.prepareRun(hosts: destinations.count) } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        let (target, force, dryRun, sftp) = (self.connection.target, self.force, self.dryRun, self.connection.sftp)
        let results = self.connection.runFleet(destinations, run) { destination, config, client in
            let result = try client.withAuthorizedKeysStore(
                target: target,
                sftp: sftp,
                fallingBack: sftpFallbackNote(destination)
            ) {
                try $0.copy(lines: lines, force: force, dryRun: dryRun)
            }
            return (config, result)
        }
        var reports: [HostReport] = []
        for host in results {
            let destination = host.destination
            guard case .success(let (config, result)) = host.outcome else {
                if case .failure(let error) = host.outcome {
                    reports.append(.failed(destination, FailureText.reason(error)))
                }
                continue
            }
            if !self.connection.json {
                for path in result.created {
                    printError("keysmith: INFO: \(destination): created \(escapePeerText(path))")
                }
                for r in result.repaired {
                    printError(
                        "keysmith: WARNING: \(destination): \(dryRun ? "would repair" : "repaired") the mode of \(escapePeerText(r.path)) (was \(escapePeerText(r.mode))): sshd's StrictModes refuses group- or world-writable paths"
                    )
                }
            }
            let present = result.alreadyPresent.isEmpty ? "" : ", \(result.alreadyPresent.count) already present"
            var report = HostReport(
                destination: destination,
                status: result.added.isEmpty ? .alreadyPresent : .done,
                detail: dryRun
                    ? "would add \(keyCount(result.added.count))\(present)"
                    : result.added.isEmpty
                        ? "already present" : "added \(keyCount(result.added.count))\(present)"
            )
            report.json = self.jsonMembers(config: config, result: result)
            reports.append(report)
        }
        try finishFleet(reports, json: self.connection.json)
    }

    private func json(destination: String, config: SSHResolvedConfig, result: KeyDeploy.CopyResult) -> JSON {
        .object([("destination", .string(destination))] + self.jsonMembers(config: config, result: result))
    }

    /// Everything but the destination, in the order single-host --json has always printed it.
    private func jsonMembers(config: SSHResolvedConfig, result: KeyDeploy.CopyResult) -> [(String, JSON)] {
        let added = result.added.compactMap { SSHPublicKey.parseLine(Substring($0)) }
        return [
            ("host", .string(config.hostName)), ("port", .int(config.port)), ("user", .string(config.user)),
            ("dryRun", .bool(self.dryRun)),
            ("added", .array(added.map { .string($0.key.fingerprint().description) })),
            ("alreadyPresent", .array(result.alreadyPresent.map { .string($0.fingerprint().description) })),
            ("created", .array(result.created.map { .string($0) })),
            (
                "repaired",
                .array(result.repaired.map { .object([("path", .string($0.path)), ("mode", .string($0.mode))]) })
            ),
            ("addedFinalNewline", .bool(result.addedFinalNewline)),
        ]
    }
}

/// `--key-options` of copy-id and rotate, checked by sshd's grammar before any host is
/// contacted; a refusal is a usage error.
func validateKeyOptions(_ options: String?) throws {
    guard let options else { return }
    do { try AuthorizedKeys.validateOptions(options) } catch {
        throw ValidationError(sentence(error.message.capitalizedFirst))
    }
}

/// `-C` of generate and comment: the comment goes into the `.pub` line (and, copied, into
/// authorized_keys), where a control character would break or disguise it; a usage error.
func validateComment(_ comment: String?) throws {
    guard let comment, let control = KeyLineText.firstControlCharacter(in: comment, allowingTab: true) else { return }
    throw ValidationError(
        sentence(
            "The comment holds the control character \(KeyLineText.describe(control)), which would break or disguise the public key line"
        )
    )
}
