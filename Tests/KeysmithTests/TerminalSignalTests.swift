import Foundation
import KeysmithTestSupport
import Testing

/// What the pty driver saw: the terminal's settings (`stty -g`) before keysmith ran and after
/// the signal, the exit status dash reported, and the screen.
struct SignalledPrompt: CustomStringConvertible {
    let values: [String: String]
    let screen: String
    subscript(_ key: String) -> String? { self.values[key] }
    var description: String { "\(self.values)\nscreen:\n\(self.screen)" }
}

/// Runs an interactive dash (with job control) on a pseudo-terminal, starts `command` in it
/// and, once `prompt` shows, does `action`:
/// - `INT`: types Ctrl-C; `QUIT` likewise with Ctrl-\;
/// - `TERM`: sends SIGTERM to the terminal's foreground process group (keysmith);
/// - `TSTP`: types Ctrl-Z, then at dash's prompt `fg`, then at the prompt again `answer`.
/// Echo is read on the pty itself (tcgetattr on the master answers for the slave on Linux)
/// at the prompt and after; `stty -g` run by dash in the same terminal gives the settings.
func signalAtPrompt(
    _ command: [String],
    prompt: String,
    action: String,
    answer: String = "",
    environment: [String: String] = [:]
) throws -> SignalledPrompt {
    let driver = #"""
        import json, os, pty, re, select, signal, sys, termios
        prompt, action, answer = sys.argv[1].encode(), sys.argv[2], sys.argv[3].encode()
        command = " ".join("'" + a.replace("'", "'\\''") + "'" for a in sys.argv[4:])
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["PS1"] = "dash$ "
            os.execv("/usr/bin/dash", ["dash", "-i"])
        screen, mark, values = b"", 0, {}
        def expect(text, timeout=60):
            global screen, mark
            while text not in screen[mark:]:
                ready, _, _ = select.select([fd], [], [], timeout)
                chunk = os.read(fd, 4096) if ready else b""
                if not chunk:
                    values["error"] = "waited for %r" % text
                    raise SystemExit
                screen += chunk
            start = mark
            mark = screen.index(text, mark) + len(text)
            return screen[start:mark]
        def echo_on():
            return "yes" if termios.tcgetattr(fd)[3] & termios.ECHO else "no"
        def shell(line, pattern):
            os.write(fd, line.encode() + b"\n")
            seen = expect(b"dash$ ")
            found = re.findall(pattern, seen)
            return found[-1].decode() if found else "?"
        def settings():
            return shell('echo "<$(stty -g)>"', rb"<([0-9a-f:]+)>")
        try:
            expect(b"dash$ ")
            values["before"] = settings()
            os.write(fd, command.encode() + b"\n")
            expect(prompt)
            values["echoAtPrompt"] = echo_on()
            if action == "INT":
                os.write(fd, b"\x03")
            elif action == "QUIT":
                os.write(fd, b"\x1c")
            elif action == "TERM":
                os.killpg(os.tcgetpgrp(fd), signal.SIGTERM)
            elif action == "TSTP":
                os.write(fd, b"\x1a")
                expect(b"dash$ ")
                values["echoWhileStopped"] = echo_on()
                values["whileStopped"] = settings()
                os.write(fd, b"fg\n")
                expect(prompt)
                values["echoAfterContinue"] = echo_on()
                os.write(fd, answer + b"\n")
            expect(b"dash$ ")
            values["echoAfter"] = echo_on()
            values["status"] = shell('echo "status=$?"', rb"status=(\d+)")
            values["after"] = settings()
        finally:
            # A job left stopped makes dash refuse the first exit; the second one goes.
            os.write(fd, b"exit\nexit\n")
            try:
                while select.select([fd], [], [], 10)[0] and os.read(fd, 4096):
                    pass
            except OSError:
                pass
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            print(json.dumps({"values": values, "screen": screen.decode("utf-8", "replace")}))
        """#
    var env = ["SSH_ASKPASS": "", "DISPLAY": "", "WAYLAND_DISPLAY": "", "SSH_ASKPASS_REQUIRE": ""]
    env.merge(environment) { _, new in new }
    let r = try runProcess(Tool.python, ["-c", driver, prompt, action, answer] + command, environment: env)
    let object = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]
    return SignalledPrompt(
        values: object?["values"] as? [String: String] ?? ["error": "no output: \(r)"],
        screen: object?["screen"] as? String ?? r.stderr
    )
}

/// keysmith's prompts on a terminal leave it as they found it whatever signal arrives, as
/// readpassphrase(3) does: a killing signal is raised again once the settings are back (so
/// the shell sees keysmith die of it), and after a stop and `fg` the prompt asks again with
/// echo off and takes the passphrase.
@Suite("signals at a terminal prompt leave the terminal as it was")
struct TerminalSignalTests {
    /// An encrypted key whose passphrase `public` asks for.
    static func encryptedKey(_ dir: TempDir) throws -> String {
        let key = dir.path("id_ed25519")
        _ = try keygen(["-q", "-t", "ed25519", "-a", "2", "-N", "sesame", "-C", "signals", "-f", key])
            .checked("ssh-keygen")
        return key
    }

    @Test(
        "a killing signal at the passphrase prompt: echo back on, the settings as before, the signal's status",
        arguments: [("INT", 130), ("TERM", 143), ("QUIT", 131)]
    )
    func killed(_ signal: String, _ status: Int) throws {
        let dir = try TempDir()
        let key = try Self.encryptedKey(dir)
        let r = try signalAtPrompt(
            [keysmithPath, "public", "-f", key],
            prompt: "Enter passphrase for \(key): ",
            action: signal
        )
        #expect(r["error"] == nil, "\(r)")
        #expect(r["echoAtPrompt"] == "no", "echo is off while the passphrase is typed: \(r)")
        #expect(r["echoAfter"] == "yes", "\(r)")
        #expect(r["status"] == String(status), "\(r)")
        #expect(r["before"] != nil && r["after"] == r["before"], "\(r)")
    }

    @Test(
        "Ctrl-Z then fg at the passphrase prompt: the terminal as before while stopped, the prompt again, the passphrase taken"
    )
    func stoppedAndContinued() throws {
        let dir = try TempDir()
        let key = try Self.encryptedKey(dir)
        let r = try signalAtPrompt(
            [keysmithPath, "public", "-f", key],
            prompt: "Enter passphrase for \(key): ",
            action: "TSTP",
            answer: "sesame"
        )
        #expect(r["error"] == nil, "\(r)")
        #expect(r["echoAtPrompt"] == "no", "\(r)")
        #expect(r["echoWhileStopped"] == "yes", "\(r)")
        #expect(r["before"] != nil && r["whileStopped"] == r["before"], "\(r)")
        #expect(r["echoAfterContinue"] == "no", "echo is off again once continued: \(r)")
        #expect(r["status"] == "0", "\(r)")
        #expect(r["after"] == r["before"], "\(r)")
        let line = try readText(key + ".pub").split(separator: " ").prefix(2).joined(separator: " ")
        #expect(r.screen.contains(line), "the key was decrypted with the passphrase typed after fg: \(r)")
        #expect(!r.screen.contains("sesame"), "the passphrase is not echoed: \(r)")
    }

    @Test(
        "Ctrl-C at the host key question (echo on) and Ctrl-Z then fg at the password prompt, over keysmith's own client"
    )
    func connectionPrompts() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = dir.path("id_ed25519")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "deploy", "-f", key]).checked("ssh-keygen")
        let home = ["HOME": dir.path("home")]
        let destination = "\(sshd.user)@\(sshd.host)"
        let question = try signalAtPrompt(
            [keysmithPath, "copy-id", "-p", String(sshd.port), "-o", "UserKnownHostsFile=\(dir.path("kh"))", "-i", key]
                + [destination],
            prompt: "(yes/no/[fingerprint])? ",
            action: "INT",
            environment: home
        )
        #expect(question["error"] == nil, "\(question)")
        #expect(question["echoAtPrompt"] == "yes", "\(question)")
        #expect(question["status"] == "130", "\(question)")
        #expect(question["before"] != nil && question["after"] == question["before"], "\(question)")

        let password = try signalAtPrompt(
            [keysmithPath, "copy-id", "-p", String(sshd.port), "-o", "UserKnownHostsFile=\(try sshd.knownHostsFile())"]
                + ["-i", key, destination],
            prompt: "assword: ",
            action: "TSTP",
            answer: sshd.password,
            environment: home
        )
        #expect(password["error"] == nil, "\(password)")
        #expect(password["echoAtPrompt"] == "no", "\(password)")
        #expect(password["echoWhileStopped"] == "yes", "\(password)")
        #expect(password["echoAfterContinue"] == "no", "\(password)")
        #expect(password["status"] == "0", "\(password)")
        #expect(password["after"] == password["before"], "\(password)")
        #expect(!password.screen.contains(sshd.password), "\(password)")
        #expect(try sshd.sshLogin(identity: key).status == 0)
    }
}
