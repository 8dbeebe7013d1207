import Foundation
import KeysmithTestSupport
import Testing

/// Drives keysmith's passphrase prompts through a pseudo-terminal.
@Suite("passphrase prompts on a terminal")
struct PromptTests {
    /// Runs `arguments` under a pty (Python's pty module), typing each answer when a
    /// prompt ending in ": " appears. Returns the exit status and everything the
    /// terminal showed.
    static func runOnTerminal(_ arguments: [String], answers: [String]) throws -> (status: Int32, screen: String) {
        let driver = """
            import os, pty, select, sys
            answers = sys.argv[1].split("\\x1f") if sys.argv[1] else []
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[2], sys.argv[2:])
            screen, seen = b"", 0
            while True:
                ready, _, _ = select.select([fd], [], [], 20)
                if not ready:
                    os.kill(pid, 9)
                    break
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
                if screen.rstrip(b" ").endswith(b":") and len(screen) > seen and answers:
                    seen = len(screen)
                    os.write(fd, answers.pop(0).encode() + b"\\n")
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(screen.decode("utf-8", "replace"))
            sys.exit(os.waitstatus_to_exitcode(status))
            """
        let r = try runProcess(
            Tool.python,
            ["-c", driver, answers.joined(separator: "\u{1f}"), keysmithPath] + arguments
        )
        return (r.status, r.stdout)
    }

    @Test("generate asks twice without echo and ssh-keygen reads the key with that passphrase")
    func generateAsksTwice() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let (status, screen) = try Self.runOnTerminal(
            ["generate", "-q", "-a", "2", "-f", key],
            answers: ["typed secret", "typed secret"]
        )
        #expect(status == 0, "\(screen)")
        #expect(screen.contains("Enter passphrase (empty for no passphrase):"))
        #expect(screen.contains("Enter same passphrase again:"))
        #expect(!screen.contains("typed secret"), "the passphrase must not be echoed")
        #expect(try keygen(["-y", "-P", "typed secret", "-f", key]).status == 0)
        #expect(try keygen(["-y", "-P", "", "-f", key]).status != 0)
    }

    @Test("different passphrases are refused and nothing is written")
    func mismatch() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let (status, screen) = try Self.runOnTerminal(["generate", "-q", "-f", key], answers: ["one", "two"])
        #expect(status == 1, "\(screen)")
        #expect(screen.contains("do not match"))
        #expect(!FileManager.default.fileExists(atPath: key))
        #expect(!FileManager.default.fileExists(atPath: key + ".pub"))
    }

    @Test("an encrypted key asks for its passphrase; a wrong one is refused")
    func readPrompt() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", "ecdsa", "-a", "2", "-f", key, "-N", "right one", "-C", "c"]).status == 0)
        let good = try Self.runOnTerminal(["public", "-f", key], answers: ["right one"])
        #expect(good.status == 0, "\(good.screen)")
        #expect(good.screen.contains(keyPart(try readText(key + ".pub"))))
        let bad = try Self.runOnTerminal(["public", "-f", key], answers: ["wrong one"])
        #expect(bad.status == 1)
        #expect(bad.screen.contains("incorrect passphrase"))
    }
}
