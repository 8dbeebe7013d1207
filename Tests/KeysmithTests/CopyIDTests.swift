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

    @Test("list-ids lists every line it cannot read with its number and why, as text and JSON")
    func listUnreadableLines() throws {
        let s = try Setup()
        #expect(try s.copy().status == 0)
        let file = s.sshd.home + "/.ssh/authorized_keys"
        try appendText(file, "# note\n1024 35 1234567 ssh1@old\n\nssh-ed25519 AAAA!!!! broken\n")
        let keyLine = try keygen(["-l", "-f", s.key + ".pub"]).checked("ssh-keygen -l").stdout

        let list = try s.run("list-ids")
        #expect(list.status == 0, "\(list)")
        #expect(
            list.stdout == keyLine
                + "line 3 is unreadable: an SSH-1 RSA key (bits, exponent, modulus), which OpenSSH no longer reads\n"
                + "line 5 is unreadable: the ssh-ed25519 key's base64 is damaged\n",
            "\(list)"
        )
        let json = try s.run("list-ids", ["--json"])
        #expect(json.status == 0, "\(json)")
        let entries = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(entries.map { $0["line"] as? Int } == [1, 3, 5], "\(json)")
        #expect(entries.map { $0["unreadable"] as? Bool } == [nil, true, true])
        #expect((entries[2]["reason"] as? String) == "the ssh-ed25519 key's base64 is damaged")
        #expect(entries[0]["fingerprint"] as? String != nil)
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

    @Test("control characters in --key-options or a comment are refused before any host is contacted")
    func controlCharactersInLines() throws {
        let s = try Setup()
        let injected = s.dir.path("injected")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", injected]).checked("ssh-keygen")
        let injectedLine = try readText(injected + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
        func untouched(_ r: ProcessResult, status: Int32, _ shown: String) {
            #expect(r.status == status, "\(r)")
            // A usage error (64) is the sentence then ArgumentParser's usage lines, as for every usage error.
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.first?.contains(shown) == true && (status == 64 || lines.count == 1), "\(r)")
            #expect(!r.stderr.utf8.contains { $0 < 0x20 && $0 != 0x0A }, "\(r.stderr.debugDescription)")
            #expect(s.sshd.authorizedKeys() == nil)
            // The fixture's readiness probe is the only connection sshd has seen.
            #expect(s.sshd.log.components(separatedBy: "Connection from").count <= 2, "\(s.sshd.log)")
        }

        // A line feed in a quoted value would give sshd a second, unrestricted line.
        let options = "command=\"true\n" + injectedLine + " x\""
        untouched(try s.copy(["--key-options", options]), status: 64, "control character 0x0A (line feed)")
        untouched(try s.copy(["-n", "--key-options", "restrict,from=\"\r\""]), status: 64, "0x0D (carriage return)")

        // A .pub comment with an escape sequence and a carriage return.
        let pub = s.dir.path("shady.pub")
        let keyText = try readText(s.key + ".pub").split(separator: " ").prefix(2).joined(separator: " ")
        try writeText(pub, keyText + " ok\r\u{1B}[2Kfine\n", mode: 0o644)
        untouched(try s.run("copy-id", ["-i", pub]), status: 1, "control character 0x0D (carriage return)")

        // rotate: an OpenSSH key whose own comment holds a line feed and a key line (ssh-keygen writes it).
        let new = s.dir.path("new")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "new\n" + injectedLine, "-f", new]).checked("ssh-keygen")
        try FileManager.default.removeItem(atPath: new + ".pub")
        let rotate = try s.run("rotate", ["-i", new, "--old", s.key + ".pub"])
        untouched(rotate, status: 1, "control character 0x0A (line feed)")
        #expect(rotate.stderr.contains("nothing was changed"), "\(rotate)")

        // generate -C and comment -C: usage errors, no file written or changed.
        let made = s.dir.path("made")
        let generate = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ed25519", "-N", "", "-C", "a\nb", "-f", made]
        )
        #expect(generate.status == 64 && generate.stderr.contains("0x0A (line feed)"), "\(generate)")
        #expect(!FileManager.default.fileExists(atPath: made) && !FileManager.default.fileExists(atPath: made + ".pub"))
        let before = try readBytes(s.key)
        let comment = try runProcess(keysmithPath, ["comment", "-f", s.key, "-C", "x\u{1B}]0;owned\u{07}"])
        #expect(comment.status == 64 && comment.stderr.contains("0x1B (escape)"), "\(comment)")
        #expect(try readBytes(s.key) == before)

        // The same commands with ordinary text still work, byte for byte as before.
        let fine = try s.copy(["--key-options", "restrict"])
        #expect(fine.status == 0, "\(fine)")
        #expect(s.sshd.authorizedKeys() == "restrict " + (try readText(s.key + ".pub")))
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
