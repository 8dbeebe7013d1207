import ArgumentParser
import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct AgentAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add private keys to the agent (ssh-add).",
        discussion: """
            Adds each KEY to the agent, and the certificate KEY-cert.pub beside it when there \
            is one, as ssh-add does. Without KEY, adds those of ~/.ssh/id_rsa, id_ecdsa, \
            id_ecdsa_sk, id_ed25519 and id_ed25519_sk that exist. An encrypted key's \
            passphrase is asked ("Enter passphrase for KEY: ", through SSH_ASKPASS or the \
            terminal, as ssh-add asks), and asked again while it is wrong; an empty answer \
            skips the key. What was added is reported on standard error ("Identity added: KEY \
            (COMMENT)", "Certificate added: KEY-cert.pub (ID)"). A security key is added with \
            its provider (-S, else SSH_SK_PROVIDER, else internal), which the agent must allow \
            (ssh-agent -P). Exit status 1 when any key could not be added.
            """
    )

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp(
            "How long the agent keeps the keys: seconds, or a time such as 30m, 1h or 1h30m.",
            valueName: "life"
        )
    )
    var lifetime: String?

    @Flag(name: .customShort("c"), help: "The agent asks for confirmation before each use of the keys.")
    var confirm = false

    @Flag(name: .customShort("q"), help: "Do not report what was added.")
    var quiet = false

    @Option(
        name: .customShort("S", allowingJoined: true),
        help: ArgumentHelp("Security key provider the agent signs through.", valueName: "provider")
    )
    var provider: String?

    @Argument(help: ArgumentHelp("Private key files.", valueName: "key"))
    var keys: [String] = []

    func run() throws {
        let agent = try connectToAgent()
        var constraints = SSHAgentConstraints(confirm: self.confirm)
        if let lifetime = self.lifetime {
            guard let seconds = OpenSSHDuration.seconds(lifetime) else {
                printError("Invalid lifetime")
                throw ExitCode(1)
            }
            // ssh-add sends no lifetime constraint for 0.
            if seconds > 0 { constraints.lifetime = UInt32(seconds) }
        }
        let provider =
            self.provider ?? getenv("SSH_SK_PROVIDER").map { String(cString: $0) } ?? "internal"
        var adder = AgentKeyAdder(
            agent: agent,
            constraints: constraints,
            securityKeyProvider: provider,
            quiet: self.quiet
        )
        var failed = false
        if self.keys.isEmpty {
            let home = KeyFileIO.homeDirectory() ?? "/"
            var added = 0
            for name in ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk"] {
                let path = home + "/.ssh/" + name
                var st = stat()
                guard stat(path, &st) == 0 else { continue }
                if adder.add(path) { added += 1 } else { failed = true }
            }
            if added == 0 { failed = true }
        } else {
            for path in self.keys where !adder.add(path) { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}

/// ssh-add's add_file, file by file: one passphrase kept for the next file, as ssh-add keeps it.
struct AgentKeyAdder {
    let agent: SSHAgentClient
    let constraints: SSHAgentConstraints
    let securityKeyProvider: String
    let quiet: Bool
    /// Add no certificate beside a key (ssh-add -k).
    var keyOnly = false
    private var lastPassphrase: SecureBytes?

    init(agent: SSHAgentClient, constraints: SSHAgentConstraints, securityKeyProvider: String, quiet: Bool) {
        self.agent = agent
        self.constraints = constraints
        self.securityKeyProvider = securityKeyProvider
        self.quiet = quiet
    }

    /// Adds the key of `path`, then its certificate; false when the key was not added.
    mutating func add(_ path: String) -> Bool {
        var contents: [UInt8]
        do {
            contents = try KeyFileIO.readPrivateKeyFile(path)
        } catch {
            // perror(path) for a file that cannot be read, as ssh-add.
            printError(error.code == .fileError ? error.message : "keysmith: \(sentence(error.message))")
            return false
        }
        defer { secureWipe(&contents) }
        return self.add(contents: contents, path: path)
    }

    /// Adds the private key read from standard input, named `(stdin)` as ssh-add names it
    /// (no permission check and no certificate: there is no file beside it).
    mutating func addStandardInput() -> Bool {
        var contents: [UInt8]
        do { contents = try readStandardInput() } catch {
            printError("Error loading key \"(stdin)\": \((error as? Failure)?.message ?? "\(error)")")
            return false
        }
        defer { secureWipe(&contents) }
        return self.add(contents: contents, path: "(stdin)", certificate: false)
    }

    /// Adds the key `contents` hold, named `path`, then `path`-cert.pub unless `certificate` is false.
    private mutating func add(contents: [UInt8], path: String, certificate: Bool = true) -> Bool {
        guard let key = self.decode(contents, path: path) else { return false }
        let comment = key.comment.isEmpty ? path : key.comment
        var constraints = self.constraints
        if key.type.isSecurityKey { constraints.securityKeyProvider = self.securityKeyProvider }
        var added = false
        do {
            try self.agent.addIdentity(key, comment: comment, constraints: constraints)
            added = true
            if !self.quiet { self.report("Identity added: \(path) (\(comment))") }
        } catch {
            printError("Could not add identity \"\(path)\": \(agentErrorText(error))")
        }
        if certificate && !self.keyOnly {
            self.addCertificate(of: key, path: path, comment: comment, constraints: constraints)
        }
        return added
    }

    /// The private key, asking for its passphrase while the answer is wrong; nil when it
    /// cannot be read or the answer is empty.
    private mutating func decode(_ contents: [UInt8], path: String) -> SSHPrivateKey? {
        var attempts: [SecureBytes?] = [nil]
        if let last = self.lastPassphrase { attempts.append(last) }
        for passphrase in attempts {
            do {
                return try SSHPrivateKey(fileContents: contents, passphrase: passphrase)
            } catch  where error.code == .wrongPassphrase || error.code == .passphraseRequired {
                continue
            } catch {
                printError("Error loading key \"\(path)\": \(error.message)")
                return nil
            }
        }
        self.lastPassphrase = nil
        let suffix = self.constraints.confirm ? " (will confirm each use)" : ""
        var prompt = "Enter passphrase for \(path)\(suffix): "
        while true {
            guard let passphrase = try? askSecret(prompt: prompt), !passphrase.isEmpty else { return nil }
            do {
                let key = try withProgress("deriving the key from the passphrase") { () throws(SSHKeyError) in
                    try SSHPrivateKey(fileContents: contents, passphrase: passphrase)
                }
                self.lastPassphrase = passphrase
                return key
            } catch  where error.code == .wrongPassphrase || error.code == .passphraseRequired {
                prompt = "Bad passphrase, try again for \(path)\(suffix): "
            } catch {
                printError("Error loading key \"\(path)\": \(error.message)")
                return nil
            }
        }
    }

    /// ssh-add's second half of add_file: PATH-cert.pub, when there is one, with the private key.
    private func addCertificate(of key: SSHPrivateKey, path: String, comment: String, constraints: SSHAgentConstraints)
    {
        let certificatePath = path + "-cert.pub"
        guard KeyFileIO.fileExists(certificatePath) else { return }
        guard let (certified, _) = loadPublicKeyLikeSSHAdd(certificatePath), let certificate = certified.certificate
        else {
            printError("Failed to load certificate \"\(certificatePath)\": invalid format")
            return
        }
        guard certificate.key == key.publicKey else {
            printError("Certificate \(certificatePath) does not match private key \(path)")
            return
        }
        do {
            try self.agent.addIdentity(key, certificate: certificate, comment: comment, constraints: constraints)
        } catch {
            printError("Certificate \(certificatePath) (\(certificate.keyID)) add failed: \(agentErrorText(error))")
            return
        }
        if !self.quiet { self.report("Certificate added: \(certificatePath) (\(certificate.keyID))") }
    }

    /// The line ssh-add prints after adding, and what the constraints say.
    private func report(_ line: String) {
        printError(line)
        if let lifetime = self.constraints.lifetime { printError("Lifetime set to \(lifetime) seconds") }
        if self.constraints.confirm { printError("The user must confirm each use of the key") }
    }
}
