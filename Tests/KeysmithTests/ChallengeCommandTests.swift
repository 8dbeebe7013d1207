import Foundation
import KeysmithTestSupport
import Testing

@Suite("keysmith challenge")
struct ChallengeCommandTests {
    /// A state directory, an ed25519 key made by ssh-keygen and an authorized_keys file for it.
    struct Setup {
        let dir: TempDir
        var state: String { self.dir.path("state") }
        var key: String { self.dir.path("id_ed25519") }
        var authorizedKeys: String { self.dir.path("authorized_keys") }
        let fingerprint: String
        let audience: String

        init(options: String? = nil, audience: String = "app.example") throws {
            self.dir = try TempDir()
            self.audience = audience
            let made = try keygen([
                "-q", "-t", "ed25519", "-N", "", "-C", "alice@example", "-f", self.dir.path("id_ed25519"),
            ])
            guard made.status == 0 else { throw FixtureError("ssh-keygen: \(made)") }
            let pub = try readText(self.dir.path("id_ed25519.pub"))
            try writeText(self.dir.path("authorized_keys"), (options.map { $0 + " " } ?? "") + pub, mode: 0o644)
            let fp = try keygen(["-l", "-f", self.dir.path("id_ed25519.pub")])
            self.fingerprint = String(fp.stdout.split(separator: " ")[1])
        }

        func issue(_ extra: [String] = []) throws -> String {
            let run = try keysmith(
                arguments: ["challenge", "issue", "--state", self.state, "--audience", self.audience] + extra
            )
            #expect(run.status == 0, "\(run)")
            return run.stdout.trimmingCharacters(in: .newlines)
        }

        func respond(_ token: String) throws -> String {
            let run = try keysmith(arguments: [
                "challenge", "respond", "-f", self.key, "--audience", self.audience, token,
            ])
            #expect(run.status == 0, "\(run)")
            return run.stdout
        }

        func verify(_ token: String, _ response: String, _ extra: [String] = []) throws -> ProcessResult {
            try self.dir.write("response", response)
            return try keysmith(
                arguments: ["challenge", "verify", "--authorized-keys", self.authorizedKeys, "--state", self.state]
                    + extra + [token, self.dir.path("response")]
            )
        }
    }

    @Test("issue, respond, verify; the second verify is a replay")
    func roundTrip() throws {
        let s = try Setup()
        let token = try s.issue()
        #expect(token.count == 124)
        #expect(try readText(s.state + "/audience") == "app.example\n")
        #expect(try fileMode(s.state) == 0o700)
        #expect(try fileMode(s.state + "/secret") == 0o600)
        let response = try s.respond(token)
        #expect(response.hasPrefix("-----BEGIN SSH SIGNATURE-----\n"))
        let ok = try s.verify(token, response)
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.stdout == "\(s.fingerprint) alice@example\n")
        let again = try s.verify(token, response)
        #expect(again.status == 1)
        #expect(again.stderr == "keysmith: the token has already been used.\n")
    }

    @Test("--json, a response on standard input, and ssh-keygen -Y sign as the client")
    func jsonAndSSHKeygen() throws {
        let s = try Setup()
        let token = try s.issue()
        try s.dir.write("token", token)
        let signed = try keygen(["-Y", "sign", "-n", "challenge@keysmith", "-f", s.key, s.dir.path("token")])
        #expect(signed.status == 0, "\(signed)")
        let run = try keysmith(
            arguments: [
                "challenge", "verify", "--authorized-keys", s.authorizedKeys, "--state", s.state, "--json", token, "-",
            ],
            input: try readBytes(s.dir.path("token.sig"))
        )
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stdout
                == "{\"fingerprint\":\"\(s.fingerprint)\",\"comment\":\"alice@example\",\"type\":\"ssh-ed25519\",\"line\":1}\n"
        )
    }

    @Test("refusals are one sentence and exit 1")
    func refusals() throws {
        let s = try Setup(options: "from=\"10.0.0.0/8\"")
        let token = try s.issue()
        let response = try s.respond(token)
        let noAddress = try s.verify(token, response)
        #expect(noAddress.status == 1)
        #expect(noAddress.stderr.hasPrefix("keysmith: the address (unknown) is not permitted by from="))
        let wrongAddress = try s.verify(token, response, ["--from", "192.0.2.1"])
        #expect(wrongAddress.status == 1)
        #expect(
            wrongAddress.stderr
                == "keysmith: the address 192.0.2.1 is not permitted by from=\"10.0.0.0/8\" on line 1.\n"
        )
        #expect(try s.verify(token, response, ["--from", "10.1.2.3"]).status == 0)

        let expired = try s.issue(["--ttl", "1"])
        let expiredResponse = try s.respond(expired)
        Thread.sleep(forTimeInterval: 2.2)
        let late = try s.verify(expired, expiredResponse, ["--from", "10.1.2.3"])
        #expect(late.status == 1)
        #expect(late.stderr.hasPrefix("keysmith: the token expired "))

        let other = try Setup()
        let foreign = try other.issue()
        let foreignRun = try s.verify(foreign, try s.respond(foreign), ["--from", "10.1.2.3"])
        #expect(foreignRun.status == 1)
        #expect(foreignRun.stderr == "keysmith: the token was not issued by this server or has been altered.\n")

        let notListed = try s.verify(try s.issue(), try other.respond(try s.issue()), ["--from", "10.1.2.3"])
        #expect(notListed.status == 1)

        let stranger = try Setup()
        let fresh = try s.issue()
        let strangerRun = try s.verify(fresh, try stranger.respond(fresh), ["--from", "10.1.2.3"])
        #expect(strangerRun.status == 1)
        #expect(strangerRun.stderr == "keysmith: the key \(stranger.fingerprint) is not in \(s.authorizedKeys).\n")

        let bad = try keysmith("challenge", "respond", "-f", s.key, "--audience", "app.example", "not-a-token")
        #expect(bad.status == 1)
        #expect(bad.stderr == "keysmith: the token is not a keysmith challenge token.\n")
        #expect(try keysmith("challenge", "issue", "--state", s.state, "--ttl", "0").status == 1)
    }

    @Test("a token relayed by another verifier is refused by respond; tokens without an audience are refused")
    func audienceBinding() throws {
        // A issues; B, a verifier the user also answers, passes A's token on as its own.
        let a = try Setup(audience: "a.example")
        let token = try a.issue()
        let relayed = try keysmith(
            arguments: ["challenge", "respond", "-f", a.key, "--audience", "b.example", token]
        )
        #expect(relayed.status == 1)
        #expect(relayed.stdout.isEmpty)
        #expect(
            relayed.stderr == "keysmith: the token is for the audience a.example, not b.example; refusing to sign it.\n"
        )
        let missing = try keysmith(arguments: ["challenge", "respond", "-f", a.key, token])
        #expect(missing.status == 64)
        // Answered for the right audience, it verifies (with the audience kept in the state).
        #expect(try a.verify(token, try a.respond(token)).status == 0)

        // The state keeps its audience: another is refused, none at first use too.
        let other = try keysmith("challenge", "issue", "--state", a.state, "--audience", "b.example")
        #expect(other.status == 1)
        #expect(
            other.stderr
                == "keysmith: the state directory serves the audience a.example, not b.example; use another --state for another audience.\n"
        )
        let unnamed = try keysmith("challenge", "issue", "--state", a.dir.path("fresh"))
        #expect(unnamed.status == 1)
        #expect(unnamed.stderr.contains("--audience"))
        let spaced = try keysmith("challenge", "issue", "--state", a.dir.path("fresh"), "--audience", "a b")
        #expect(spaced.status == 1)

        // A version 1 token (no audience), as keysmith issued them before: refused by both sides.
        let v1 = Self.base64URL([1] + [UInt8](repeating: 7, count: 32 + 16 + 32))
        let old = try keysmith("challenge", "respond", "-f", a.key, "--audience", "a.example", v1)
        #expect(old.status == 1)
        #expect(
            old.stderr == "keysmith: the token names no audience (an older keysmith issued it); ask for a new one.\n"
        )
        #expect(try a.verify(v1, try a.respond(try a.issue())).status == 1)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test("--response-file: the response is read from that file only; the text is never taken for a path")
    func responseFile() throws {
        let s = try Setup()
        let token = try s.issue()
        try s.dir.write("answer", try s.respond(token))
        let base = ["challenge", "verify", "--authorized-keys", s.authorizedKeys, "--state", s.state]
        let ok = try keysmith(arguments: base + ["--response-file", s.dir.path("answer"), token])
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.stdout == "\(s.fingerprint) alice@example\n")
        let second = try s.issue()
        let stdin = try keysmith(
            arguments: base + ["--response-file", "-", second],
            input: Data(try s.respond(second).utf8)
        )
        #expect(stdin.status == 0, "\(stdin)")
        let both = try keysmith(
            arguments: base + ["--response-file", s.dir.path("answer"), token, s.dir.path("answer")]
        )
        #expect(both.status == 64)
        let neither = try keysmith(arguments: base + [token])
        #expect(neither.status == 64)
        #expect(neither.stderr.contains("--response-file"))
    }

    @Test("many concurrent verify processes with one token: exactly one succeeds")
    func concurrentVerifiers() throws {
        let s = try Setup()
        let token = try s.issue()
        try s.dir.write("response", try s.respond(token))
        let count = 16
        // Start every process before waiting for any, so they race for the token.
        let arguments = [
            "challenge", "verify", "--authorized-keys", s.authorizedKeys, "--state", s.state, token,
            s.dir.path("response"),
        ]
        let pids = try (1...count).map { try spawnDaemon(keysmithPath, arguments, log: s.dir.path("log.\($0)")) }
        let statuses = pids.map { pid -> Int32 in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS.
            return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
        }
        #expect(statuses.filter { $0 == 0 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 1 }.count == count - 1, "\(statuses)")
    }
}
