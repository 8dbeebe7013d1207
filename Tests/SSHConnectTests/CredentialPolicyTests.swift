import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

@Suite("what is asked for a login, when and how often")
struct CredentialPolicyTests {
    func credentials(
        _ config: SSHResolvedConfig,
        _ password: PasswordSource,
        _ prompter: ScriptedPrompter,
        _ transcript: Transcript = Transcript()
    ) -> SSHCredentials {
        CredentialPolicy.credentials(
            for: config,
            password: password,
            keys: [],
            useAgent: false,
            prompter: prompter,
            events: transcript.events
        )
    }

    @Test("one host: the password is asked at every prompt, so a wrong one is asked again, as ssh does")
    func askedEachTime() throws {
        let home = try Home()
        let prompter = ScriptedPrompter(secrets: [.text("wrong"), .text("right")])
        let c = self.credentials(try home.config("alice@web1"), .ask, prompter)
        #expect(c.password?("")?.text == "wrong")
        #expect(c.password?("")?.text == "right")
        #expect(c.password?("") == nil)
        #expect(prompter.prompts == Array(repeating: "alice@web1's password: ", count: 3))
    }

    @Test("BatchMode: no password is asked")
    func batchAsksNothing() throws {
        let home = try Home()
        let prompter = ScriptedPrompter(secrets: [.text("pw")])
        let c = self.credentials(try home.config(options: ["BatchMode=yes"]), .ask, prompter)
        #expect(c.password?("") == nil)
        #expect(c.keyboardInteractive?("", "", [("Password: ", false)]) == nil)
        #expect(prompter.prompts.isEmpty)
    }

    @Test("several hosts: the password is asked once for the run and sent once per connection")
    func fleetAsksOnce() throws {
        let home = try Home()
        let prompter = ScriptedPrompter(secrets: [.text("pw"), .text("again")])
        let source = try PasswordSource.forRun(hosts: 3, standardInput: nil, prompter: prompter)
        let hosts = (1...3).map { "alice@web\($0)" }
        let results = Fleet.run(hosts, parallel: 3) { host -> [String?] in
            let c = CredentialPolicy.credentials(
                for: try home.config(host),
                password: source,
                keys: [],
                useAgent: false,
                prompter: prompter,
                events: ConnectionEvents()
            )
            // A second prompt on one connection means the password was refused: no answer.
            return [c.password?("")?.text, c.password?("")?.text]
        }
        for host in results { #expect(try host.outcome.get() == ["pw", nil]) }
        #expect(prompter.prompts == [PasswordSource.fleetPrompt])
    }

    @Test("one host asks nothing before a server asks")
    func oneHostAsksLater() throws {
        let prompter = ScriptedPrompter(secrets: [.text("pw")])
        guard case .ask = try PasswordSource.forRun(hosts: 1, standardInput: nil, prompter: prompter) else {
            Issue.record("one host must ask at each prompt")
            return
        }
        #expect(prompter.prompts.isEmpty)
    }

    @Test("--password-stdin is read before any host and never asked; BatchMode still sends it")
    func standardInputPassword() throws {
        let home = try Home()
        let stdin = ScriptedPrompter(secrets: [.text("from-stdin")])
        let prompter = ScriptedPrompter(secrets: [.text("typed")])
        let source = try PasswordSource.forRun(hosts: 1, standardInput: stdin, prompter: prompter)
        #expect(stdin.prompts.count == 1)
        let c = self.credentials(try home.config(options: ["BatchMode=yes"]), source, prompter)
        #expect(c.password?("")?.text == "from-stdin")
        #expect(c.password?("") == nil)
        #expect(prompter.prompts.isEmpty)
    }

    @Test("BatchMode with several hosts: the shared password is never asked for")
    func batchFleetNeverAsks() throws {
        let home = try Home()
        let prompter = ScriptedPrompter(secrets: [.text("pw")])
        let source = try PasswordSource.forRun(hosts: 2, standardInput: nil, prompter: prompter)
        let c = self.credentials(try home.config(options: ["BatchMode=yes"]), source, prompter)
        #expect(c.password?("") == nil)
        #expect(c.keyboardInteractive?("", "", [("Password: ", false)]) == nil)
        #expect(prompter.prompts.isEmpty)
    }

    @Test("keyboard-interactive: the server's text is shown escaped; echoed prompts visibly, hidden ones as secrets")
    func keyboardInteractiveAnswered() throws {
        let home = try Home()
        let transcript = Transcript()
        let prompter = ScriptedPrompter(secrets: [.text("otp")], visible: [.text("alice")])
        let c = self.credentials(try home.config(), .ask, prompter, transcript)
        let answers = c.keyboardInteractive?("PAM", "Say who you are", [("Login: ", true), ("Code: ", false)])
        #expect(answers?.map(\.text) == ["alice", "otp"])
        #expect(transcript.diagnostics == ["<PAM>", "<Say who you are>"])
        #expect(prompter.prompts == ["<Login: >", "<Code: >"])
    }

    @Test("keyboard-interactive: a prompt nobody answers gives the method up")
    func keyboardInteractiveUnanswered() throws {
        let home = try Home()
        let prompter = ScriptedPrompter(secrets: [])
        let c = self.credentials(try home.config(), .ask, prompter)
        #expect(c.keyboardInteractive?("", "", [("Password: ", false)]) == nil)
        #expect(c.keyboardInteractive?("", "", [("Login: ", true)]) == nil)
    }

    @Test("keyboard-interactive with a shared password: it answers one hidden prompt per connection, nothing else")
    func keyboardInteractiveShared() throws {
        let home = try Home()
        let transcript = Transcript()
        let prompter = ScriptedPrompter(secrets: [.text("typed")], visible: [.text("alice")])
        let c = self.credentials(
            try home.config(),
            .shared(SharedSecret(SecureBytes(utf8: "pw"))),
            prompter,
            transcript
        )
        #expect(c.keyboardInteractive?("PAM", "text", [("Password: ", false)])?.map(\.text) == ["pw"])
        #expect(c.keyboardInteractive?("", "", [("Password: ", false)]) == nil)
        #expect(c.keyboardInteractive?("", "", [("Login: ", true)]) == nil)
        #expect(c.password?("") == nil)
        #expect(transcript.diagnostics.isEmpty)
        #expect(prompter.prompts.isEmpty)
    }

    @Test("the password and a keyboard-interactive prompt share the once-per-connection rule")
    func passwordThenKeyboardInteractive() throws {
        let home = try Home()
        let c = self.credentials(
            try home.config(),
            .shared(SharedSecret(SecureBytes(utf8: "pw"))),
            ScriptedPrompter()
        )
        #expect(c.password?("")?.text == "pw")
        #expect(c.keyboardInteractive?("", "", [("Password: ", false)]) == nil)
    }

    @Test("BatchMode: keyboard-interactive shows nothing and asks nothing")
    func keyboardInteractiveBatch() throws {
        let home = try Home()
        let transcript = Transcript()
        let prompter = ScriptedPrompter(secrets: [.text("x")], visible: [.text("y")])
        let c = self.credentials(try home.config(options: ["BatchMode=yes"]), .ask, prompter, transcript)
        #expect(c.keyboardInteractive?("PAM", "text", [("Login: ", true)]) == nil)
        #expect(transcript.diagnostics.isEmpty)
        #expect(prompter.prompts.isEmpty)
    }
}
