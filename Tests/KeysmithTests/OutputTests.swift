import Foundation
import KeysmithTestSupport
import Testing

/// Where output goes: results on stdout, everything else on stderr, no colour or escapes,
/// JSON a script can parse.
@Suite("output discipline")
struct OutputTests {
    /// A directory with an unencrypted and an encrypted key and an authorized_keys file.
    struct Keys {
        let dir: TempDir
        var plain: String { self.dir.path("plain") }
        var locked: String { self.dir.path("locked") }
        var authorized: String { self.dir.path("authorized_keys") }

        init() throws {
            self.dir = try TempDir()
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "plain key", "-f", self.dir.path("plain")])
                .checked("ssh-keygen")
            _ = try keygen(["-q", "-t", "ecdsa", "-a", "2", "-N", "pw", "-C", "locked", "-f", self.dir.path("locked")])
                .checked("ssh-keygen")
            let plainLine = try readText(self.plain + ".pub")
            let lockedLine = try readText(self.locked + ".pub")
            // A comment a naive JSON writer would break: quotes, a backslash, a tab, non-ASCII.
            try writeText(
                self.authorized,
                "restrict " + keyPart(plainLine) + " say \"hi\" \\ tab\there caf\u{e9}\n" + lockedLine,
                mode: 0o600
            )
        }
    }

    @Test("results go to stdout alone; a run that succeeds says nothing on stderr")
    func resultsOnStdout() throws {
        let k = try Keys()
        let runs: [[String]] = [
            ["public", "-f", k.plain],
            ["public", "-f", k.locked, "-P", "pw"],
            ["fingerprint", "-f", k.authorized],
            ["fingerprint", "-v", "-f", k.plain],
            ["fingerprint", "--json", "-f", k.authorized],
            ["convert", "-f", k.plain + ".pub", "--to", "rfc4716"],
            ["known-hosts", "hash", "-f", k.dir.path("empty_known_hosts")],
        ]
        try writeText(k.dir.path("empty_known_hosts"), "", mode: 0o644)
        for arguments in runs {
            let r = try keysmith(arguments: arguments)
            #expect(r.status == 0, "\(arguments): \(r)")
            #expect(r.stderr.isEmpty, "\(arguments) wrote to stderr: \(r.stderr)")
        }
    }

    @Test("generate: the key report is the result (stdout); 'Generating…' is a diagnostic (stderr)")
    func generateSplitsItsOutput() throws {
        let dir = try TempDir()
        let r = try keysmith("generate", "-N", "", "-C", "c", "-f", dir.path("k"))
        #expect(r.status == 0)
        #expect(r.stderr == "Generating public/private ed25519 key pair.\n")
        #expect(r.stdout.hasPrefix("Your identification has been saved in \(dir.path("k"))\n"))
        #expect(r.stdout.contains("The key's randomart image is:\n+--[ED25519 256]--+\n"))
    }

    @Test("every failure is one sentence on stderr starting 'keysmith: ', nothing on stdout, exit 1")
    func failuresOnStderr() throws {
        let k = try Keys()
        try writeText(k.dir.path("garbage"), "not a key\n")
        try writeText(k.dir.path("open"), try readText(k.plain), mode: 0o644)
        let runs: [[String]] = [
            ["public", "-f", k.dir.path("missing")],
            ["public", "-f", k.locked, "-P", "wrong"],
            ["public", "-f", k.dir.path("garbage")],
            ["public", "-f", k.dir.path("open")],
            ["fingerprint", "-f", k.dir.path("garbage")],
            ["generate", "-N", "", "-f", k.plain],
            ["passphrase", "-f", k.locked, "-P", "wrong", "-N", ""],
            ["comment", "-f", k.locked, "-P", "wrong", "-C", "x"],
            ["convert", "-f", k.dir.path("garbage"), "--to", "pem"],
            ["known-hosts", "remove", "host", "-f", k.dir.path("missing")],
            ["sign", "-f", k.locked, "-P", "wrong", "-n", "file", k.authorized],
            ["challenge", "respond", "-f", k.plain, "--audience", "app.example", "not-a-token"],
        ]
        for arguments in runs {
            let r = try keysmith(arguments: arguments)
            #expect(r.status == 1, "\(arguments): \(r)")
            #expect(r.stdout.isEmpty, "\(arguments) wrote to stdout: \(r.stdout)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(r.stderr)")
            #expect(r.stderr.hasPrefix("keysmith: ") && r.stderr.hasSuffix(".\n"), "\(arguments): \(r.stderr)")
        }
    }

    @Test("no colour or terminal escapes, on a pipe, on a terminal, with or without NO_COLOR")
    func noColour() throws {
        let k = try Keys()
        for environment in [[:], ["NO_COLOR": "1"], ["TERM": "xterm-256color", "CLICOLOR_FORCE": "1"]] {
            for arguments in [["fingerprint", "-v", "-f", k.authorized], ["public", "-f", k.locked, "-P", "pw"]] {
                let piped = try runProcess(keysmithPath, arguments, environment: environment)
                #expect(!(piped.stdout + piped.stderr).contains("\u{1B}"), "\(arguments) \(environment)")
                // The progress line (cleared with ESC [K) is PromptTests' subject; held back
                // here so a slow machine or a sanitizer build does not show it.
                let shown = try onTerminal(
                    arguments,
                    environment: environment.merging(["KEYSMITH_PROGRESS_DELAY_MS": "60000"]) { $1 }
                )
                #expect(shown.status == 0 && !shown.screen.contains("\u{1B}"), "\(arguments) \(environment): \(shown)")
            }
        }
    }

    @Test("fingerprint --json parses and agrees with ssh-keygen -l, awkward comments included")
    func fingerprintJSON() throws {
        let k = try Keys()
        let r = try keysmith("fingerprint", "--json", "-f", k.authorized)
        #expect(r.status == 0 && r.stderr.isEmpty)
        let parsed = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let theirs = try keygen(["-l", "-f", k.authorized]).stdout.split(separator: "\n")
        try #require(parsed.count == 2 && theirs.count == 2, "\(r.stdout)")
        for (object, line) in zip(parsed, theirs) {
            let words = line.split(separator: " ")
            #expect(object["bits"] as? Int == Int(words[0]))
            #expect(object["fingerprint"] as? String == String(words[1]))
            #expect(object["type"] as? String == String(words.last!.dropFirst().dropLast()))
        }
        #expect(parsed[0]["comment"] as? String == "say \"hi\" \\ tab\there caf\u{e9}")
        #expect(parsed[1]["comment"] as? String == "locked")
    }
}
