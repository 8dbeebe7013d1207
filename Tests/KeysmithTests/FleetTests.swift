import Foundation
import KeysmithTestSupport
import Testing

/// copy-id, remove-id, list-ids and rotate over many destinations at once: accounts behind
/// one loopback sshd, each deploy proven by OpenSSH's `ssh -i`.
@Suite("fleet: many hosts at once, per-host results, rotate", .serialized)
struct FleetTests {
    /// One sshd with `count` accounts (the fixture's own first), all with the fixture's
    /// password, a clean HOME and a known_hosts file.
    struct Setup {
        let sshd: SSHDFixture
        let accounts: [SSHDFixture.Account]
        let dir: TempDir
        let knownHosts: String

        init(accounts count: Int, extraConfig: [String] = []) throws {
            // Every "host" is behind this one sshd: let it take all of them at once (its
            // default MaxStartups 10:30:100 drops some of the connections beyond ten).
            self.sshd = try SSHDFixture(extraConfig: extraConfig + ["MaxStartups 64"])
            var accounts = [self.sshd.account]
            for _ in 1..<count { accounts.append(try self.sshd.addAccount(password: self.sshd.password)) }
            self.accounts = accounts
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.knownHosts = try self.sshd.knownHostsFile()
        }

        /// `user@127.0.0.1` for each account (the port goes with -p).
        var destinations: [String] { self.accounts.map { "\($0.user)@\(self.sshd.host)" } }

        /// `ssh://user@127.0.0.1:port` for each account.
        var urls: [String] { self.accounts.map { "ssh://\($0.user)@\(self.sshd.host):\(self.sshd.port)" } }

        /// A fresh Ed25519 key pair (ssh-keygen); returns the private key's path.
        func key(_ name: String, type: String = "ed25519", passphrase: String = "") throws -> String {
            let path = self.dir.path(name)
            _ = try keygen(["-q", "-t", type, "-N", passphrase, "-C", name, "-f", path]).checked("ssh-keygen")
            return path
        }

        /// Runs keysmith with the known_hosts file, a clean HOME and no agent; the password
        /// on stdin unless `passwordStdin` is false.
        func run(
            _ arguments: [String],
            passwordStdin: Bool = true,
            environment: [String: String] = [:]
        ) throws -> ProcessResult {
            let common = [
                "-o", "UserKnownHostsFile=\(self.knownHosts)", "-o", "StrictHostKeyChecking=yes",
            ]
            let command = [arguments[0]] + common + (passwordStdin ? ["--password-stdin"] : []) + arguments.dropFirst()
            return try runProcess(
                keysmithPath,
                command,
                input: passwordStdin ? Data((self.sshd.password + "\n").utf8) : nil,
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""].merging(environment) { $1 }
            )
        }

        /// Whether OpenSSH's ssh logs in to `account` with `key` and only that key.
        func logsIn(_ account: SSHDFixture.Account, _ key: String) throws -> Bool {
            try self.sshd.sshLogin(identity: key, as: account).status == 0
        }
    }

    @Test("copy-id to twenty destinations at once; OpenSSH logs in to each with the key")
    func twentyDestinations() throws {
        let s = try Setup(accounts: 20)
        let key = try s.key("id_fleet")
        let start = ContinuousClock.now
        let r = try s.run(["copy-id", "-i", key + ".pub", "-p", String(s.sshd.port)] + s.destinations)
        let elapsed = ContinuousClock.now - start
        print("fleet: copy-id to 20 destinations took \(elapsed)")
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        for (account, destination) in zip(s.accounts, s.destinations) {
            #expect(r.stdout.contains("\(destination): added 1 key\n"), "\(r)")
            #expect(try s.logsIn(account, key), "\(account.user)")
            #expect(s.sshd.authorizedKeys(of: account) == (try readText(key + ".pub")))
        }
        #expect(r.stdout.hasSuffix("20 hosts: 20 done\n"), "\(r)")
        #expect(!r.stderr.contains("hosts done"), "no progress when stderr is not a terminal")

        let again = try s.run(["copy-id", "-i", key + ".pub", "-p", String(s.sshd.port)] + s.destinations)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.hasSuffix("20 hosts: 20 already present\n"), "\(again)")
    }

    @Test("an unreachable destination makes the exit non-zero and is named; the others are deployed")
    func unreachableDestination() throws {
        let s = try Setup(accounts: 3)
        let key = try s.key("id_fleet")
        let closed = try SSHDFixture.freePort()
        let dead = "ssh://\(s.sshd.user)@127.0.0.1:\(closed)"
        let all = [s.urls[0], dead, s.urls[1], s.urls[2]]
        let r = try s.run(["copy-id", "-i", key + ".pub", "--json"] + all)
        #expect(r.status == 1, "\(r)")
        #expect(
            r.stdout.contains(
                "{\"destination\":\(jsonQuoted(dead)),\"status\":\"failed\",\"error\":\"cannot connect to 127.0.0.1:\(closed)"
            ),
            "\(r)"
        )
        #expect(r.stderr.contains("keysmith: 1 of 4 hosts failed: \(dead)."), "\(r)")
        for account in s.accounts { #expect(try s.logsIn(account, key), "\(account.user)") }

        let text = try s.run(["remove-id", "-i", key + ".pub"] + all)
        #expect(text.status == 1, "\(text)")
        #expect(text.stdout.contains("\(dead): failed: cannot connect to 127.0.0.1:\(closed)"), "\(text)")
        #expect(text.stdout.hasSuffix("4 hosts: 3 removed, 1 failed\n"), "\(text)")
        for account in s.accounts { #expect(try !s.logsIn(account, key), "\(account.user)") }
    }

    @Test("--hosts-file: comments, blank lines, ssh:// with ports, and destinations on the command line")
    func hostsFile() throws {
        let s = try Setup(accounts: 3)
        let key = try s.key("id_fleet")
        let file = s.dir.path("hosts")
        try writeText(
            file,
            """
            # the web servers
            \(s.urls[0])

              \(s.urls[1])   # second one, indented
            #\(s.urls[2]) is listed on the command line instead

            """
        )
        let r = try s.run(["copy-id", "-i", key + ".pub", "--hosts-file", file, s.urls[2]])
        #expect(r.status == 0, "\(r)")
        // Command-line destinations come first, then the file's, in order.
        let order = [s.urls[2], s.urls[0], s.urls[1]]
        #expect(r.stdout == order.map { "\($0): added 1 key\n" }.joined() + "3 hosts: 3 done\n", "\(r)")
        for account in s.accounts { #expect(try s.logsIn(account, key)) }

        // A line that is not one destination is refused before any host is contacted.
        try writeText(file, "# ok\n\(s.urls[0])\n\(s.urls[1]) \(s.urls[2])\n")
        let two = try s.run(["list-ids", "--hosts-file", file])
        #expect(two.status == 1)
        #expect(two.stderr.contains("\(file) line 3 holds more than one destination"), "\(two)")
        try writeText(file, "ssh://\(s.sshd.user)@127.0.0.1:99999\n")
        let bad = try s.run(["list-ids", "--hosts-file", file])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("\(file) line 1"), "\(bad)")
        let missing = try s.run(["list-ids", "--hosts-file", s.dir.path("nonexistent")])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read the hosts file"), "\(missing)")
    }

    @Test("list-ids and remove-id across several hosts, as text and JSON")
    func listAndRemove() throws {
        let s = try Setup(accounts: 3)
        let key = try s.key("id_fleet")
        let other = try s.key("id_other", type: "ecdsa")
        #expect(try s.run(["copy-id", "-i", key + ".pub"] + s.urls).status == 0)
        #expect(try s.run(["copy-id", "-i", other + ".pub", s.urls[0]]).status == 0)

        // A line keysmith cannot read is listed in its place, with the destination.
        try appendText(s.accounts[1].home + "/.ssh/authorized_keys", "ssh-ed25519 AAAA!!!! damaged\n")

        let list = try s.run(["list-ids"] + s.urls)
        #expect(list.status == 0, "\(list)")
        let fp = try keygen(["-l", "-f", key + ".pub"]).checked("ssh-keygen -l").stdout
        let otherFP = try keygen(["-l", "-f", other + ".pub"]).checked("ssh-keygen -l").stdout
        let unreadable = "\(s.urls[1]) line 2 is unreadable: the ssh-ed25519 key's base64 is damaged\n"
        let expected =
            "\(s.urls[0]) \(fp)\(s.urls[0]) \(otherFP)\(s.urls[1]) \(fp)\(unreadable)\(s.urls[2]) \(fp)3 hosts: 3 listed\n"
        #expect(list.stdout == expected, "\(list)")

        let json = try s.run(["list-ids", "--json"] + s.urls)
        #expect(json.status == 0)
        let hosts = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(hosts.map { $0["destination"] as? String } == s.urls)
        #expect(hosts.map { ($0["keys"] as? [Any])?.count } == [2, 2, 1])
        let second = try #require(hosts[1]["keys"] as? [[String: Any]])
        #expect(second[1]["unreadable"] as? Bool == true && second[1]["line"] as? Int == 2, "\(second)")
        #expect(hosts.allSatisfy { $0["status"] as? String == "listed" })

        let removed = try s.run(["remove-id", "-i", key + ".pub"] + s.urls)
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout == s.urls.map { "\($0): removed 1 key\n" }.joined() + "3 hosts: 3 removed\n")
        for account in s.accounts { #expect(try !s.logsIn(account, key)) }
        #expect(try s.logsIn(s.accounts[0], other))
        let none = try s.run(["remove-id", "-i", key + ".pub", "--json"] + s.urls)
        #expect(none.status == 0)
        #expect(none.stdout.components(separatedBy: "\"status\":\"notPresent\"").count == 4, "\(none)")
    }

    @Test("rotate: every host logs in with the new key and no longer with the old; options are kept")
    func rotate() throws {
        let s = try Setup(accounts: 4)
        let old = try s.key("id_old")
        let new = try s.key("id_new", type: "ecdsa")
        #expect(try s.run(["copy-id", "-i", old + ".pub", "--key-options", "no-pty"] + s.urls).status == 0)
        for account in s.accounts { #expect(try s.logsIn(account, old)) }

        // The old key logs in (no password needed), so no stdin password here.
        let r = try s.run(["rotate", "-i", new, "--old", old + ".pub"] + s.urls, passwordStdin: false)
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        for url in s.urls {
            #expect(
                r.stdout.contains("\(url): rotated: new key installed and logs in, old key removed (1 line)"),
                "\(r)"
            )
        }
        #expect(r.stdout.hasSuffix("4 hosts: 4 rotated\n"), "\(r)")
        let newLine = keyPart(try readText(new + ".pub"))
        for account in s.accounts {
            #expect(try s.logsIn(account, new), "\(account.user)")
            #expect(try !s.logsIn(account, old), "\(account.user)")
            #expect(s.sshd.authorizedKeys(of: account)?.hasPrefix("no-pty \(newLine) id_new") == true)
        }
    }

    @Test("rotate -n: each host says what would be installed and removed; no file changes, over the shell and SFTP")
    func rotateDryRun() throws {
        let s = try Setup(accounts: 2)
        let old = try s.key("id_old")
        let new = try s.key("id_new")
        #expect(try s.run(["copy-id", "-i", old + ".pub", "--key-options", "no-pty"] + s.urls).status == 0)
        let before = s.accounts.map { s.sshd.authorizedKeys(of: $0) }
        let newKey = try #require(
            try runProcess(keysmithPath, ["fingerprint", "-f", new + ".pub"]).stdout.split(separator: " ").dropFirst()
                .first
        )

        for sftp in [false, true] {
            let flags = ["rotate", "-n", "-i", new, "--old", old + ".pub"] + (sftp ? ["-s"] : [])
            let r = try s.run(flags + s.urls, passwordStdin: false)
            #expect(r.status == 0, "\(r)")
            for url in s.urls {
                #expect(
                    r.stdout.contains(
                        "\(url): would rotate: install ED25519 \(newKey) with no-pty, prove a login with it, then remove the old key (line 1)\n"
                    ),
                    "\(r)"
                )
            }
            #expect(r.stdout.hasSuffix("2 hosts: 2 would rotate\n"), "\(r)")
            #expect(s.accounts.map { s.sshd.authorizedKeys(of: $0) } == before, "a dry run changed a file")
            for account in s.accounts {
                #expect(try s.logsIn(account, old))
                #expect(try !s.logsIn(account, new))
            }
        }

        let json = try s.run(
            ["rotate", "-n", "--json", "-i", new, "--old", old + ".pub", s.urls[0]],
            passwordStdin: false
        )
        let hosts = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(hosts.first?["status"] as? String == "wouldRotate", "\(json)")
        #expect(hosts.first?["dryRun"] as? Bool == true)
        #expect((hosts.first?["newLine"] as? String)?.hasPrefix("no-pty ssh-ed25519 ") == true, "\(json)")
        #expect((hosts.first?["removed"] as? [[String: Any]])?.first?["line"] as? Int == 1, "\(json)")
        #expect(hosts.first?["oldKeysNotFound"] as? [String] == [], "\(json)")

        // The real rotation then does what the dry run said.
        let r = try s.run(["rotate", "-i", new, "--old", old + ".pub"] + s.urls, passwordStdin: false)
        #expect(r.stdout.hasSuffix("2 hosts: 2 rotated\n"), "\(r)")
        // The old key no longer logs in, and without the password the host fails, saying once
        // that nothing was changed; with the password it logs in.
        let refused = try s.run(["rotate", "-n", "-i", new, "--old", old + ".pub", s.urls[0]], passwordStdin: false)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stdout.contains("(the password or keys were refused; nothing was changed)\n"), "\(refused)")
        let again = try s.run(["rotate", "-n", "-i", new, "--old", old + ".pub", s.urls[0]])
        #expect(
            again.stdout.contains(
                "would rotate: the new key is already installed; prove a login with it; the old key is not installed\n"
            ),
            "\(again)"
        )

        // --json names the old key that was not found, in the dry run and in the rotation.
        let oldKey = try #require(
            try runProcess(keysmithPath, ["fingerprint", "-f", old + ".pub"]).stdout.split(separator: " ").dropFirst()
                .first.map(String.init)
        )
        for dryRun in [true, false] {
            let r = try s.run(
                ["rotate"] + (dryRun ? ["-n"] : []) + ["--json", "-i", new, "--old", old + ".pub", s.urls[0]]
            )
            #expect(r.status == 0, "\(r)")
            let host = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]]).first
            #expect(host?["status"] as? String == (dryRun ? "wouldRotate" : "rotated"), "\(r)")
            #expect((host?["removed"] as? [Any])?.isEmpty == true, "\(r)")
            #expect(host?["oldKeysNotFound"] as? [String] == [oldKey], "\(r)")
        }
    }

    @Test("rotate with an unreachable host: the others are rotated, the dead one is named, exit 1")
    func rotateWithUnreachableHost() throws {
        let s = try Setup(accounts: 2)
        let old = try s.key("id_old")
        let new = try s.key("id_new")
        #expect(try s.run(["copy-id", "-i", old + ".pub"] + s.urls).status == 0)
        let dead = "ssh://\(s.sshd.user)@127.0.0.1:\(try SSHDFixture.freePort())"
        let r = try s.run(
            ["rotate", "-i", new, "--old", old + ".pub", s.urls[0], dead, s.urls[1]],
            passwordStdin: false
        )
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("\(dead): failed: cannot connect to"), "\(r)")
        #expect(r.stdout.contains("; nothing was changed\n"), "\(r)")
        #expect(r.stdout.hasSuffix("3 hosts: 2 rotated, 1 failed\n"), "\(r)")
        #expect(r.stderr.contains("keysmith: 1 of 3 hosts failed: \(dead)."), "\(r)")
        for account in s.accounts {
            #expect(try s.logsIn(account, new))
            #expect(try !s.logsIn(account, old))
        }
    }

    @Test("a rotation whose new key cannot log in locks no one out: the old key still logs in")
    func failedRotation() throws {
        // This sshd takes Ed25519 keys only, so an ECDSA new key never logs in.
        let s = try Setup(accounts: 2, extraConfig: ["PubkeyAcceptedAlgorithms ssh-ed25519"])
        let old = try s.key("id_old")
        let new = try s.key("id_new", type: "ecdsa")
        #expect(try s.run(["copy-id", "-i", old + ".pub"] + s.urls).status == 0)
        let before = s.accounts.map { s.sshd.authorizedKeys(of: $0) }

        let r = try s.run(["rotate", "-i", new, "--old", old + ".pub", "--json"] + s.urls, passwordStdin: false)
        #expect(r.status == 1, "\(r)")
        let hosts = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
        for host in hosts {
            #expect(host["status"] as? String == "failed")
            #expect(host["failedStep"] as? String == "log in with the new key")
            #expect((host["error"] as? String)?.contains("the old key is still installed") == true, "\(host)")
            #expect(host["newKeyTakenOut"] as? Bool == true)
        }
        for (account, file) in zip(s.accounts, before) {
            #expect(try s.logsIn(account, old), "\(account.user)")
            #expect(s.sshd.authorizedKeys(of: account) == file, "the new key is taken out again")
        }

        // A NEWKEY.pub that is not NEWKEY's public half is refused before any host is contacted.
        let stranger = try s.key("id_stranger")
        let ed = try s.key("id_ed")
        try FileManager.default.removeItem(atPath: ed + ".pub")
        try FileManager.default.copyItem(atPath: stranger + ".pub", toPath: ed + ".pub")
        let mismatch = try s.run(["rotate", "-i", ed, "--old", old + ".pub"] + s.urls, passwordStdin: false)
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("\(ed).pub does not match the private key \(ed)"), "\(mismatch)")
        #expect(mismatch.stdout.isEmpty)
        let missing = try s.run(["rotate", "-i", s.dir.path("nope"), "--old", old + ".pub"] + s.urls)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does not exist"), "\(missing)")
        for (account, file) in zip(s.accounts, before) {
            #expect(s.sshd.authorizedKeys(of: account) == file)
            #expect(try s.logsIn(account, old))
        }
    }

    @Test("the password and a new key's passphrase are each asked once for the whole run (SSH_ASKPASS)")
    func askedOnce() throws {
        let s = try Setup(accounts: 4)
        let key = try s.key("id_fleet")
        let log = s.dir.path("askpass.log")
        let askpass = s.dir.path("askpass")
        // Prints the one secret for every prompt (the new key's passphrase is the password).
        try writeProgram(
            askpass,
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(log)'\nprintf '%s\\n' '\(s.sshd.password)'\n"
        )
        let environment = ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ""]
        let copy = try s.run(
            ["copy-id", "-i", key + ".pub"] + s.urls,
            passwordStdin: false,
            environment: environment
        )
        #expect(copy.status == 0, "\(copy)")
        let asked = try readText(log)
        #expect(asked.split(separator: "\n").count == 1, "\(asked)")
        for account in s.accounts { #expect(try s.logsIn(account, key)) }

        // rotate with a passphrase-protected new key, logging in with the password only.
        try FileManager.default.removeItem(atPath: log)
        let new = try s.key("id_new", passphrase: s.sshd.password)
        let r = try s.run(
            ["rotate", "-i", new, "--old", key + ".pub", "-o", "PreferredAuthentications=password"] + s.urls,
            passwordStdin: false,
            environment: environment
        )
        #expect(r.status == 0, "\(r)")
        let prompts = try readText(log).split(separator: "\n")
        #expect(prompts.count == 2, "\(prompts)")
        #expect(prompts.filter { $0.contains("passphrase") }.count == 1, "\(prompts)")
        // OpenSSH's ssh runs in batch mode: prove the login with an unencrypted copy.
        let plain = s.dir.path("id_new_plain")
        try FileManager.default.copyItem(atPath: new, toPath: plain)
        _ = try keygen(["-p", "-P", s.sshd.password, "-N", "", "-f", plain]).checked("ssh-keygen -p")
        for account in s.accounts {
            #expect(try s.logsIn(account, plain))
            #expect(try !s.logsIn(account, key))
        }
    }
}

/// `text` as a JSON string literal (no escapes needed in the tests' values).
private func jsonQuoted(_ text: String) -> String { "\"" + text + "\"" }
