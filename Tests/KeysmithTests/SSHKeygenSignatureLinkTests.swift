import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// keysmith's binary through a symbolic link named `ssh-keygen`, alone in a directory (what
/// git's `gpg.ssh.program` names in GitSigningTests).
struct KeygenSignatureLink {
    let dir: TempDir
    let path: String

    init() throws {
        self.dir = try TempDir()
        self.path = self.dir.path("ssh-keygen")
        try #require(symlink(keysmithPath, self.path) == 0)
    }

    /// No agent unless a test gives one: ssh-keygen -Y sign asks SSH_AUTH_SOCK's agent first.
    static let noAgent = ["SSH_AUTH_SOCK": ""]

    func run(_ arguments: [String], input: Data? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(self.path, arguments, input: input, environment: Self.noAgent.merging(environment) { $1 })
    }

    /// Runs the same command line through the link and through /usr/bin/ssh-keygen, and
    /// expects the same exit status, standard output and standard error, byte for byte
    /// (not standard output when it is a randomised signature).
    @discardableResult
    func expectSame(
        _ arguments: [String],
        input: Data? = nil,
        environment: [String: String] = [:],
        randomStdout: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (ours: ProcessResult, theirs: ProcessResult) {
        let env = Self.noAgent.merging(environment) { $1 }
        let theirs = try runProcess(Tool.sshKeygen, arguments, input: input, environment: env)
        let ours = try runProcess(self.path, arguments, input: input, environment: env)
        let line = arguments.joined(separator: " ")
        #expect(
            ours.status == theirs.status,
            "\(line)\nours: \(ours)\ntheirs: \(theirs)",
            sourceLocation: sourceLocation
        )
        if !randomStdout { #expect(ours.stdout == theirs.stdout, "\(line)", sourceLocation: sourceLocation) }
        #expect(ours.stderr == theirs.stderr, "\(line)", sourceLocation: sourceLocation)
        return (ours, theirs)
    }

    /// ``expectSame(_:input:environment:randomStdout:sourceLocation:)`` for a command line
    /// whose output names the current time: when a second passes between the two runs,
    /// they are run again (twice at most) before the outputs are compared.
    func expectSameReadingClock(
        _ arguments: [String],
        input: Data? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for _ in 1...2 {
            let theirs = try runProcess(Tool.sshKeygen, arguments, input: input, environment: Self.noAgent)
            let ours = try runProcess(self.path, arguments, input: input, environment: Self.noAgent)
            if ours.status == theirs.status && ours.stdout == theirs.stdout && ours.stderr == theirs.stderr { return }
        }
        try self.expectSame(arguments, input: input, sourceLocation: sourceLocation)
    }
}

/// A directory with keys made by ssh-keygen, a message, and a signature of it by each key.
private struct SignedMessage {
    let dir: TempDir
    let message: Data

    init() throws {
        self.dir = try TempDir()
        self.message = Data("a message to sign\n".utf8)
        try self.dir.write("msg", "a message to sign\n")
    }

    /// `ssh-keygen -t …` into `name`; returns the public line without its comment.
    @discardableResult
    func key(_ name: String, _ type: [String]) throws -> String {
        let path = self.dir.path(name)
        _ = try keygen(["-q"] + type + ["-N", "", "-C", "\(name)@comment", "-f", path]).checked("ssh-keygen -t")
        return keyPart(try readText(path + ".pub"))
    }

    /// ssh-keygen's signature of `msg` with `key` in `namespace`, written to `name`.
    func sign(_ key: String, namespace: String = "git", to name: String) throws -> String {
        let out = try runProcess(
            Tool.sshKeygen,
            ["-Y", "sign", "-f", self.dir.path(key), "-n", namespace],
            input: self.message,
            environment: KeygenSignatureLink.noAgent
        ).checked("ssh-keygen -Y sign")
        try self.dir.write(name, out.stdout)
        return self.dir.path(name)
    }

    func path(_ name: String) -> String { self.dir.path(name) }
}

@Suite("ssh-keygen -Y through the link, compared with OpenSSH's ssh-keygen")
struct SSHKeygenSignatureLinkTests {
    static let keyTypes: [[String]] = [["-t", "ed25519"], ["-t", "rsa", "-b", "2048"], ["-t", "ecdsa", "-b", "256"]]

    @Test("verify, check-novalidate, find-principals and print-pubkey answer as ssh-keygen", arguments: keyTypes)
    func goodSignatures(_ type: [String]) throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", type)
        let sig = try s.sign("id", to: "msg.sig")
        try s.dir.write("allowed", "alice@example.com,bob@example.com \(line)\n")
        let verify = try link.expectSame(
            ["-Y", "verify", "-f", s.path("allowed"), "-I", "alice@example.com", "-n", "git", "-s", sig],
            input: s.message
        )
        #expect(verify.ours.status == 0)
        #expect(verify.ours.stdout.hasPrefix("Good \"git\" signature for alice@example.com with "))
        try link.expectSame(
            [
                "-Y", "verify", "-f", s.path("allowed"), "-I", "bob@example.com", "-n", "git", "-s", sig, "-O",
                "print-pubkey",
            ],
            input: s.message
        )
        try link.expectSame(
            ["-Y", "verify", "-q", "-f", s.path("allowed"), "-I", "bob@example.com", "-n", "git", "-s", sig],
            input: s.message
        )
        try link.expectSame(["-Y", "check-novalidate", "-n", "git", "-s", sig], input: s.message)
        let find = try link.expectSame(["-Y", "find-principals", "-f", s.path("allowed"), "-s", sig])
        #expect(find.ours.stdout == "alice@example.com\nbob@example.com\n")
    }

    @Test("refusals: bad signature, wrong namespace, unknown principal, unknown key, malformed lines")
    func refusals() throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", ["-t", "ed25519"])
        let other = try s.key("other", ["-t", "ed25519"])
        let sig = try s.sign("id", to: "msg.sig")
        try s.dir.write("allowed", "alice@example.com \(line)\n")
        try s.dir.write("others", "alice@example.com \(other)\n")
        try s.dir.write("malformed", "alice@example.com not-a-key\nalice@example.com bogus=\"1\" \(line)\n\(line)\n")
        try s.dir.write("then-good", "alice@example.com invalid-key here\nalice@example.com \(line)\n")
        let verify = ["-Y", "verify", "-f", s.path("allowed"), "-I", "alice@example.com", "-s", sig]
        // A tampered message.
        let bad = try link.expectSame(verify + ["-n", "git"], input: Data("a message to sigN\n".utf8))
        #expect(bad.ours.status == 255)
        #expect(bad.ours.stdout == "Could not verify signature.\n")
        // The wrong namespace.
        try link.expectSame(verify + ["-n", "file"], input: s.message)
        // A principal the file does not list, and a key it does not hold.
        try link.expectSame(
            ["-Y", "verify", "-f", s.path("allowed"), "-I", "mallory@example.com", "-n", "git", "-s", sig],
            input: s.message
        )
        try link.expectSame(
            ["-Y", "verify", "-f", s.path("others"), "-I", "alice@example.com", "-n", "git", "-s", sig],
            input: s.message
        )
        try link.expectSame(["-Y", "find-principals", "-f", s.path("others"), "-s", sig])
        // Malformed lines are reported and skipped.
        for file in ["malformed", "then-good"] {
            try link.expectSame(
                ["-Y", "verify", "-f", s.path(file), "-I", "alice@example.com", "-n", "git", "-s", sig],
                input: s.message
            )
            try link.expectSame(["-Y", "find-principals", "-f", s.path(file), "-s", sig])
        }
    }

    @Test("verify-time against valid-after, valid-before and namespaces=")
    func verifyTime() throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", ["-t", "ed25519"])
        let sig = try s.sign("id", to: "msg.sig")
        try s.dir.write(
            "allowed",
            "alice@example.com valid-after=\"20200101\",valid-before=\"20220101Z\" \(line)\n"
                + "ns@example.com namespaces=\"file,email\" \(line)\n"
        )
        let verify = ["-Y", "verify", "-f", s.path("allowed"), "-I", "alice@example.com", "-n", "git", "-s", sig]
        for time in ["20210601", "20190101", "20230101Z", "202106011230", "20210601123045Z", "2021", "0"] {
            try link.expectSame(verify + ["-O", "verify-time=\(time)"], input: s.message)
            try link.expectSame(
                ["-Y", "find-principals", "-f", s.path("allowed"), "-s", sig, "-O", "verify-time=\(time)"]
            )
        }
        // Without -O verify-time the key has expired now (and the time is printed).
        try link.expectSameReadingClock(verify, input: s.message)
        try link.expectSame(
            ["-Y", "verify", "-f", s.path("allowed"), "-I", "ns@example.com", "-n", "git", "-s", sig],
            input: s.message
        )
    }

    @Test("match-principals")
    func matchPrincipals() throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", ["-t", "ed25519"])
        try s.dir.write(
            "allowed",
            "# comment\n*@example.com,!mallory@example.com \(line)\nalice@example.com namespaces=\"git\" \(line)\n"
        )
        try s.dir.write("malformed", "alice@example.com broken\nalice@example.com \(line)\n")
        for principal in ["alice@example.com", "bob@example.com", "mallory@example.com", "alice@elsewhere"] {
            try link.expectSame(["-Y", "match-principals", "-f", s.path("allowed"), "-I", principal])
        }
        let malformed = try link.expectSame([
            "-Y", "match-principals", "-f", s.path("malformed"), "-I", "alice@example.com",
        ])
        #expect(malformed.ours.status == 252)
        try link.expectSame(["-Y", "match-principals", "-f", s.path("missing"), "-I", "alice@example.com"])
        try link.expectSame(
            [
                "-Y", "match-principals", "-f", s.path("allowed"), "-I", "alice@example.com", "-O",
                "verify-time=20200101",
            ]
        )
    }

    @Test("keysmith match-principals prints what ssh-keygen -Y match-principals prints, and exits 1 for none")
    func keysmithMatchPrincipals() throws {
        let s = try SignedMessage()
        let line = try s.key("id", ["-t", "ed25519"])
        try s.dir.write("allowed", "*@example.com,!mallory@example.com \(line)\nalice@example.com \(line)\n")
        try s.dir.write("malformed", "alice@example.com broken\n")
        for principal in ["alice@example.com", "bob@example.com"] {
            let ours = try keysmith("match-principals", "-f", s.path("allowed"), "-I", principal)
            let theirs = try keygen(["-Y", "match-principals", "-f", s.path("allowed"), "-I", principal])
            #expect(ours.status == 0, "\(ours)")
            #expect(ours.stdout == theirs.stdout)
            #expect(!ours.stdout.isEmpty)
        }
        let none = try keysmith("match-principals", "-f", s.path("allowed"), "-I", "mallory@example.com")
        #expect(none.status == 1)
        #expect(none.stdout == "")
        #expect(none.stderr == "No principal matched.\n")
        let malformed = try keysmith("match-principals", "-f", s.path("malformed"), "-I", "alice@example.com")
        #expect(malformed.status == 1)
        #expect(malformed.stderr.contains("malformed:1: missing key"), "\(malformed)")
        #expect(malformed.stderr.hasSuffix("No principal matched.\n"))
    }

    @Test("missing arguments, missing files, unknown options and operations")
    func commandLineErrors() throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", ["-t", "ed25519"])
        let sig = try s.sign("id", to: "msg.sig")
        try s.dir.write("allowed", "alice@example.com \(line)\n")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "secret", "-f", s.path("locked")]).checked("ssh-keygen")
        try s.dir.write("garbage.sig", "not a signature\n")
        try s.dir.write("nofooter.sig", "-----BEGIN SSH SIGNATURE-----\nAAAA\n")
        let allowed = s.path("allowed")
        let lines: [[String]] = [
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-s", sig],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "", "-s", sig],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "git"],
            ["-Y", "verify", "-I", "alice@example.com", "-n", "git", "-s", sig],
            ["-Y", "verify", "-f", allowed, "-n", "git", "-s", sig],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "git", "-s", s.path("missing.sig")],
            ["-Y", "verify", "-f", s.path("missing"), "-I", "alice@example.com", "-n", "git", "-s", sig],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "git", "-s", s.path("garbage.sig")],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "git", "-s", s.path("nofooter.sig")],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "git", "-s", sig, "-O", "hashalg=sha256"],
            ["-Y", "verify", "-f", allowed, "-I", "alice@example.com", "-n", "git", "-s", sig, "-O", "verify-time=x"],
            ["-Y", "check-novalidate", "-s", sig],
            ["-Y", "check-novalidate", "-n", "git"],
            ["-Y", "find-principals", "-f", allowed],
            ["-Y", "find-principals", "-s", sig],
            ["-Y", "find-principals", "-f", s.path("missing"), "-s", sig],
            ["-Y", "find-principals", "-f", allowed, "-s", s.path("missing.sig")],
            ["-Y", "find-principals", "-f", allowed, "-s", sig, "-O", "print-pubkey"],
            ["-Y", "match-principals", "-f", allowed],
            ["-Y", "match-principals", "-I", "alice@example.com"],
            ["-Y", "sign", "-f", s.path("id"), s.path("msg")],
            ["-Y", "sign", "-n", "git", s.path("msg")],
            ["-Y", "sign", "-f", s.path("nokey"), "-n", "git", s.path("msg")],
            ["-Y", "sign", "-f", s.path("id"), "-n", "git", s.path("missing")],
            ["-Y", "sign", "-f", s.path("id"), "-n", "git", s.path("msg"), "-"],
            ["-Y", "sign", "-f", s.path("id"), "-n", "git", "-O", "hashalg=sha1", "-"],
            ["-Y", "sign", "-f", s.path("id"), "-n", "git", "-O", "verify-time=20200101", "-"],
            ["-Y", "sign", "-U", "-f", s.path("id.pub"), "-n", "git", "-"],
            // An encrypted key: the right passphrase signs (the same Ed25519 bytes), a wrong one is fatal.
            ["-Y", "sign", "-f", s.path("locked"), "-P", "secret", "-n", "git"],
            ["-Y", "sign", "-f", s.path("locked.pub"), "-P", "wrong", "-n", "git"],
            ["-Y", "frobnicate", "-f", allowed],
        ]
        for arguments in lines {
            try link.expectSame(arguments, input: s.message)
        }
    }

    @Test("a signature made through the link verifies with ssh-keygen, and the other way", arguments: keyTypes)
    func signInterop(_ type: [String]) throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", type)
        try s.dir.write("allowed", "alice@example.com \(line)\n")
        for hash in ["sha512", "sha256"] {
            // A file: the same lines on standard error, FILE.sig written.
            let theirs = try runProcess(
                Tool.sshKeygen,
                ["-Y", "sign", "-f", s.path("id"), "-n", "git", "-O", "hashalg=\(hash)", s.path("msg")],
                environment: KeygenSignatureLink.noAgent
            )
            let theirSignature = try s.dir.readText("msg.sig")
            try FileManager.default.removeItem(atPath: s.path("msg.sig"))
            let ours = try link.run([
                "-Y", "sign", "-f", s.path("id"), "-n", "git", "-O", "hashalg=\(hash)", s.path("msg"),
            ])
            #expect(ours.status == theirs.status)
            #expect(ours.stdout == theirs.stdout)
            #expect(ours.stderr == theirs.stderr)
            #expect(ours.stderr == "Signing file \(s.path("msg"))\nWrite signature to \(s.path("msg")).sig\n")
            let ourSignature = try s.dir.readText("msg.sig")
            if type[1] != "ecdsa" {
                // Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic.
                #expect(ourSignature == theirSignature)
            }
            for tool in [Tool.sshKeygen, link.path] {
                let verify = try runProcess(
                    tool,
                    [
                        "-Y", "verify", "-f", s.path("allowed"), "-I", "alice@example.com", "-n", "git", "-s",
                        s.path("msg.sig"),
                    ],
                    input: s.message
                )
                #expect(verify.status == 0, "\(tool): \(verify)")
            }
            try FileManager.default.removeItem(atPath: s.path("msg.sig"))
            // Standard input: the signature on standard output.
            let stdin = try link.run(
                ["-Y", "sign", "-f", s.path("id.pub"), "-n", "git", "-O", "hashalg=\(hash)"],
                input: s.message
            )
            #expect(stdin.status == 0)
            #expect(stdin.stderr == "Signing data on standard input\n")
            try s.dir.write("stdin.sig", stdin.stdout)
            let check = try runProcess(
                Tool.sshKeygen,
                ["-Y", "check-novalidate", "-n", "git", "-s", s.path("stdin.sig"), "-vvv"],
                input: s.message
            )
            #expect(check.status == 0, "\(check)")
            #expect(check.stderr.contains("signature made with hash \"\(hash)\""))
        }
        // An existing FILE.sig is kept when the answer is no: ssh-keygen still exits 0.
        try s.dir.write("msg.sig", "kept\n")
        try link.expectSame(["-Y", "sign", "-f", s.path("id"), "-n", "git", s.path("msg")], input: Data("n\n".utf8))
        #expect(try s.dir.readText("msg.sig") == "kept\n")
    }

    @Test("signing with a certificate: verified through a cert-authority line, refused out of its validity")
    func certificate() throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        try s.key("id", ["-t", "ed25519"])
        let ca = try s.key("ca", ["-t", "ed25519"])
        _ = try keygen([
            "-q", "-s", s.path("ca"), "-I", "alice-cert", "-n", "alice@example.com,alice", "-V", "20200101:20300101",
            s.path("id.pub"),
        ]).checked("ssh-keygen -s")
        let ours = try link.run(["-Y", "sign", "-f", s.path("id-cert.pub"), "-n", "git"], input: s.message)
        #expect(ours.status == 0, "\(ours)")
        try s.dir.write("cert.sig", ours.stdout)
        let theirs = try s.sign("id-cert.pub", to: "their-cert.sig")
        #expect(try s.dir.readText("their-cert.sig") == ours.stdout)
        try s.dir.write("allowed", "*@example.com cert-authority \(ca)\n")
        for sig in [s.path("cert.sig"), theirs] {
            let verify = ["-Y", "verify", "-f", s.path("allowed"), "-n", "git", "-s", sig]
            let good = try link.expectSame(verify + ["-I", "alice@example.com"], input: s.message)
            #expect(good.ours.stdout.contains("with ED25519-CERT key"))
            try link.expectSame(verify + ["-I", "bob@example.com"], input: s.message)
            try link.expectSame(verify + ["-I", "alice@example.com", "-O", "verify-time=20310101"], input: s.message)
            try link.expectSame(verify + ["-I", "alice@example.com", "-O", "verify-time=20190101"], input: s.message)
            try link.expectSame(["-Y", "find-principals", "-f", s.path("allowed"), "-s", sig])
            try link.expectSame(
                ["-Y", "find-principals", "-f", s.path("allowed"), "-s", sig, "-O", "verify-time=20310101"]
            )
            try link.expectSame(["-Y", "check-novalidate", "-n", "git", "-s", sig], input: s.message)
        }
    }

    @Test("a security key signs through the link, and ssh-keygen verifies it", arguments: ["ed25519-sk", "ecdsa-sk"])
    func securityKey(_ type: String) throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try SecurityKeyOpenSSHTests.makeKey(type, in: s.dir)
        try s.dir.write("allowed", "alice@example.com \(line.line)\n")
        let environment = ["SSH_SK_PROVIDER": try SoftAuthenticator.path()]
        let (ours, theirs) = try link.expectSame(
            ["-Y", "sign", "-f", line.path, "-n", "git"],
            input: s.message,
            environment: environment,
            // ECDSA signatures are randomised; Ed25519's are the same bytes.
            randomStdout: type == "ecdsa-sk"
        )
        #expect(ours.stderr.hasPrefix("Signing data on standard input\nConfirm user presence for key "), "\(ours)")
        for (name, signature) in [("ours.sig", ours.stdout), ("theirs.sig", theirs.stdout)] {
            try s.dir.write(name, signature)
            let verify = [
                "-Y", "verify", "-f", s.path("allowed"), "-I", "alice@example.com", "-n", "git", "-s", s.path(name),
            ]
            try link.expectSame(verify, input: s.message)
            #expect(try keygen(verify, input: s.message).status == 0)
        }
    }

    @Test("-U signs with ssh-agent's key, given its public key or the line git writes")
    func agent() throws {
        let link = try KeygenSignatureLink()
        let s = try SignedMessage()
        let line = try s.key("id", ["-t", "ed25519"])
        let agent = try SSHAgentFixture()
        let env = ["SSH_AUTH_SOCK": agent.socket]
        _ = try runProcess("/usr/bin/ssh-add", [s.path("id")], environment: env).checked("ssh-add")
        try s.dir.write("literal", line + "\n")
        try s.dir.write("allowed", "alice@example.com \(line)\n")
        for key in [s.path("id.pub"), s.path("literal")] {
            let (ours, _) = try link.expectSame(
                ["-Y", "sign", "-U", "-f", key, "-n", "git"],
                input: s.message,
                environment: env
            )
            #expect(ours.status == 0, "\(ours)")
            try s.dir.write("agent.sig", ours.stdout)
            let verify = try keygen(
                [
                    "-Y", "verify", "-f", s.path("allowed"), "-I", "alice@example.com", "-n", "git", "-s",
                    s.path("agent.sig"),
                ],
                input: s.message
            )
            #expect(verify.status == 0, "\(verify)")
        }
        // A key the agent does not hold.
        let other = try s.key("other", ["-t", "ed25519"])
        try s.dir.write("other-literal", other + "\n")
        try link.expectSame(
            ["-Y", "sign", "-U", "-f", s.path("other-literal"), "-n", "git"],
            input: s.message,
            environment: env
        )
    }
}
