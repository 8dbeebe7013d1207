import Foundation
import KeysmithTestSupport
import Testing

/// KnownHostsCommand in keysmith's client against OpenSSH's sshd, each case run by
/// OpenSSH's ssh too: the command logs the arguments it was given (its `%` tokens expanded)
/// and prints known_hosts lines, so the invocations of both clients are compared word for word.
@Suite("KnownHostsCommand against sshd, as ssh")
struct KnownHostsCommandClientTests {
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let key: String
        /// The command: logs "$@" to `log`, prints `lines`, exits with the status in `status`.
        let script: String

        init() throws {
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.sshd = try SSHDFixture()
            self.key = self.dir.path("id_ed25519")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", self.key]).checked("ssh-keygen")
            try installAuthorizedKeys(self.sshd, Array(try readText(self.key + ".pub").utf8))
            self.script = self.dir.path("khc")
            try writeText(
                self.script,
                """
                #!/bin/sh
                printf '%s\\n' "$*" >> '\(self.dir.path("log"))'
                cat '\(self.dir.path("lines"))'
                exit "$(cat '\(self.dir.path("status"))')"

                """,
                mode: 0o755
            )
            try writeText(self.dir.path("known_hosts"), "", mode: 0o644)
        }

        /// Sets what the command prints and how it exits, and empties its log.
        func answer(_ lines: String, status: Int = 0) throws {
            try writeText(self.dir.path("lines"), lines, mode: 0o644)
            try writeText(self.dir.path("status"), "\(status)\n", mode: 0o644)
            try writeText(self.dir.path("log"), "", mode: 0o644)
        }

        /// The invocations logged since ``answer(_:status:)``.
        func invocations() throws -> [Substring] {
            try readText(self.dir.path("log")).split(separator: "\n")
        }

        var hostLine: String { "[\(self.sshd.host)]:\(self.sshd.port) \(self.sshd.hostKeys["ssh-ed25519"] ?? "")\n" }

        func options(_ extra: [String]) -> [String] {
            [
                "-o", "IdentityFile=\(self.key)", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=\(self.dir.path("known_hosts"))", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "KnownHostsCommand=\(self.script) %I %H %t %f %K %h %p %r %n %k %u %i %d %l %L %C %%",
                "-p", String(self.sshd.port),
            ] + extra.flatMap { ["-o", $0] }
        }

        var destination: String { "\(self.sshd.user)@\(self.sshd.host)" }

        func keysmithRun(_ extra: [String] = []) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                ["list-ids"] + self.options(extra) + [self.destination],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        func sshRun(_ extra: [String] = []) throws -> ProcessResult {
            try runProcess(
                Tool.ssh,
                ["-F", "/dev/null"] + self.options(extra) + [self.destination, "true"],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }
    }

    @Test(
        "the command's lines vouch for the host; it is run with ORDER and HOSTNAME and the same words as by ssh",
        arguments: [[String](), ["HostKeyAlgorithms=ssh-ed25519"], ["HostKeyAlias=alias.example"]]
    )
    func trusted(extra: [String]) throws {
        let s = try Setup()
        let name = extra.first { $0.hasPrefix("HostKeyAlias=") }.map { String($0.dropFirst(13)) }
        let line = name.map { "\($0) \(s.sshd.hostKeys["ssh-ed25519"] ?? "")\n" } ?? s.hostLine
        try s.answer(line)
        let ssh = try s.sshRun(extra)
        #expect(ssh.status == 0, "\(ssh)")
        let sshInvocations = try s.invocations()
        try s.answer(line)
        let ours = try s.keysmithRun(extra)
        #expect(ours.status == 0, "\(ours)")
        let oursInvocations = try s.invocations()
        #expect(oursInvocations == sshInvocations, "keysmith: \(oursInvocations)\nssh: \(sshInvocations)")
        #expect(sshInvocations.contains { $0.hasPrefix("HOSTNAME ") }, "\(sshInvocations)")
        // ssh orders the host key algorithms by what it knows only when none are given.
        let ordered = !extra.contains { $0.hasPrefix("HostKeyAlgorithms=") }
        #expect(sshInvocations.contains { $0.hasPrefix("ORDER ") } == ordered, "\(sshInvocations)")
        #expect(try readText(s.dir.path("known_hosts")).isEmpty, "nothing is recorded")
    }

    @Test("a command that fails fails the connection, a changed key from it is refused naming it, as by ssh")
    func refused() throws {
        let s = try Setup()
        try s.answer(s.hostLine, status: 1)
        let ssh = try s.sshRun()
        #expect(ssh.status == 255)
        #expect(ssh.stderr.contains("KnownHostsCommand failed"), "\(ssh)")
        let ours = try s.keysmithRun()
        #expect(ours.status == 1, "\(ours)")
        #expect(ours.stderr.contains("KnownHostsCommand failed"), "\(ours)")

        let stranger = s.dir.path("stranger")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", stranger]).checked("ssh-keygen")
        try s.answer("[\(s.sshd.host)]:\(s.sshd.port) \(try readText(stranger + ".pub"))")
        let changedSSH = try s.sshRun(["HostKeyAlgorithms=ssh-ed25519"])
        #expect(changedSSH.status == 255)
        #expect(changedSSH.stderr.contains("KnownHostsCommand-HOSTNAME:1"), "\(changedSSH)")
        let changed = try s.keysmithRun(["HostKeyAlgorithms=ssh-ed25519"])
        #expect(changed.status == 1, "\(changed)")
        #expect(changed.stderr.contains("KnownHostsCommand-HOSTNAME:1"), "\(changed)")

        // A relative program is not run (misc.c subprocess): the host is simply unknown.
        for run in [s.sshRun, s.keysmithRun] {
            let r = try run(["KnownHostsCommand=khc %H"])
            #expect(r.status != 0, "\(r)")
        }
    }
}
