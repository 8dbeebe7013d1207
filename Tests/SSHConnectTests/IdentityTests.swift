import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("identity files and their passphrases")
struct IdentityTests {
    @Test("an encrypted identity's passphrase is asked once per run, whichever host needs it first")
    func passphraseOnce() throws {
        let home = try Home()
        let key = try home.writeKey("id_work", passphrase: "pass")
        let prompter = ScriptedPrompter(secrets: [.text("pass"), .text("pass")])
        let transcript = Transcript()
        let store = IdentityStore(prompter: prompter, events: transcript.events)
        let results = Fleet.run((1...6).map { "alice@web\($0)" }, parallel: 6) { host in
            store.identities(try home.config(host, options: ["IdentityFile=\(home.path("id_work"))"])).map(\.label)
        }
        for host in results { #expect(try host.outcome.get() == [home.path("id_work")]) }
        #expect(prompter.prompts == ["Enter passphrase for key '\(home.path("id_work"))': "])
        #expect(transcript.slowSteps == ["deriving the key from the passphrase"])
        let config = try home.config(options: ["IdentityFile=\(home.path("id_work"))"])
        #expect(store.identities(config).first?.key.publicKey == key.publicKey)
    }

    @Test("a wrong passphrase skips the key with one line, and is not asked again")
    func wrongPassphrase() throws {
        let home = try Home()
        try home.writeKey("id_work", passphrase: "pass")
        let prompter = ScriptedPrompter(secrets: [.text("nope"), .text("pass")])
        let transcript = Transcript()
        let store = IdentityStore(prompter: prompter, events: transcript.events)
        let config = try home.config(options: ["IdentityFile=\(home.path("id_work"))"])
        #expect(store.identities(config).isEmpty)
        #expect(store.identities(config).isEmpty)
        #expect(prompter.prompts.count == 1)
        #expect(transcript.diagnostics == ["keysmith: could not decrypt \(home.path("id_work")); skipping it"])
    }

    @Test("BatchMode never asks a passphrase; the encrypted key is skipped")
    func batchSkips() throws {
        let home = try Home()
        try home.writeKey("id_work", passphrase: "pass")
        let prompter = ScriptedPrompter(secrets: [.text("pass")])
        let store = IdentityStore(prompter: prompter)
        let config = try home.config(options: ["IdentityFile=\(home.path("id_work"))", "BatchMode=yes"])
        #expect(store.identities(config).isEmpty)
        #expect(prompter.prompts.isEmpty)
    }

    @Test("ssh's default files: an encrypted one is skipped without asking, a missing one silently")
    func defaultFiles() throws {
        let home = try Home()
        #expect(mkdir(home.path(".ssh"), 0o700) == 0)
        let plain = try home.writeKey(".ssh/id_ed25519")
        try home.writeKey(".ssh/id_ecdsa", passphrase: "pass")
        let prompter = ScriptedPrompter(secrets: [.text("pass")])
        let transcript = Transcript()
        let store = IdentityStore(prompter: prompter, events: transcript.events)
        let config = try home.config()
        #expect(config.identityFilesAreDefaults)
        #expect(store.identities(config).map(\.key.publicKey) == [plain.publicKey])
        #expect(prompter.prompts.isEmpty)
        #expect(transcript.diagnostics.isEmpty)
    }

    @Test("a named identity file that is missing is skipped with one line")
    func missingNamed() throws {
        let home = try Home()
        let transcript = Transcript()
        let store = IdentityStore(prompter: ScriptedPrompter(), events: transcript.events)
        #expect(store.identities(try home.config(options: ["IdentityFile=\(home.path("gone"))"])).isEmpty)
        #expect(transcript.diagnostics == ["keysmith: no identity file \(home.path("gone")); skipping it"])
    }

    @Test("the order offered: the extra keys (rotate's old key), then the identity files as configured")
    func order() throws {
        let home = try Home()
        try home.writeKey("b")
        try home.writeKey("a", passphrase: "pass")
        let old = try SSHPrivateKey(generating: .ed25519)
        let prompter = ScriptedPrompter(secrets: [.text("pass")])
        let store = IdentityStore(extraKeys: [("old", old)], prompter: prompter)
        let config = try home.config(options: ["IdentityFile=\(home.path("b"))", "IdentityFile=\(home.path("a"))"])
        #expect(store.identities(config).map(\.label) == ["old", home.path("b"), home.path("a")])
        #expect(prompter.prompts == ["Enter passphrase for key '\(home.path("a"))': "])
    }
}

@Suite("the client options a connection is made with")
struct ClientOptionsTests {
    func connector(
        _ home: Home,
        _ options: [String],
        agent: String?,
        prompter: ScriptedPrompter = ScriptedPrompter()
    )
        -> Connector
    {
        Connector(
            settings: home.settings(options),
            prompter: prompter,
            environment: { $0 == "SSH_AUTH_SOCK" ? agent : nil }
        )
    }

    @Test("the agent is used when SSH_AUTH_SOCK names one, unless IdentitiesOnly")
    func agent() throws {
        let home = try Home()
        for (agent, options, expected) in [
            ("/tmp/agent.sock", [String](), true), ("", [], false), (nil, [], false),
            ("/tmp/agent.sock", ["IdentitiesOnly=yes"], false),
        ] as [(String?, [String], Bool)] {
            let connector = self.connector(home, options, agent: agent)
            let options = try connector.clientOptions(try home.config(options: options), password: .ask)
            #expect(options.credentials.useAgent == expected)
        }
    }

    @Test("PreferredAuthentications orders the methods; the host, port and user are the resolved ones")
    func order() throws {
        let home = try Home()
        let settings = ["PreferredAuthentications=password,publickey", "Port=2222", "HostName=10.0.0.7"]
        let connector = self.connector(home, settings, agent: nil)
        let options = try connector.clientOptions(try home.config("bob@web", options: settings), password: .ask)
        #expect(options.authenticationOrder == [.password, .publicKey])
        #expect(options.host == "10.0.0.7")
        #expect(options.port == 2222)
        #expect(options.user == "bob")
    }

    @Test("a rotation's proof logs in with the new key alone: publickey only, no agent, no password")
    func onlyKey() throws {
        let home = try Home()
        try home.writeKey("id_work", passphrase: "pass")
        let prompter = ScriptedPrompter(secrets: [.text("pass")])
        let connector = self.connector(home, [], agent: "/tmp/agent.sock", prompter: prompter)
        let new = try SSHPrivateKey(generating: .ed25519)
        let config = try home.config(options: ["IdentityFile=\(home.path("id_work"))"])
        let options = try connector.clientOptions(config, password: .ask, onlyKey: ("new", new))
        #expect(options.credentials.keys.map(\.label) == ["new"])
        #expect(!options.credentials.useAgent)
        #expect(options.credentials.password == nil)
        #expect(options.credentials.keyboardInteractive == nil)
        #expect(options.authenticationOrder == [.publicKey])
        #expect(prompter.prompts.isEmpty)
    }
}
