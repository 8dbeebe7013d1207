import Foundation
import KeysmithTestSupport
import Testing

/// copy-id authenticating each way the issue names, from the command line: keyboard-interactive
/// only (the password from --password-stdin or SSH_ASKPASS answering PAM's prompt), an existing
/// key file the account already trusts, and ssh-agent. Each deploy is proven by OpenSSH's ssh
/// logging in with the NEW key, and sshd's log shows which method let copy-id in.
@Suite("copy-id authentication methods against OpenSSH's sshd")
struct CopyIDAuthTests {
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let newKey: String

        init(extraConfig: [String] = []) throws {
            self.sshd = try SSHDFixture(extraConfig: extraConfig)
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.newKey = try Self.makeKey("new_ed25519", in: self.dir)
        }

        func makeKey(_ name: String, type: [String] = ["-t", "ed25519"]) throws -> String {
            try Self.makeKey(name, type: type, in: self.dir)
        }

        static func makeKey(_ name: String, type: [String] = ["-t", "ed25519"], in dir: TempDir) throws -> String {
            let path = dir.path(name)
            _ = try keygen(["-q"] + type + ["-N", "", "-C", name, "-f", path]).checked("ssh-keygen")
            return path
        }

        /// Puts `publicKeyFile` into the account's authorized_keys as sshd wants it (owned, 0600).
        func authorize(_ publicKeyFile: String) throws {
            let ssh = self.sshd.home + "/.ssh"
            try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
            try writeText(ssh + "/authorized_keys", try readText(publicKeyFile), mode: 0o600)
            _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
            _ = try runProcess("/bin/chown", ["-R", "\(self.sshd.user):\(self.sshd.user)", ssh]).checked("chown")
        }

        /// Runs `keysmith copy-id -i NEWKEY.pub` with `extra` options and `environment`.
        func copy(
            _ extra: [String],
            input: String? = nil,
            environment: [String: String] = [:]
        ) throws
            -> ProcessResult
        {
            try runProcess(
                keysmithPath,
                [
                    "copy-id", "-i", self.newKey + ".pub", "-p", String(self.sshd.port),
                    "-o", "UserKnownHostsFile=\(try self.sshd.knownHostsFile())", "-o", "StrictHostKeyChecking=yes",
                ] + extra + ["\(self.sshd.user)@\(self.sshd.host)"],
                input: input.map { Data($0.utf8) },
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""].merging(environment) { $1 }
            )
        }

        /// The deploy worked: one key added, and OpenSSH logs in with the new key.
        func expectDeployed(_ r: ProcessResult, accepted method: String) throws {
            #expect(r.status == 0, "\(r)\n\(self.sshd.log)")
            #expect(r.stdout.contains("Number of key(s) added: 1"), "\(r)")
            #expect(self.sshd.log.contains("Accepted \(method) for \(self.sshd.user)"), "\(self.sshd.log)")
            let login = try self.sshd.sshLogin(identity: self.newKey, command: "id -un")
            #expect(login.status == 0 && login.stdout == self.sshd.user + "\n", "\(login)")
        }
    }

    @Test("keyboard-interactive only (PasswordAuthentication no): the password from --password-stdin")
    func keyboardInteractiveFromStdin() throws {
        let s = try Setup(extraConfig: ["PasswordAuthentication no"])
        let r = try s.copy(["--password-stdin"], input: s.sshd.password + "\n")
        try s.expectDeployed(r, accepted: "keyboard-interactive/pam")
    }

    @Test("keyboard-interactive only: the password from SSH_ASKPASS answering PAM's prompt")
    func keyboardInteractiveFromAskpass() throws {
        let s = try Setup(extraConfig: ["PasswordAuthentication no"])
        let askpass = s.dir.path("askpass")
        let prompts = s.dir.path("prompts")
        try writeProgram(
            askpass,
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(prompts)'\nprintf '%s\\n' '\(s.sshd.password)'\n",
            mode: 0o700
        )
        let r = try s.copy([], environment: ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ""])
        try s.expectDeployed(r, accepted: "keyboard-interactive/pam")
        // PAM's own prompt reached the askpass program.
        let asked = (try? readText(prompts)) ?? ""
        #expect(asked.contains("Password"), "\(asked)")
    }

    @Test(
        "an existing key file the account already trusts (-o IdentityFile, publickey only)",
        arguments: ["ed25519", "rsa"]
    )
    func existingKeyFile(_ type: String) throws {
        let s = try Setup()
        let existing = try s.makeKey("existing_\(type)", type: ["-t", type] + (type == "rsa" ? ["-b", "2048"] : []))
        try s.authorize(existing + ".pub")
        let r = try s.copy([
            "-o", "IdentityFile=\(existing)", "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey",
            "-o", "BatchMode=yes",
        ])
        try s.expectDeployed(r, accepted: "publickey")
        // The existing line is kept byte for byte, the new one appended.
        #expect(s.sshd.authorizedKeys() == (try readText(existing + ".pub")) + (try readText(s.newKey + ".pub")))
    }

    @Test("ssh-agent: SSH_AUTH_SOCK of a real ssh-agent holding a key the account trusts")
    func agent() throws {
        let s = try Setup()
        let socket = s.dir.path("agent.sock")
        // A daemon must not be a Foundation Process child (see spawnDaemon).
        let pid = try spawnDaemon("/usr/bin/ssh-agent", ["-D", "-a", socket], log: s.dir.path("agent.log"))
        defer {
            // ssh-agent may have inherited a blocked SIGTERM (see AgentClientTests); SIGKILL it.
            kill(pid, SIGKILL)
            stopDaemon(pid)
        }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard Date() < deadline else { throw FixtureError("ssh-agent did not create \(socket)") }
            usleep(20_000)
        }
        let agentKey = try s.makeKey("agent_rsa", type: ["-t", "rsa", "-b", "2048"])
        _ = try runProcess("/usr/bin/ssh-add", [agentKey], environment: ["SSH_AUTH_SOCK": socket]).checked("ssh-add")
        // Only the agent holds it: the file beside the public half goes away.
        try FileManager.default.removeItem(atPath: agentKey)
        try s.authorize(agentKey + ".pub")
        let r = try s.copy(
            ["-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes"],
            environment: ["SSH_AUTH_SOCK": socket]
        )
        try s.expectDeployed(r, accepted: "publickey")
        #expect(s.sshd.log.contains("RSA SHA256:"), "the agent's RSA key let copy-id in")
    }
}
