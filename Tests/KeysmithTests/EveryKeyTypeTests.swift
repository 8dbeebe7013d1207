import Foundation
import KeysmithTestSupport
import Testing

/// `fingerprint` of every public key type OpenSSH 9.2 reads (Ed25519, ECDSA, RSA, DSA, the
/// security-key types and a certificate of each), byte for byte as `ssh-keygen -l` prints it,
/// with real keys: security keys made by ssh-keygen through the software authenticator,
/// DSA keys by ssh-keygen 9.2, certificates by `ssh-keygen -s`.
@Suite("every key type: fingerprint as ssh-keygen -l")
struct EveryKeyTypeTests {
    /// The keys, made once: NAME.pub and NAME-cert.pub for each name, and host-cert.pub.
    struct Keys: Sendable {
        let dir: TempDir
        let names: [String]

        func pub(_ name: String) -> String { self.dir.path(name + ".pub") }
        func cert(_ name: String) -> String { self.dir.path(name + "-cert.pub") }
        /// Every public key file: the plain keys, their user certificates, a host certificate.
        var files: [String] { self.names.map(self.pub) + self.names.map(self.cert) + [self.dir.path("host-cert.pub")] }
    }

    static let made: Result<Keys, FixtureError> = Result { () throws(FixtureError) in
        do {
            let dir = try TempDir()
            let provider = try SoftAuthenticator.path()
            let specs: [(String, [String])] = [
                ("ed25519", ["-t", "ed25519"]), ("ecdsa256", ["-t", "ecdsa", "-b", "256"]),
                ("ecdsa384", ["-t", "ecdsa", "-b", "384"]), ("ecdsa521", ["-t", "ecdsa", "-b", "521"]),
                ("rsa", ["-t", "rsa", "-b", "2048"]), ("dsa", ["-t", "dsa"]),
                ("ed25519-sk", ["-t", "ed25519-sk", "-w", provider]),
                ("ecdsa-sk", ["-t", "ecdsa-sk", "-w", provider, "-O", "application=ssh:keysmith"]),
            ]
            for (name, args) in specs {
                _ = try keygen(["-q", "-N", "", "-C", "\(name)@every", "-f", dir.path(name)] + args).checked(
                    "ssh-keygen \(name)"
                )
            }
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", dir.path("ca")]).checked("ssh-keygen")
            for (name, _) in specs {
                _ = try keygen(
                    [
                        "-q", "-s", dir.path("ca"), "-I", "id-\(name)", "-n", "me,you", "-z", "42",
                        dir.path(name + ".pub"),
                    ]
                ).checked("ssh-keygen -s \(name)")
            }
            try FileManager.default.copyItem(atPath: dir.path("ecdsa256.pub"), toPath: dir.path("host.pub"))
            _ = try keygen(["-q", "-s", dir.path("ca"), "-h", "-I", "host", "-n", "h.example", dir.path("host.pub")])
                .checked("ssh-keygen -s -h")
            return Keys(dir: dir, names: specs.map(\.0))
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError("\(error)")
        }
    }

    static let flagSets: [[String]] = [[], ["-E", "md5"], ["-v"], ["-v", "-E", "md5"], ["-B"]]

    /// ssh-keygen's flags (`-l` but with -B) for keysmith's.
    static func keygenFlags(_ flags: [String]) -> [String] { flags.contains("-B") ? flags : ["-l"] + flags }

    @Test("each key and certificate file, with -E md5, -v and -B", arguments: 0..<5)
    func eachFile(_ flagIndex: Int) throws {
        let keys = try Self.made.get()
        let flags = Self.flagSets[flagIndex]
        for file in keys.files {
            let theirs = try keygen(Self.keygenFlags(flags) + ["-f", file]).checked("ssh-keygen -l")
            let ours = try keysmith(arguments: ["fingerprint"] + flags + ["-f", file])
            #expect(ours.status == 0, "\(file): \(ours)")
            #expect(ours.stdout == theirs.stdout, "\(file) \(flags): \(ours.stdout) vs \(theirs.stdout)")
            #expect(ours.stderr == "", "\(file): \(ours.stderr)")
        }
    }

    @Test("authorized_keys and known_hosts (hashed, markers) holding every type, and standard input")
    func keyLineFiles() throws {
        let keys = try Self.made.get()
        let lines = try keys.files.map { try readText($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        let authorized = lines.enumerated().map { i, line in
            [line, "restrict,from=\"10.0.0.0/8\" \(line)", "no-touch-required \(line)", "cert-authority \(line)"][i % 4]
        }
        let ca = try readText(keys.pub("ed25519-sk")).trimmingCharacters(in: .whitespacesAndNewlines)
        let plainLines = keys.names.map { try? readText(keys.pub($0)) }.compactMap { $0 }
        let hosts = plainLines.enumerated().map { i, line in "h\(i).example,192.0.2.\(i) \(line)" }
        let knownHosts = hosts + ["@cert-authority *.example \(ca)", "@revoked old.example \(lines[5])"]
        let dir = try TempDir()
        try writeText(dir.path("authorized_keys"), authorized.joined(separator: "\n") + "\n")
        try writeText(dir.path("known_hosts"), knownHosts.map { $0.trimmingCharacters(in: .newlines) + "\n" }.joined())
        try FileManager.default.copyItem(atPath: dir.path("known_hosts"), toPath: dir.path("hashed"))
        _ = try keygen(["-q", "-H", "-f", dir.path("hashed")]).checked("ssh-keygen -H")
        for name in ["authorized_keys", "known_hosts", "hashed"] {
            for flags in [[], ["-E", "md5"], ["-v"]] {
                let path = dir.path(name)
                let theirs = try keygen(["-l"] + flags + ["-f", path]).checked("ssh-keygen -l")
                let ours = try keysmith(arguments: ["fingerprint"] + flags + ["-f", path])
                #expect(ours.status == 0, "\(name): \(ours)")
                #expect(ours.stdout == theirs.stdout, "\(name) \(flags): \(ours.stdout) vs \(theirs.stdout)")
                let stdin = try keysmith(
                    arguments: ["fingerprint"] + flags + ["-f", "-"],
                    input: Data(contentsOf: URL(fileURLWithPath: path))
                )
                #expect(stdin.stdout == theirs.stdout, "\(name) on stdin")
            }
        }
        // The two marker lines are named on stderr; nothing else is.
        let ours = try keysmith("fingerprint", "-f", dir.path("known_hosts"))
        let count = plainLines.count
        #expect(
            ours.stderr
                == "keysmith: \(dir.path("known_hosts")):\(count + 1): not listed: a known_hosts line marked @cert-authority, for which ssh-keygen -l lists no key.\n"
                + "keysmith: \(dir.path("known_hosts")):\(count + 2): not listed: a known_hosts line marked @revoked, for which ssh-keygen -l lists no key.\n",
            "\(ours.stderr)"
        )
    }

    @Test("--json: legacy DSA keys, security keys' applications, certificates' details")
    func json() throws {
        let keys = try Self.made.get()
        func object(_ file: String) throws -> [String: Any] {
            let r = try keysmith("fingerprint", "--json", "-f", file)
            #expect(r.status == 0, "\(r)")
            let array = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
            return try #require(array.first)
        }
        let dsa = try object(keys.pub("dsa"))
        #expect(dsa["type"] as? String == "DSA")
        #expect(dsa["legacy"] as? Bool == true)
        #expect(try object(keys.pub("ed25519"))["legacy"] == nil)
        let sk = try object(keys.pub("ecdsa-sk"))
        #expect(sk["type"] as? String == "ECDSA-SK")
        #expect(sk["application"] as? String == "ssh:keysmith")
        let cert = try object(keys.cert("ed25519-sk"))
        #expect(cert["type"] as? String == "ED25519-SK-CERT")
        #expect(cert["application"] as? String == "ssh:")
        let details = try #require(cert["certificate"] as? [String: Any])
        #expect(details["kind"] as? String == "user")
        #expect(details["keyID"] as? String == "id-ed25519-sk")
        #expect(details["serial"] as? Int == 42)
        #expect(details["principals"] as? [String] == ["me", "you"])
        let caFingerprint = try keygen(["-l", "-f", keys.dir.path("ca.pub")]).checked("ssh-keygen -l").stdout
            .split(separator: " ")[1]
        #expect(details["signatureKey"] as? String == String(caFingerprint))
        let host = try #require(try object(keys.dir.path("host-cert.pub"))["certificate"] as? [String: Any])
        #expect(host["kind"] as? String == "host")
        #expect(try object(keys.cert("dsa"))["legacy"] as? Bool == true)
    }

    @Test("a certificate whose CA signature is broken is refused in one sentence, as ssh-keygen cannot load it")
    func brokenCertificate() throws {
        let keys = try Self.made.get()
        let fields = try readText(keys.cert("ed25519")).split(separator: " ")
        var blob = try #require(Data(base64Encoded: String(fields[1])))
        blob[blob.count - 1] ^= 1
        let dir = try TempDir()
        let path = dir.path("broken-cert.pub")
        try writeText(path, "\(fields[0]) \(blob.base64EncodedString()) broken\n")
        #expect(try keygen(["-l", "-f", path]).status != 0)
        let ours = try keysmith("fingerprint", "-f", path)
        #expect(ours.status == 1)
        #expect(
            ours.stderr
                == "keysmith: \(path) is not a public key file: line 1: the ssh-ed25519-cert-v01@openssh.com certificate "
                + "is damaged: the certificate's CA signature does not verify.\n",
            "\(ours.stderr)"
        )
    }
}

/// copy-id, list-ids and remove-id with security keys, DSA keys and certificates, against
/// OpenSSH's sshd; ssh-copy-id is the oracle for the line installed, and OpenSSH's ssh logs
/// in with the security key through the software authenticator.
@Suite("every key type: copy-id, list-ids, remove-id against OpenSSH's sshd")
struct EveryKeyTypeDeployTests {
    @Test("copy-id -i id_ed25519_sk.pub installs the line ssh-copy-id installs; ssh logs in with it")
    func securityKey() throws {
        let keys = try EveryKeyTypeTests.made.get()
        let s = try CopyIDTests.Setup()
        #expect(try s.copy().status == 0)
        let file = s.sshd.home + "/.ssh/authorized_keys"
        let before = try readText(file)
        let sk = keys.pub("ed25519-sk")

        // ssh-copy-id, logging in with the setup's key, is the oracle (it wants a local ~/.ssh).
        try FileManager.default.createDirectory(atPath: s.dir.path("home/.ssh"), withIntermediateDirectories: true)
        let theirs = try runProcess(
            "/usr/bin/ssh-copy-id",
            [
                "-f", "-i", sk, "-p", String(s.sshd.port), "-o", "IdentityFile=\(s.key)", "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=\(s.knownHosts)", "-o", "StrictHostKeyChecking=yes",
                s.destination,
            ],
            environment: ["HOME": s.dir.path("home"), "SSH_AUTH_SOCK": ""]
        )
        #expect(theirs.status == 0, "\(theirs)")
        let oracle = try readText(file)
        #expect(oracle.hasPrefix(before) && oracle.count > before.count, "\(oracle)")
        try Data(before.utf8).write(to: URL(fileURLWithPath: file))

        let ours = try s.run("copy-id", ["-i", sk])
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdout.contains("Number of key(s) added: 1"), "\(ours)")
        #expect(try readText(file) == oracle)

        let provider = ["-o", "SecurityKeyProvider=\(try SoftAuthenticator.path())"]
        let login = try s.sshd.sshLogin(
            identity: keys.dir.path("ed25519-sk"),
            command: "echo in",
            extraOptions: provider
        )
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        #expect(login.stdout == "in\n")

        let list = try s.run("list-ids")
        #expect(list.stdout == (try keygen(["-l", "-f", file]).checked("ssh-keygen -l").stdout), "\(list)")
        let removed = try s.run("remove-id", ["-i", sk])
        #expect(removed.status == 0, "\(removed)")
        #expect(try readText(file) == before)
    }

    @Test("copy-id refuses a DSA key in one sentence; list-ids lists and remove-id removes one")
    func dsa() throws {
        let keys = try EveryKeyTypeTests.made.get()
        let s = try CopyIDTests.Setup()
        let refused = try s.run("copy-id", ["-i", keys.pub("dsa")])
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "keysmith: \(keys.pub("dsa")) holds a DSA key (ssh-dss), a legacy type that OpenSSH's sshd no longer accepts by default, so keysmith will not install it; make a new key with keysmith generate -t ed25519.\n",
            "\(refused)"
        )
        #expect(s.sshd.authorizedKeys() == nil)
        let refusedCert = try s.run("copy-id", ["-i", keys.cert("dsa")])
        #expect(
            refusedCert.status == 1 && refusedCert.stderr.contains("ssh-dss-cert-v01@openssh.com"),
            "\(refusedCert)"
        )

        #expect(try s.copy().status == 0)
        let file = s.sshd.home + "/.ssh/authorized_keys"
        try appendText(file, try readText(keys.pub("dsa")))
        let list = try s.run("list-ids")
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout == (try keygen(["-l", "-f", file]).checked("ssh-keygen -l").stdout), "\(list)")
        #expect(list.stdout.hasSuffix("dsa@every (DSA)\n"))
        let removed = try s.run("remove-id", ["-i", keys.pub("dsa")])
        #expect(removed.status == 0, "\(removed)")
        #expect(s.sshd.authorizedKeys() == (try readText(s.key + ".pub")))
    }

    @Test("rotate --old takes a DSA key out once the new key logs in")
    func rotateAwayFromLegacyKeys() throws {
        let keys = try EveryKeyTypeTests.made.get()
        let s = try CopyIDTests.Setup()
        #expect(try s.copy().status == 0)
        let file = s.sshd.home + "/.ssh/authorized_keys"
        try appendText(file, try readText(keys.pub("dsa")))
        let new = s.dir.path("id_new")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "new", "-f", new]).checked("ssh-keygen")
        let r = try s.run("rotate", ["-i", new, "--old", keys.pub("dsa")])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        let expected = try readText(s.key + ".pub") + readText(new + ".pub")
        #expect(s.sshd.authorizedKeys() == expected)
        #expect(try s.sshd.sshLogin(identity: new).status == 0)
    }

    @Test("certificates as plain key lines are listed, never hidden, and removed by their blob")
    func certificates() throws {
        let keys = try EveryKeyTypeTests.made.get()
        let s = try CopyIDTests.Setup()
        #expect(try s.copy().status == 0)
        let file = s.sshd.home + "/.ssh/authorized_keys"
        let added = ["ed25519", "ecdsa-sk", "rsa"].map { keys.cert($0) }
        for cert in added {
            let r = try s.run("copy-id", ["-i", cert])
            #expect(r.status == 0, "\(r)")
        }
        let list = try s.run("list-ids")
        #expect(list.stdout == (try keygen(["-l", "-f", file]).checked("ssh-keygen -l").stdout), "\(list)")
        #expect(list.stdout.split(separator: "\n").count == 4, "\(list)")
        #expect(list.stdout.contains("(ECDSA-SK-CERT)"))
        let json = try s.run("list-ids", ["--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(entries.map { $0["type"] as? String } == ["ED25519", "ED25519-CERT", "ECDSA-SK-CERT", "RSA-CERT"])
        for cert in added {
            let removed = try s.run("remove-id", ["-i", cert])
            #expect(removed.status == 0 && removed.stdout.contains("removed"), "\(removed)")
        }
        #expect(s.sshd.authorizedKeys() == (try readText(s.key + ".pub")))
    }
}
