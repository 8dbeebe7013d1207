import Foundation
import KeysmithTestSupport
import Testing

/// An askpass program that records each prompt it is given (one a line) and answers "old secret",
/// or "new secret" to the prompts for a new passphrase; `status` is its exit status.
private struct Askpass {
    let dir: TempDir
    let program: String
    let log: String

    init(status: Int = 0) throws {
        self.dir = try TempDir()
        self.log = self.dir.path("prompts")
        self.program = self.dir.path("askpass")
        // Written through a close-on-exec descriptor: a copy inherited by a process another
        // test starts meanwhile would make running the script fail with ETXTBSY.
        try writeProgram(
            self.program,
            """
            #!/bin/sh
            printf '%s\\n' "$1" >> '\(self.log)'
            case "$1" in
              *"empty for no passphrase"*|*again*) echo "new secret" ;;
              *) echo "old secret" ;;
            esac
            exit \(status)

            """
        )
    }

    /// The prompts asked so far, and forgets them.
    func takePrompts() -> [String] {
        defer { unlink(self.log) }
        return ((try? readText(self.log)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The environment for the askpass rules: SSH_ASKPASS_REQUIRE, DISPLAY and WAYLAND_DISPLAY
    /// as given (empty counts as unset, for ssh too); no agent.
    func environment(require: String = "force", display: String = "", wayland: String = "") -> [String: String] {
        [
            "SSH_ASKPASS": self.program, "SSH_ASKPASS_REQUIRE": require, "DISPLAY": display,
            "WAYLAND_DISPLAY": wayland, "SSH_AUTH_SOCK": "",
        ]
    }
}

/// Runs ssh-keygen in a new session, so it has no controlling terminal.
private func keygenWithoutTerminal(
    _ arguments: [String],
    input: Data? = nil,
    environment: [String: String]
) throws -> ProcessResult {
    try runProcess("/usr/bin/setsid", ["-w", Tool.sshKeygen] + arguments, input: input, environment: environment)
}

/// An Ed25519 key with the passphrase "old secret", made by ssh-keygen.
private func encryptedKey(_ dir: TempDir, _ name: String = "k") throws -> String {
    let path = dir.path(name)
    try #require(try keygen(["-q", "-t", "ed25519", "-a", "2", "-N", "old secret", "-C", "c", "-f", path]).status == 0)
    return path
}

@Suite("passphrases from SSH_ASKPASS, by ssh's rules, as ssh-keygen takes them")
struct AskpassTests {
    @Test("public: SSH_ASKPASS_REQUIRE=force without a terminal runs the askpass program, as ssh-keygen -y")
    func publicForced() throws {
        let askpass = try Askpass()
        let key = try encryptedKey(askpass.dir)
        let environment = askpass.environment()
        let ours = try withoutTerminal(["public", "-f", key], environment: environment)
        #expect(ours.status == 0, "\(ours)")
        #expect(askpass.takePrompts() == ["Enter passphrase for \(key): "])
        let theirs = try keygenWithoutTerminal(["-y", "-f", key], environment: environment)
        #expect(theirs.status == 0, "\(theirs)")
        #expect(askpass.takePrompts() == ["Enter passphrase: "])
        #expect(ours.stdout == theirs.stdout)
    }

    @Test(
        "without a terminal the askpass program runs under force, or with a display unless never, as ssh-keygen",
        arguments: [
            ("force", "", "", true), ("FORCE", "", "", true), ("", ":99", "", true), ("", "", "wayland-0", true),
            ("prefer", ":99", "", true), ("prefer", "", "", false), ("never", ":99", "", false), ("", "", "", false),
            ("never", "", "", false),
        ]
    )
    func rules(require: String, display: String, wayland: String, runs: Bool) throws {
        let askpass = try Askpass()
        let key = try encryptedKey(askpass.dir)
        let environment = askpass.environment(require: require, display: display, wayland: wayland)
        let ours = try withoutTerminal(["public", "-f", key], environment: environment)
        #expect(askpass.takePrompts().count == (runs ? 1 : 0), "\(ours)")
        #expect((ours.status == 0) == runs, "\(ours)")
        if !runs {
            #expect(ours.status == 1 && ours.stdout.isEmpty)
            #expect(ours.stderr.contains("there is no terminal to ask for it; give it with -P"), "\(ours)")
        }
        // WAYLAND_DISPLAY counts in newer OpenSSH releases; the 9.2 installed here knows DISPLAY only.
        guard wayland.isEmpty else { return }
        let theirs = try keygenWithoutTerminal(["-y", "-f", key], environment: environment)
        #expect(askpass.takePrompts().count == (runs ? 1 : 0), "ssh-keygen: \(theirs)")
        #expect((theirs.status == 0) == runs, "\(theirs)")
        if runs { #expect(ours.stdout == theirs.stdout) }
    }

    @Test("on a terminal, prefer with a display runs the askpass program; without one the terminal is asked")
    func preferOnTerminal() throws {
        let askpass = try Askpass()
        let key = try encryptedKey(askpass.dir)
        let publicPart = keyPart(try readText(key + ".pub"))
        let preferred = try onTerminal(
            ["public", "-f", key],
            environment: askpass.environment(require: "prefer", display: ":99")
        )
        #expect(preferred.status == 0 && preferred.screen.contains(publicPart), "\(preferred)")
        #expect(!preferred.screen.contains("Enter passphrase"))
        #expect(askpass.takePrompts() == ["Enter passphrase for \(key): "])
        let typed = try onTerminal(
            ["public", "-f", key],
            dialog: [("Enter passphrase for \(key): ", "old secret")],
            environment: askpass.environment(require: "prefer")
        )
        #expect(typed.status == 0 && typed.screen.contains(publicPart), "\(typed)")
        #expect(askpass.takePrompts().isEmpty)
    }

    @Test("an askpass program that fails is one sentence and exit 1; ssh-keygen fails too")
    func askpassFails() throws {
        let askpass = try Askpass(status: 3)
        let key = try encryptedKey(askpass.dir)
        let ours = try withoutTerminal(["public", "-f", key], environment: askpass.environment())
        #expect(ours.status == 1 && ours.stdout.isEmpty, "\(ours)")
        #expect(
            ours.stderr == "keysmith: the askpass program \(askpass.program) exited with status 3 and gave no answer.\n"
        )
        let theirs = try keygenWithoutTerminal(["-y", "-f", key], environment: askpass.environment())
        #expect(theirs.status != 0 && theirs.stdout.isEmpty, "\(theirs)")

        // A new passphrase that was not answered writes nothing (ssh-keygen would take it as empty).
        let made = try withoutTerminal(
            ["generate", "-q", "-f", askpass.dir.path("new")],
            environment: askpass.environment()
        )
        #expect(made.status == 1 && made.stderr.contains("exited with status 3"), "\(made)")
        #expect(!FileManager.default.fileExists(atPath: askpass.dir.path("new")))
    }

    @Test("generate asks for the new passphrase twice, with ssh-keygen's prompts; ssh-keygen reads the key")
    func generate() throws {
        let askpass = try Askpass()
        let ours = askpass.dir.path("ours")
        let made = try withoutTerminal(["generate", "-q", "-a", "2", "-f", ours], environment: askpass.environment())
        #expect(made.status == 0, "\(made)")
        let ourPrompts = askpass.takePrompts()
        #expect(ourPrompts == ["Enter passphrase (empty for no passphrase): ", "Enter same passphrase again: "])
        let theirs = askpass.dir.path("theirs")
        let r = try keygenWithoutTerminal(
            ["-q", "-t", "ed25519", "-a", "2", "-f", theirs],
            environment: askpass.environment()
        )
        #expect(r.status == 0, "\(r)")
        #expect(askpass.takePrompts() == ourPrompts)
        for path in [ours, theirs] {
            #expect(try keygen(["-y", "-P", "new secret", "-f", path]).status == 0, "\(path)")
        }
    }

    @Test("passphrase asks for the old one and the new one twice, as ssh-keygen -p")
    func passphrase() throws {
        let askpass = try Askpass()
        let ours = try encryptedKey(askpass.dir, "ours")
        let theirs = try encryptedKey(askpass.dir, "theirs")
        let changed = try withoutTerminal(["passphrase", "-a", "2", "-f", ours], environment: askpass.environment())
        #expect(changed.status == 0, "\(changed)")
        #expect(askpass.takePrompts().count == 3)
        let r = try keygenWithoutTerminal(["-p", "-a", "2", "-f", theirs], environment: askpass.environment())
        #expect(r.status == 0, "\(r)")
        #expect(askpass.takePrompts().count == 3)
        for path in [ours, theirs] {
            #expect(try keygen(["-y", "-P", "new secret", "-f", path]).status == 0, "\(path)")
        }
    }

    @Test("comment takes the passphrase from the askpass program, as ssh-keygen -c")
    func comment() throws {
        let askpass = try Askpass()
        let ours = try encryptedKey(askpass.dir, "ours")
        let theirs = try encryptedKey(askpass.dir, "theirs")
        let r = try withoutTerminal(["comment", "-f", ours, "-C", "renamed"], environment: askpass.environment())
        #expect(r.status == 0, "\(r)")
        let k = try keygenWithoutTerminal(["-c", "-f", theirs, "-C", "renamed"], environment: askpass.environment())
        #expect(k.status == 0, "\(k)")
        #expect(askpass.takePrompts().count == 2)
        for path in [ours, theirs] {
            #expect(try keygen(["-y", "-P", "old secret", "-f", path]).stdout.hasSuffix(" renamed\n"), "\(path)")
        }
    }

    @Test("convert and challenge respond take the passphrase from the askpass program")
    func convertAndRespond() throws {
        let askpass = try Askpass()
        let key = try encryptedKey(askpass.dir)
        // A private key rewritten in another format keeps its passphrase.
        let converted = try withoutTerminal(
            ["convert", "-f", key, "--to", "pkcs8"],
            environment: askpass.environment()
        )
        #expect(converted.status == 0, "\(converted)")
        #expect(askpass.takePrompts().count == 1)
        #expect(try readText(key).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        #expect(try keysmith(arguments: ["public", "-f", key, "-P", "old secret"]).status == 0)

        let issued = try keysmith(arguments: [
            "challenge", "issue", "--state", askpass.dir.path("state"), "--audience", "a.example",
        ])
        let token = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let respond = ["challenge", "respond", "--audience", "a.example", "-f", key, token]
        let response = try withoutTerminal(respond, environment: askpass.environment())
        #expect(response.status == 0, "\(response)")
        #expect(askpass.takePrompts().count == 1)
        #expect(response.stdout == (try keysmith(arguments: respond + ["-P", "old secret"])).stdout)
    }

    @Test("sign takes the passphrase from the askpass program; the signature is ssh-keygen's, byte for byte")
    func sign() throws {
        let askpass = try Askpass()
        let key = try encryptedKey(askpass.dir)
        let message = Data("signed with askpass\n".utf8)
        let ours = try withoutTerminal(
            ["sign", "-f", key, "-n", "file"],
            input: message,
            environment: askpass.environment()
        )
        #expect(ours.status == 0, "\(ours)")
        let theirs = try keygenWithoutTerminal(
            ["-Y", "sign", "-f", key, "-n", "file"],
            input: message,
            environment: askpass.environment()
        )
        #expect(theirs.status == 0, "\(theirs)")
        #expect(askpass.takePrompts().count == 2)
        #expect(ours.stdout == theirs.stdout && !ours.stdout.isEmpty)
    }

    @Test("rotate asks the new key's passphrase with the askpass program only where ssh would")
    func rotate() throws {
        let askpass = try Askpass()
        let key = try encryptedKey(askpass.dir, "new")
        let old = askpass.dir.path("old")
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "old", "-f", old]).status == 0)
        let arguments = ["rotate", "-i", key, "--old", old + ".pub", "-F", "/dev/null", "-p", "1", "u@127.0.0.1"]
        // No terminal, no display, no SSH_ASKPASS_REQUIRE: ssh would not run it.
        let refused = try withoutTerminal(arguments, environment: askpass.environment(require: ""))
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("is protected by a passphrase and none was given; nothing was changed"))
        #expect(askpass.takePrompts().isEmpty)
        // With a display it runs; the connection then fails (nothing listens on port 1).
        let asked = try withoutTerminal(arguments, environment: askpass.environment(require: "", display: ":99"))
        #expect(asked.status == 1, "\(asked)")
        #expect(askpass.takePrompts() == ["Enter passphrase for key '\(key)': "])
    }
}
