import Foundation
import KeysmithTestSupport
import Testing

/// keysmith copy-id / remove-id / list-ids over keysmith's own SSH client against OpenSSH's
/// sshd; each deploy is proven by OpenSSH's ssh logging in with the new key.
@Suite("copy-id, remove-id, list-ids against OpenSSH's sshd")
struct CopyIDTests {
    /// A deploy setup: the sshd, a clean HOME, a key pair and a known_hosts file.
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let key: String
        let knownHosts: String

        init(extraConfig: [String] = []) throws {
            self.sshd = try SSHDFixture(extraConfig: extraConfig)
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.key = self.dir.path("id_ed25519")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "deploy@test", "-f", self.key]).checked("ssh-keygen")
            self.knownHosts = try self.sshd.knownHostsFile()
        }

        var destination: String { "\(self.sshd.user)@\(self.sshd.host)" }

        /// Runs keysmith COMMAND with the fixture's port and known_hosts, the password on stdin.
        func run(
            _ command: String,
            _ extra: [String] = [],
            password: String? = nil,
            knownHosts: String? = nil,
            strict: String = "yes"
        ) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-p", String(self.sshd.port), "-o", "UserKnownHostsFile=\(knownHosts ?? self.knownHosts)",
                    "-o", "StrictHostKeyChecking=\(strict)", "--password-stdin",
                ] + extra + [self.destination],
                input: Data(((password ?? self.sshd.password) + "\n").utf8),
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        func copy(_ extra: [String] = []) throws -> ProcessResult {
            try self.run("copy-id", ["-i", self.key + ".pub"] + extra)
        }
    }

    @Test("copy-id with a password installs the key once; OpenSSH logs in with it")
    func copyWithPassword() throws {
        let s = try Setup()
        let r = try s.copy()
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"))
        let login = try s.sshd.sshLogin(identity: s.key, command: "id -un")
        #expect(login.status == 0, "\(login)")
        let again = try s.copy()
        #expect(again.status == 0, "\(again)")
        #expect(again.stderr.contains("All keys were skipped because they already exist on the remote system."))
        let line = try readText(s.key + ".pub")
        #expect(s.sshd.authorizedKeys() == line)
    }

    @Test("list-ids prints what ssh-keygen -l prints for the remote file; remove-id removes only that key")
    func listAndRemove() throws {
        let s = try Setup()
        let other = s.dir.path("other")
        _ = try keygen(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "other", "-f", other]).checked("ssh-keygen")
        #expect(try s.copy().status == 0)
        #expect(try s.run("copy-id", ["-i", other, "--key-options", "restrict,from=\"127.0.0.1\""]).status == 0)
        let list = try s.run("list-ids")
        #expect(list.status == 0, "\(list)")
        let expected = try keygen(["-l", "-f", s.sshd.home + "/.ssh/authorized_keys"]).checked("ssh-keygen -l")
        #expect(list.stdout == expected.stdout)
        let json = try s.run("list-ids", ["--json"])
        #expect(json.stdout.contains("\"options\":\"restrict,from=\\\"127.0.0.1\\\"\""), "\(json)")

        let removed = try s.run("remove-id", ["-i", s.key + ".pub"])
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout.contains("Number of key(s) removed from \(s.destination): 1"))
        #expect(try s.sshd.sshLogin(identity: s.key).status != 0)
        #expect(try s.sshd.sshLogin(identity: other).status == 0)
        #expect(s.sshd.authorizedKeys()?.hasPrefix("restrict,from=\"127.0.0.1\" ssh-rsa ") == true)
    }

    @Test("-n changes nothing; a world-writable ~/.ssh is repaired and reported")
    func dryRunAndRepair() throws {
        let s = try Setup()
        let dry = try s.copy(["-n"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("Would have added the following key(s):"))
        #expect(!FileManager.default.fileExists(atPath: s.sshd.home + "/.ssh"))
        let ssh = s.sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: false)
        _ = try runProcess("/bin/chown", ["\(s.sshd.user):\(s.sshd.user)", ssh]).checked("chown")
        _ = try runProcess("/bin/chmod", ["777", ssh]).checked("chmod")
        let r = try s.copy()
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("repaired the mode of \(ssh) (was drwxrwxrwx)"), "\(r)")
        #expect(try fileMode(ssh) == 0o755)
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
    }

    @Test("refusals change nothing and say why in one sentence")
    func refusals() throws {
        let s = try Setup()
        // A wrong password.
        let bad = try s.run(
            "copy-id",
            ["-i", s.key + ".pub", "-o", "PreferredAuthentications=password"],
            password: "wrong"
        )
        #expect(bad.status == 1, "\(bad)")
        let errors = bad.stderr.split(separator: "\n").filter { !$0.hasPrefix("keysmith: INFO:") }
        #expect(errors.count == 1 && errors[0].contains("permission denied"), "\(bad)")
        #expect(!bad.stderr.contains("tried 3 passwords"), "a password from stdin is sent once")
        // An unknown host under StrictHostKeyChecking=yes.
        let empty = s.dir.path("empty_known_hosts")
        let unknown = try s.run("copy-id", ["-i", s.key + ".pub"], knownHosts: empty)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("StrictHostKeyChecking is yes"), "\(unknown)")
        #expect(!FileManager.default.fileExists(atPath: empty))
        // A changed host key.
        let fake = s.dir.path("fake")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", fake]).checked("ssh-keygen")
        let changed = s.dir.path("changed_known_hosts")
        let text = "[\(s.sshd.host)]:\(s.sshd.port) \(try readText(fake + ".pub"))"
        try writeText(changed, text)
        let r = try s.run("copy-id", ["-i", s.key + ".pub"], knownHosts: changed, strict: "no")
        #expect(r.status == 1)
        #expect(r.stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"))
        #expect(r.stderr.contains("Offending ED25519 key in \(changed):1"))
        #expect(r.stderr.split(separator: "\n").last?.hasPrefix("keysmith: ") == true)
        #expect(try readText(changed) == text)
        // None of them touched the account.
        #expect(!FileManager.default.fileExists(atPath: s.sshd.home + "/.ssh"))
    }

    @Test("accept-new records the host key in known_hosts as [host]:port")
    func acceptNew() throws {
        let s = try Setup()
        let kh = s.dir.path("new_known_hosts")
        let r = try s.run("copy-id", ["-i", s.key + ".pub"], knownHosts: kh, strict: "accept-new")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("Warning: Permanently added '[\(s.sshd.host)]:\(s.sshd.port)'"))
        let found = try keygen(["-F", "[\(s.sshd.host)]:\(s.sshd.port)", "-f", kh])
        #expect(found.status == 0)
    }

    /// Every key exchange, cipher, MAC and host key algorithm at least once, each forced alone
    /// with -o, so the deploy can only succeed over that algorithm.
    static let algorithmCases: [(kex: String, cipher: String, mac: String, hostKey: String)] = [
        ("curve25519-sha256", "chacha20-poly1305@openssh.com", "hmac-sha2-256-etm@openssh.com", "ssh-ed25519"),
        (
            "curve25519-sha256@libssh.org", "aes256-gcm@openssh.com", "hmac-sha2-512-etm@openssh.com",
            "ecdsa-sha2-nistp256"
        ),
        ("ecdh-sha2-nistp256", "aes128-gcm@openssh.com", "hmac-sha2-256", "rsa-sha2-512"),
        ("ecdh-sha2-nistp384", "aes128-ctr", "hmac-sha2-256", "rsa-sha2-256"),
        ("ecdh-sha2-nistp521", "aes192-ctr", "hmac-sha2-512", "ssh-ed25519"),
        ("diffie-hellman-group14-sha256", "aes256-ctr", "hmac-sha2-256-etm@openssh.com", "ecdsa-sha2-nistp256"),
        ("diffie-hellman-group16-sha512", "aes128-ctr", "hmac-sha2-512-etm@openssh.com", "rsa-sha2-512"),
        ("diffie-hellman-group18-sha512", "chacha20-poly1305@openssh.com", "hmac-sha2-256", "rsa-sha2-256"),
        ("diffie-hellman-group-exchange-sha256", "aes256-gcm@openssh.com", "hmac-sha2-512", "ssh-ed25519"),
    ]

    @Test("copy-id deploys over each algorithm forced with -o, sshd and -v name it; OpenSSH logs in with each key")
    func algorithmMatrix() throws {
        // sshd logs what it negotiated ("kex: algorithm: …") from LogLevel DEBUG1 on.
        let s = try Setup(extraConfig: ["LogLevel DEBUG1"])
        for (i, c) in Self.algorithmCases.enumerated() {
            let key = s.dir.path("k\(i)")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", key]).checked("ssh-keygen")
            let logBefore = s.sshd.log.utf8.count
            let r = try s.run(
                "copy-id",
                [
                    "-v", "-i", key + ".pub", "-o", "KexAlgorithms=\(c.kex)", "-o", "Ciphers=\(c.cipher)", "-o",
                    "MACs=\(c.mac)",
                    "-o", "HostKeyAlgorithms=\(c.hostKey)",
                ]
            )
            #expect(r.status == 0, "\(c): \(r)")
            expectNegotiated(r.stderr, kex: c.kex, hostKey: c.hostKey, cipher: c.cipher, mac: c.mac)
            // The server's side of this one connection (the deploy holds no other).
            let log = String(decoding: Array(s.sshd.log.utf8).dropFirst(logBefore), as: UTF8.self)
            let mac = c.cipher.hasSuffix("-ctr") ? c.mac : "<implicit>"
            for line in [
                "debug1: kex: algorithm: \(c.kex)", "debug1: kex: host key algorithm: \(c.hostKey)",
                "debug1: kex: client->server cipher: \(c.cipher) MAC: \(mac) compression: none",
                "debug1: kex: server->client cipher: \(c.cipher) MAC: \(mac) compression: none",
            ] {
                // The unprivileged child that runs the key exchange marks its lines [preauth].
                #expect(
                    log.split(whereSeparator: \.isNewline).contains { $0.hasSuffix(line + " [preauth]") },
                    "\(c): sshd did not log \(line)\n\(log)"
                )
            }
            #expect(try s.sshd.sshLogin(identity: key).status == 0, "\(c)")
        }
    }
}
