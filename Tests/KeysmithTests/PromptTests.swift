import Foundation
import KeysmithTestSupport
import Testing

/// What a terminal showed while keysmith ran on it.
struct TerminalSession: CustomStringConvertible {
    let status: Int32
    let screen: String
    var description: String { "exit \(self.status), screen:\n\(self.screen)" }
}

/// Runs keysmith on a pseudo-terminal (Python's pty module): its controlling terminal,
/// stdin, stdout and stderr are the pty. `dialog` is a list of (prompt, answer): when the
/// text `prompt` appears after the previous answer, `answer` and a newline are typed.
/// The answer `@FINGERPRINT` types the SHA256 fingerprint the screen shows.
func onTerminal(
    _ arguments: [String],
    dialog: [(String, String)] = [],
    environment: [String: String] = [:]
) throws -> TerminalSession {
    let driver = """
        import json, os, pty, re, select, sys
        dialog = json.loads(sys.argv[1])
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.argv[2], sys.argv[2:])
        screen, mark = b"", 0
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                os.kill(pid, 9)
                screen += b"\\n[driver: nothing more on the terminal; still waiting for %r]" % (dialog[:1],)
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
            while dialog and dialog[0][0].encode() in screen[mark:]:
                prompt, answer = dialog.pop(0)
                mark = screen.index(prompt.encode(), mark) + len(prompt)
                if answer == "@FINGERPRINT":
                    answer = re.findall(rb"fingerprint is (SHA256:[A-Za-z0-9+/]+)", screen)[-1].decode()
                os.write(fd, answer.encode() + b"\\n")
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(screen.decode("utf-8", "replace"))
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    let json = try JSONSerialization.data(withJSONObject: dialog.map { [$0.0, $0.1] })
    let r = try runProcess(
        Tool.python,
        ["-c", driver, String(decoding: json, as: UTF8.self), keysmithPath] + arguments,
        environment: environment
    )
    return TerminalSession(status: r.status, screen: r.stdout)
}

/// Runs keysmith in a new session, so it has no controlling terminal even when the tests
/// themselves run on one.
func withoutTerminal(
    _ arguments: [String],
    input: Data? = nil,
    environment: [String: String] = [:]
) throws
    -> ProcessResult
{
    try runProcess("/usr/bin/setsid", ["-w", keysmithPath] + arguments, input: input, environment: environment)
}

let newPassphrase = [
    ("Enter passphrase (empty for no passphrase): ", ""), ("Enter same passphrase again: ", ""),
]

@Suite("prompts on a terminal and without one")
struct PromptTests {
    // MARK: passphrases

    @Test("generate asks twice without echo and ssh-keygen reads the key with that passphrase")
    func generateAsksTwice() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let t = try onTerminal(
            ["generate", "-q", "-a", "2", "-f", key],
            dialog: [
                ("(empty for no passphrase): ", "typed secret"), ("Enter same passphrase again: ", "typed secret"),
            ]
        )
        #expect(t.status == 0, "\(t)")
        #expect(!t.screen.contains("typed secret"), "the passphrase must not be echoed")
        #expect(try keygen(["-y", "-P", "typed secret", "-f", key]).status == 0)
        #expect(try keygen(["-y", "-P", "", "-f", key]).status != 0)
    }

    @Test("different passphrases are refused and nothing is written")
    func mismatch() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let t = try onTerminal(
            ["generate", "-q", "-f", key],
            dialog: [("(empty for no passphrase): ", "one"), ("again: ", "two")]
        )
        #expect(t.status == 1, "\(t)")
        #expect(t.screen.contains("keysmith: the passphrases do not match; nothing was written."))
        #expect(!FileManager.default.fileExists(atPath: key))
        #expect(!FileManager.default.fileExists(atPath: key + ".pub"))
    }

    @Test("an empty passphrase typed twice means none, as ssh-keygen")
    func emptyPassphrase() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let t = try onTerminal(["generate", "-q", "-f", key], dialog: newPassphrase)
        #expect(t.status == 0, "\(t)")
        #expect(try keygen(["-y", "-P", "", "-f", key]).status == 0)
    }

    @Test("an encrypted key asks for its passphrase; a wrong one is refused")
    func readPrompt() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", "ecdsa", "-a", "2", "-f", key, "-N", "right one", "-C", "c"]).status == 0)
        let good = try onTerminal(["public", "-f", key], dialog: [("Enter passphrase for \(key): ", "right one")])
        #expect(good.status == 0, "\(good)")
        #expect(good.screen.contains(keyPart(try readText(key + ".pub"))))
        #expect(!good.screen.contains("right one"))
        let bad = try onTerminal(["public", "-f", key], dialog: [("Enter passphrase for \(key): ", "wrong one")])
        #expect(bad.status == 1)
        #expect(bad.screen.contains("keysmith: \(key): incorrect passphrase."))
    }

    @Test("passphrase asks for the old one, then the new one twice; a mismatch leaves the file as it was")
    func changePassphrase() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", "ed25519", "-a", "2", "-f", key, "-N", "old one", "-C", "c"]).status == 0)
        let before = try readBytes(key)
        let refused = try onTerminal(
            ["passphrase", "-a", "2", "-f", key],
            dialog: [
                ("Enter passphrase for \(key): ", "old one"), ("(empty for no passphrase): ", "new one"),
                ("again: ", "new typo"),
            ]
        )
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.screen.contains("do not match"))
        #expect(try readBytes(key) == before)

        let t = try onTerminal(
            ["passphrase", "-a", "2", "-f", key],
            dialog: [
                ("Enter passphrase for \(key): ", "old one"), ("(empty for no passphrase): ", "new one"),
                ("again: ", "new one"),
            ]
        )
        #expect(t.status == 0, "\(t)")
        #expect(!t.screen.contains("old one") && !t.screen.contains("new one"), "\(t)")
        #expect(try keygen(["-y", "-P", "new one", "-f", key]).status == 0)
        #expect(try keygen(["-y", "-P", "old one", "-f", key]).status != 0)
    }

    @Test("without a terminal, a passphrase comes from -N / -P, and its absence is one sentence")
    func noTerminal() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let missing = try withoutTerminal(["generate", "-q", "-f", key])
        #expect(missing.status == 1)
        #expect(
            missing.stderr
                == "keysmith: there is no terminal to ask for a passphrase; give one with -N (-N '' for none).\n"
        )
        #expect(!FileManager.default.fileExists(atPath: key))
        #expect(try withoutTerminal(["generate", "-q", "-a", "2", "-N", "pw", "-f", key]).status == 0)
        let locked = try withoutTerminal(["public", "-f", key])
        #expect(locked.status == 1 && locked.stdout.isEmpty)
        #expect(locked.stderr.contains("there is no terminal to ask for it; give it with -P"), "\(locked)")
        let opened = try withoutTerminal(["public", "-f", key, "-P", "pw"])
        let publicLine = try readText(key + ".pub")
        #expect(opened.status == 0 && opened.stdout == publicLine)
        let changed = try withoutTerminal(["passphrase", "-f", key, "-P", "pw", "-N", ""])
        #expect(changed.status == 0, "\(changed)")
        #expect(try keygen(["-y", "-P", "", "-f", key]).status == 0)
    }

    // MARK: progress

    @Test("a long bcrypt derivation shows one progress line on the terminal, cleared when done")
    func progressOnTerminal() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        // The indicator waits half a second; a zero delay makes this independent of speed.
        let t = try onTerminal(
            ["generate", "-q", "-a", "16", "-N", "pw", "-f", key],
            environment: ["KEYSMITH_PROGRESS_DELAY_MS": "0"]
        )
        #expect(t.status == 0, "\(t)")
        #expect(t.screen.contains("keysmith: deriving the key from the passphrase\u{2026}\r\u{1B}[K"), "\(t)")
        let opened = try onTerminal(
            ["public", "-f", key, "-P", "pw"],
            environment: ["KEYSMITH_PROGRESS_DELAY_MS": "0"]
        )
        #expect(opened.screen.hasPrefix("keysmith: deriving the key from the passphrase\u{2026}\r\u{1B}[Kssh-ed25519 "))

        // A pipe never sees it, whatever the delay.
        let piped = try runProcess(
            keysmithPath,
            ["public", "-f", key, "-P", "pw"],
            environment: ["KEYSMITH_PROGRESS_DELAY_MS": "0"]
        )
        let publicLine = try readText(key + ".pub")
        #expect(piped.status == 0 && piped.stderr.isEmpty && piped.stdout == publicLine)
    }

    @Test("a short derivation shows no progress line")
    func noProgressWhenQuick() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        // A derivation shorter than the delay: a minute, not the default half second, so a
        // slow machine or a sanitizer build cannot outlast it.
        let t = try onTerminal(
            ["generate", "-q", "-a", "1", "-N", "pw", "-f", key],
            environment: ["KEYSMITH_PROGRESS_DELAY_MS": "60000"]
        )
        #expect(t.status == 0 && t.screen.isEmpty, "\(t)")
    }

    // MARK: the host key question and the password

    /// list-ids against a fresh sshd with an empty known_hosts and StrictHostKeyChecking=ask.
    static func connect(
        _ sshd: SSHDFixture,
        knownHosts: String,
        dialog: [(String, String)]
    ) throws -> TerminalSession {
        try onTerminal(
            [
                "list-ids", "-F", "/dev/null", "-p", String(sshd.port), "-o", "UserKnownHostsFile=\(knownHosts)",
                "-o", "StrictHostKeyChecking=ask", "-o", "PreferredAuthentications=password",
                "\(sshd.user)@\(sshd.host)",
            ],
            dialog: dialog,
            environment: ["SSH_AUTH_SOCK": "", "SSH_ASKPASS": ""]
        )
    }

    static let question = "Are you sure you want to continue connecting (yes/no/[fingerprint])? "

    @Test(
        "the host key question takes yes or the fingerprint, as ssh; the password is not echoed",
        arguments: ["yes", "YES", "  yes please", "@FINGERPRINT"]
    )
    func hostKeyAccepted(answer: String) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let kh = dir.path("known_hosts")
        let name = "[\(sshd.host)]:\(sshd.port)"
        let t = try Self.connect(
            sshd,
            knownHosts: kh,
            dialog: [(Self.question, answer), ("\(sshd.user)@\(sshd.host)'s password: ", sshd.password)]
        )
        #expect(t.status == 0, "\(t)\n\(sshd.log)")
        #expect(t.screen.contains("The authenticity of host '\(name) (\(name))' can't be established."))
        #expect(
            t.screen.range(of: #"ED25519 key fingerprint is SHA256:[A-Za-z0-9+/]{43}\."#, options: .regularExpression)
                != nil,
            "\(t)"
        )
        #expect(t.screen.contains("Warning: Permanently added '\(name)' (ED25519) to the list of known hosts."))
        #expect(!t.screen.contains(sshd.password), "the password must not be echoed")
        if answer != "@FINGERPRINT" { #expect(t.screen.contains(Self.question + answer)) }
        let found = try keygen(["-F", name, "-f", kh])
        let hostKey = try #require(sshd.hostKeys["ssh-ed25519"])
        #expect(found.status == 0 && found.stdout.contains(keyPart(hostKey)))
        // The next connection asks nothing about the host.
        let again = try Self.connect(
            sshd,
            knownHosts: kh,
            dialog: [("\(sshd.user)@\(sshd.host)'s password: ", sshd.password)]
        )
        #expect(again.status == 0 && !again.screen.contains("authenticity"), "\(again)")
    }

    @Test(
        "no, an empty answer, or anything else then no refuses the host and writes nothing",
        arguments: [
            [("no", "")], [("", "")], [("maybe", "Please type 'yes', 'no' or the fingerprint: "), ("no", "")],
            [("SHA256:not-the-one", "Please type 'yes', 'no' or the fingerprint: "), ("NO", "")],
            [("yesterday", "Please type 'yes', 'no' or the fingerprint: "), ("no thanks", "")],
        ]
    )
    func hostKeyRefused(answers: [(String, String)]) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let kh = dir.path("known_hosts")
        var dialog: [(String, String)] = []
        var prompt = Self.question
        for (answer, next) in answers {
            dialog.append((prompt, answer))
            prompt = next
        }
        let t = try Self.connect(sshd, knownHosts: kh, dialog: dialog)
        #expect(t.status == 1, "\(t)")
        #expect(t.screen.contains(": the host key of [\(sshd.host)]:\(sshd.port) was not accepted."), "\(t)")
        #expect(!t.screen.contains("password:"), "nothing is sent to a refused host")
        #expect(!FileManager.default.fileExists(atPath: kh))
    }

    @Test("a wrong password is asked again, as ssh does")
    func passwordAgain() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let prompt = "\(sshd.user)@\(sshd.host)'s password: "
        let t = try Self.connect(
            sshd,
            knownHosts: try sshd.knownHostsFile(),
            dialog: [(prompt, "wrong password"), (prompt, sshd.password)]
        )
        _ = dir
        #expect(t.status == 0, "\(t)\n\(sshd.log)")
        #expect(!t.screen.contains("wrong password") && !t.screen.contains(sshd.password))
    }

    @Test("without a terminal an unknown host is refused under ask, and nothing is written")
    func hostKeyWithoutTerminal() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let kh = dir.path("known_hosts")
        let r = try withoutTerminal(
            [
                "list-ids", "-F", "/dev/null", "-p", String(sshd.port), "-o", "UserKnownHostsFile=\(kh)",
                "--password-stdin", "\(sshd.user)@\(sshd.host)",
            ],
            input: Data((sshd.password + "\n").utf8),
            environment: ["SSH_AUTH_SOCK": "", "SSH_ASKPASS": ""]
        )
        #expect(r.status == 1 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr.contains("there is no terminal to confirm its ED25519 key SHA256:"), "\(r)")
        #expect(r.stderr.contains("StrictHostKeyChecking=accept-new"))
        #expect(!FileManager.default.fileExists(atPath: kh))
    }
}
