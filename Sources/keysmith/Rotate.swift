import ArgumentParser
import CommandLineText
import KeyDeploy
import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol

struct Rotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace an old key by a new one in remote authorized_keys files without locking anyone out.",
        discussion: """
            On each host: log in as copy-id does (the old key, ~/.ssh/config's identities, the \
            agent, a password), install the new public key (with the old key's options unless \
            --key-options is given), prove a fresh login with the new private key over a new \
            connection (publickey only, that key only), and only then remove the old key. If \
            any step fails on a host, the old key stays there (a new key that could not log in \
            is taken out again) and the host's line says why.

            Before any host is contacted, the new key is refused when it is missing, when \
            NEWKEY.pub does not match it, or when it is the old key. A passphrase of the new \
            key is asked once; so is a password. Up to --parallel hosts are worked on at once; \
            each gets one line, then a summary line; the exit status is 0 only if every host \
            was rotated.

            With -n, each host is logged in to and its file read, and its line says which line \
            would be installed and which old lines removed; nothing is changed and no login \
            with the new key is tried. The new key is checked here as in a real run.
            """
    )

    @Option(
        name: .customShort("i", allowingJoined: true),
        help: ArgumentHelp("The new private key (NEWKEY.pub beside it must match it).", valueName: "newkey")
    )
    var identity: String

    @Option(
        name: .customLong("old"),
        help: ArgumentHelp(
            "The old public key file (every key in it is removed); OLDKEY beside it, if unencrypted or its passphrase is given, also logs in.",
            valueName: "oldkey.pub"
        )
    )
    var old: String

    @Option(
        help: ArgumentHelp(
            "authorized_keys options for the new key (default: those of the old key's line).",
            valueName: "options"
        )
    )
    var keyOptions: String?

    @Flag(
        name: .customShort("n"),
        help: "Dry run: show what would be installed and removed on each host, change nothing."
    )
    var dryRun = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try validateKeyOptions(self.keyOptions) }

    func run() throws {
        let new: (key: SSHPrivateKey, comment: String?, path: String)
        let oldKeys: [SSHPublicKey]
        let oldPrivate: [(label: String, key: SSHPrivateKey)]
        let destinations: [String]
        let run: FleetRun
        do {
            new = try Self.loadNewKey(expandTilde(self.identity))
            oldKeys = try keysToDeploy(identity: self.old).keys.map(\.key)
            if oldKeys.contains(new.key.publicKey) {
                throw Failure(
                    "the new key \(new.path) is also in \(self.old); give the key being retired with --old; nothing was changed"
                )
            }
            oldPrivate = Self.loadOldPrivateKey(expandTilde(self.old))
            destinations = try self.connection.allDestinations()
            run = try self.connection.prepareRun(hosts: destinations.count, extraKeys: oldPrivate)
        } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }

        let (target, sftp, keyOptions) = (self.connection.target, self.connection.sftp, self.keyOptions)
        let newKey = new.key
        if self.dryRun {
            let results = self.connection.runFleet(destinations, run) { destination, _, client in
                try client.withAuthorizedKeysStore(
                    target: target,
                    sftp: sftp,
                    fallingBack: sftpFallbackNote(destination)
                ) { store in
                    KeyRotation.plan(
                        newKey: newKey.publicKey,
                        comment: new.comment,
                        options: keyOptions,
                        oldKeys: oldKeys,
                        store: store
                    )
                }
            }
            try finishFleet(results.map { Self.planReport($0, newKey: newKey.publicKey) }, json: self.connection.json)
            return
        }
        let results = self.connection.runFleet(destinations, run) { destination, config, client in
            let prove = {
                let proof = try run.connector.connect(config, password: .ask, onlyKey: (new.path, newKey))
                proof.close()
            }
            return try client.withAuthorizedKeysStore(
                target: target,
                sftp: sftp,
                fallingBack: sftpFallbackNote(destination)
            ) { store in
                KeyRotation.rotate(
                    newKey: newKey.publicKey,
                    comment: new.comment,
                    options: keyOptions,
                    oldKeys: oldKeys,
                    store: store,
                    proveLogin: prove
                )
            }
        }
        try finishFleet(results.map(Self.report), json: self.connection.json)
    }

    /// Why a host failed before anything was changed on it, saying so once.
    private static func unchanged(_ error: any Error) -> String {
        let reason = FailureText.reason(error)
        return reason.hasSuffix("nothing was changed)") ? reason : reason + "; nothing was changed"
    }

    /// The JSON members for the old key's lines removed (or to be removed) and those not found.
    private static func removalJSON(_ r: KeyRotation.Report) -> [(String, JSON)] {
        [
            ("removed", .array(r.removed.map { .object([("line", .int($0.line)), ("text", .string($0.text))]) })),
            ("oldKeysNotFound", .array(r.oldKeysNotFound.map { .string($0.fingerprint().description) })),
        ]
    }

    /// One host's line in a dry run: what would be installed and removed.
    private static func planReport(_ host: Fleet.HostResult<KeyRotation.Report>, newKey: SSHPublicKey) -> HostReport {
        let r: KeyRotation.Report
        switch host.outcome {
        case .failure(let error):
            return .failed(host.destination, Self.unchanged(error))
        case .success(let report):
            r = report
        }
        if r.failedStep != nil {
            let reason = r.failure.map(FailureText.reason) ?? "unknown error"
            return .failed(host.destination, "could not read the authorized keys: \(reason); nothing was changed")
        }
        let json: [(String, JSON)] =
            [("dryRun", .bool(true)), ("newLine", .string(r.newLine)), ("newKeyWasPresent", .bool(r.newKeyWasPresent))]
            + Self.removalJSON(r)
        let what = "\(newKey.type.displayName) \(newKey.fingerprint())" + (r.newKeyOptions.map { " with \($0)" } ?? "")
        var detail = "would rotate: "
        detail +=
            r.newKeyWasPresent
            ? "the new key is already installed; prove a login with it" : "install \(what), prove a login with it"
        let lines = r.removed.map { String($0.line) }.joined(separator: ", ")
        detail +=
            r.removed.isEmpty
            ? "; the old key is not installed"
            : ", then remove the old key (\(r.removed.count == 1 ? "line" : "lines") \(lines))"
        return HostReport(destination: host.destination, status: .wouldRotate, detail: detail, json: json)
    }

    /// One host's line: what was done, or which step failed and what is left where.
    private static func report(_ host: Fleet.HostResult<KeyRotation.Report>) -> HostReport {
        let r: KeyRotation.Report
        switch host.outcome {
        case .failure(let error):
            return .failed(host.destination, Self.unchanged(error))
        case .success(let report):
            r = report
        }
        let json: [(String, JSON)] =
            [("newKeyAdded", .bool(r.newKeyAdded)), ("newKeyWasPresent", .bool(r.newKeyWasPresent))]
            + Self.removalJSON(r)
            + [("failedStep", .string(orNull: r.failedStep?.description)), ("newKeyTakenOut", .bool(r.newKeyTakenOut))]
        guard let step = r.failedStep else {
            var detail = "rotated: "
            detail +=
                r.newKeyWasPresent ? "the new key was already installed and logs in" : "new key installed and logs in"
            detail +=
                r.removed.isEmpty
                ? "; the old key was not installed" : ", old key removed (\(keyCount(r.removed.count, "line")))"
            return HostReport(destination: host.destination, status: .rotated, detail: detail, json: json)
        }
        var reason = "could not \(step): \(r.failure.map(FailureText.reason) ?? "unknown error")"
        switch step {
        case .removeOld:
            reason += "; the new key is installed and logs in, and the old key is still installed"
        default:
            reason += "; the old key is still installed"
            if r.newKeyTakenOut {
                reason += " and the new key was taken out again"
            } else if let failure = r.takeOutFailure {
                reason += ", but the new key could not be taken out again (\(FailureText.reason(failure)))"
            }
        }
        var line = HostReport.failed(host.destination, reason)
        line.json = json
        return line
    }

    /// Reads NEWKEY (asking its passphrase once) and checks NEWKEY.pub against it.
    /// - Throws: `Failure` saying what is wrong; nothing has been changed anywhere then.
    static func loadNewKey(_ path: String) throws -> (key: SSHPrivateKey, comment: String?, path: String) {
        if path.hasSuffix(".pub") {
            throw Failure("-i takes the new private key, not \(path); nothing was changed")
        }
        guard KeyFileIO.fileExists(path) else {
            throw Failure("the new key \(path) does not exist; make it with keysmith generate; nothing was changed")
        }
        var contents: [UInt8]
        do { contents = try KeyFileIO.readPrivateKeyFile(path) } catch {
            throw Failure("cannot read the new key \(path): \(error.message); nothing was changed")
        }
        // The file's bytes are the key when it is not encrypted; zero them once it is decoded.
        defer { secureWipe(&contents) }
        var passphrase: SecureBytes? = nil
        if SSHPrivateKey.isEncrypted(fileContents: contents) {
            let typed: SecureBytes?
            do { typed = try askSecret(prompt: "Enter passphrase for key '\(path)': ") } catch let error as Failure {
                throw Failure("\(error.message); nothing was changed")
            }
            guard let typed else {
                throw Failure("\(path) is protected by a passphrase and none was given; nothing was changed")
            }
            passphrase = typed
        }
        let key: SSHPrivateKey
        do {
            key = try withProgress("deriving the key from the passphrase") { () throws(SSHKeyError) in
                try SSHPrivateKey(fileContents: contents, passphrase: passphrase)
            }
        } catch {
            throw Failure("cannot read the new key \(path): \(error.message); nothing was changed")
        }
        var comment: String? = key.comment.isEmpty ? nil : key.comment
        if KeyFileIO.fileExists(path + ".pub") {
            let lines: [SSHPublicKeyLine]
            do { lines = try SSHPublicKey.keys(inFile: try KeyFileIO.readFile(path + ".pub")) } catch {
                throw Failure("cannot read \(path).pub: \(error.message); nothing was changed")
            }
            guard lines.count == 1, lines[0].key == key.publicKey else {
                throw Failure(
                    "\(path).pub does not match the private key \(path) (ssh-keygen -y -f \(path) shows its public half); nothing was changed"
                )
            }
            comment = lines[0].comment ?? comment
        }
        if let comment, let control = KeyLineText.firstControlCharacter(in: comment, allowingTab: true) {
            throw Failure(
                "the comment of the new key \(path) holds the control character \(KeyLineText.describe(control)), which keysmith will not write into authorized_keys; change it with keysmith comment; nothing was changed"
            )
        }
        return (key, comment, path)
    }

    /// OLDKEY beside OLDKEY.pub, to log in with where it is still installed; none when absent.
    static func loadOldPrivateKey(_ publicPath: String) -> [(label: String, key: SSHPrivateKey)] {
        guard publicPath.hasSuffix(".pub") else { return [] }
        let path = String(publicPath.dropLast(4))
        guard KeyFileIO.fileExists(path) else { return [] }
        let key = IdentityStore.load(path, defaults: false, batch: false, prompter: SystemPrompter(), events: .terminal)
        return key.map { [(path, $0)] } ?? []
    }
}
