import Foundation
import KeysmithTestSupport
import Testing

/// RevokedHostKeys and NoHostAuthenticationForLocalhost in keysmith's client against
/// OpenSSH's sshd, each case run by OpenSSH's ssh too with the same options: the KRLs are
/// made by `ssh-keygen -k`, and what keysmith says is compared with what ssh says.
@Suite("RevokedHostKeys and NoHostAuthenticationForLocalhost against sshd, as ssh")
struct HostKeyRevocationTests {
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let key: String

        init(extraConfig: [String] = []) throws {
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.sshd = try SSHDFixture(extraConfig: extraConfig)
            self.key = self.dir.path("id_ed25519")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", self.key]).checked("ssh-keygen")
            try installAuthorizedKeys(self.sshd, Array(try readText(self.key + ".pub").utf8))
        }

        /// The server's Ed25519 host key as a public key file.
        func hostKeyFile() throws -> String {
            let path = self.dir.path("host_ed25519.pub")
            try writeText(path, try #require(self.sshd.hostKeys["ssh-ed25519"]) + "\n", mode: 0o644)
            return path
        }

        /// `ssh-keygen -k` over `files`: a KRL revoking those keys.
        func krl(_ name: String, revoking files: [String]) throws -> String {
            let path = self.dir.path(name)
            _ = try keygen(["-k", "-f", path] + files).checked("ssh-keygen -k")
            return path
        }

        func options(_ extra: [String], knownHosts: String? = nil) throws -> [String] {
            [
                "-o", "IdentityFile=\(self.key)", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "HostKeyAlgorithms=ssh-ed25519",
                "-o", "UserKnownHostsFile=\(try knownHosts ?? self.sshd.knownHostsFile())",
                "-o", "StrictHostKeyChecking=yes", "-p", String(self.sshd.port),
            ] + extra.flatMap { ["-o", $0] }
        }

        var destination: String { "\(self.sshd.user)@\(self.sshd.host)" }

        func keysmithRun(_ extra: [String], knownHosts: String? = nil) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                ["list-ids"] + self.options(extra, knownHosts: knownHosts) + [self.destination],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        func sshRun(_ extra: [String], knownHosts: String? = nil) throws -> ProcessResult {
            try runProcess(
                Tool.ssh,
                ["-F", "/dev/null"] + self.options(extra, knownHosts: knownHosts) + [self.destination, "true"],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        /// keysmith's one sentence (its INFO lines aside).
        func complaint(_ r: ProcessResult) -> [Substring] {
            r.stderr.split(separator: "\n").filter { !$0.hasPrefix("keysmith: INFO:") }
        }
    }

    /// ssh's stderr line that starts with `prefix`, up to its end.
    static func sshLine(_ r: ProcessResult, _ prefix: String) -> String? {
        r.stderr.split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix) }.map(String.init)
    }

    @Test(
        "a host key a KRL or a key list revokes is refused with ssh's words; one they do not revoke is not",
        arguments: ["krl", "list"]
    )
    func revoked(kind: String) throws {
        let s = try Setup()
        let hostKey = try s.hostKeyFile()
        let file = kind == "krl" ? try s.krl("revoked.krl", revoking: [hostKey]) : hostKey
        let ssh = try s.sshRun(["RevokedHostKeys=\(file)"])
        #expect(ssh.status == 255, "\(ssh)")
        let words = try #require(Self.sshLine(ssh, "Host key ED25519 SHA256:"), "\(ssh)")
        #expect(words.hasSuffix(" revoked by file \(file)"), "\(ssh)")
        let ours = try s.keysmithRun(["RevokedHostKeys=\(file)"])
        #expect(ours.status == 1, "\(ours)")
        #expect(s.complaint(ours).count == 1, "\(ours)")
        #expect(ours.stderr.contains(words), "keysmith: \(ours)\nssh: \(words)")

        // A file revoking another key lets both in; `none` is no file.
        let other = s.dir.path("other")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", other]).checked("ssh-keygen")
        let unrelated = kind == "krl" ? try s.krl("other.krl", revoking: [other + ".pub"]) : other + ".pub"
        for option in ["RevokedHostKeys=\(unrelated)", "RevokedHostKeys=none"] {
            #expect(try s.sshRun([option]).status == 0, "\(option)")
            let r = try s.keysmithRun([option])
            #expect(r.status == 0, "\(option): \(r)")
        }
    }

    @Test("a RevokedHostKeys file that is missing or not a KRL nor a key list refuses every host key, as ssh")
    func unusableFile() throws {
        let s = try Setup()
        let garbage = s.dir.path("garbage")
        try writeText(garbage, "this is not a key\n", mode: 0o644)
        for file in [s.dir.path("missing"), garbage] {
            let ssh = try s.sshRun(["RevokedHostKeys=\(file)"])
            #expect(ssh.status == 255, "\(ssh)")
            let prefix = try #require(Self.sshLine(ssh, "Error checking host key ED25519 SHA256:"), "\(ssh)")
            let head = String(prefix.prefix { $0 != ":" }) + ":"
            let ours = try s.keysmithRun(["RevokedHostKeys=\(file)"])
            #expect(ours.status == 1, "\(ours)")
            #expect(s.complaint(ours).count == 1, "\(ours)")
            let fingerprintAndFile = prefix.dropFirst(head.count).prefix { $0 != ":" }
            #expect(ours.stderr.contains("Error checking host key ED25519 SHA256:"), "\(ours)")
            #expect(ours.stderr.contains(String(fingerprintAndFile)), "keysmith: \(ours)\nssh: \(prefix)")
        }
    }

    @Test("NoHostAuthenticationForLocalhost accepts any key on a loopback connection, not with HostKeyAlias, as ssh")
    func localhost() throws {
        // sshd on ::1 too: the loopback test is on the address, in either family.
        let s = try Setup(extraConfig: ["ListenAddress ::1"])
        // A known_hosts that knows another key for the server: a changed host key.
        let stranger = s.dir.path("stranger")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", stranger]).checked("ssh-keygen")
        let knownHosts = s.dir.path("known_hosts")
        let changed = "[\(s.sshd.host)]:\(s.sshd.port) \(try readText(stranger + ".pub"))"
        try writeText(knownHosts, changed, mode: 0o644)
        for (options, logsIn) in [
            ([String](), false),
            (["NoHostAuthenticationForLocalhost=yes"], true),
            (["NoHostAuthenticationForLocalhost=no"], false),
            (["NoHostAuthenticationForLocalhost=yes", "HostKeyAlias=\(s.sshd.host)"], false),
            // Not a name: the address the connection went to (known_hosts has no [::1] or
            // [localhost] entry, so without the option these are unknown hosts).
            (["NoHostAuthenticationForLocalhost=yes", "HostName=::1"], true),
            (["HostName=::1"], false),
            (["NoHostAuthenticationForLocalhost=yes", "HostName=localhost"], true),
            // Through a ProxyCommand ssh knows no address: the check is made.
            (["NoHostAuthenticationForLocalhost=yes", "ProxyCommand=nc %h %p"], false),
        ] {
            let ssh = try s.sshRun(options, knownHosts: knownHosts)
            #expect((ssh.status == 0) == logsIn, "ssh \(options): \(ssh)")
            let ours = try s.keysmithRun(options, knownHosts: knownHosts)
            #expect((ours.status == 0) == logsIn, "keysmith \(options): \(ours)")
            #expect(try readText(knownHosts) == changed, "known_hosts is never written")
        }
        // The revoked-file check still comes first (sshconnect.c verify_host_key).
        let revoked = ["NoHostAuthenticationForLocalhost=yes", "RevokedHostKeys=\(try s.hostKeyFile())"]
        #expect(try s.sshRun(revoked, knownHosts: knownHosts).status == 255)
        #expect(try s.keysmithRun(revoked, knownHosts: knownHosts).status == 1)
    }
}
