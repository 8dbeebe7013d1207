import Foundation
import KeysmithTestSupport
import Testing

/// A key made by ssh-keygen in its own directory, with a message and an allowed_signers file.
private struct SigningSetup {
    let dir: TempDir
    let key: String
    let publicLine: String
    let message: Data

    init(type: [String], message: String = "hello, signatures\n") throws {
        self.dir = try TempDir()
        self.key = self.dir.path("id")
        try #require(try keygen(["-q"] + type + ["-N", "", "-C", "signer", "-f", self.key]).status == 0)
        self.publicLine = keyPart(try readText(self.key + ".pub"))
        self.message = Data(message.utf8)
        try self.dir.write("msg", message)
    }

    /// Writes an allowed_signers file and returns its path.
    func signers(_ lines: [String], name: String = "allowed_signers") throws -> String {
        try self.dir.write(
            name,
            lines.map { $0.replacingOccurrences(of: "KEY", with: self.publicLine) + "\n" }.joined()
        )
        return self.dir.path(name)
    }
}

/// The key types, as ssh-keygen -t/-b arguments.
private let keyTypes: [[String]] = [
    ["-t", "ed25519"], ["-t", "rsa", "-b", "2048"], ["-t", "ecdsa", "-b", "256"], ["-t", "ecdsa", "-b", "384"],
    ["-t", "ecdsa", "-b", "521"],
]

/// Both tools' exit statuses mean the same: 0 for success, non-zero (ssh-keygen 255, keysmith 1) otherwise.
private func sameOutcome(_ ours: ProcessResult, _ theirs: ProcessResult) -> Bool {
    (ours.status == 0) == (theirs.status == 0) && (ours.status == 0 || ours.status == 1)
}

@Suite("sign / verify / find-principals / check-novalidate against ssh-keygen -Y")
struct SignInteropTests {
    @Test("our signatures verify with ssh-keygen, and theirs with ours", arguments: keyTypes, ["sha512", "sha256"])
    func interop(_ type: [String], _ hash: String) throws {
        let s = try SigningSetup(type: type)
        let signers = try s.signers(["signer@example.com KEY"])

        // Ours → ssh-keygen.
        let sign = try keysmith(arguments: [
            "sign", "-f", s.key, "-n", "file", "-O", "hashalg=\(hash)", s.dir.path("msg"),
        ])
        #expect(sign.status == 0, "\(sign)")
        #expect(sign.stderr == "Signing file \(s.dir.path("msg"))\nWrite signature to \(s.dir.path("msg")).sig\n")
        let armored = try s.dir.readText("msg.sig")
        #expect(armored.hasPrefix("-----BEGIN SSH SIGNATURE-----\n"))
        #expect(armored.hasSuffix("\n-----END SSH SIGNATURE-----\n"))
        let keygenVerify = try keygen(
            ["-Y", "verify", "-f", signers, "-I", "signer@example.com", "-n", "file", "-s", s.dir.path("msg.sig")],
            input: s.message
        )
        #expect(keygenVerify.status == 0, "\(keygenVerify)")
        // The hash algorithm is the one asked for.
        let check = try keygen(
            ["-Y", "check-novalidate", "-n", "file", "-s", s.dir.path("msg.sig"), "-vvv"],
            input: s.message
        )
        #expect(check.stderr.contains("signature made with hash \"\(hash)\""), "\(check)")

        // ssh-keygen → ours.
        try FileManager.default.removeItem(atPath: s.dir.path("msg.sig"))
        let theirSign = try keygen([
            "-Y", "sign", "-f", s.key, "-n", "file", "-O", "hashalg=\(hash)", s.dir.path("msg"),
        ])
        #expect(theirSign.status == 0, "\(theirSign)")
        let verify = try keysmith(
            arguments: [
                "verify", "-f", signers, "-I", "signer@example.com", "-n", "file", "-s", s.dir.path("msg.sig"),
            ],
            input: s.message
        )
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout == keygenVerify.stdout)
        #expect(verify.stdout.hasPrefix("Good \"file\" signature for signer@example.com with "))
        let ours = try keysmith(
            arguments: ["check-novalidate", "-n", "file", "-s", s.dir.path("msg.sig")],
            input: s.message
        )
        let theirs = try keygen(
            ["-Y", "check-novalidate", "-n", "file", "-s", s.dir.path("msg.sig")],
            input: s.message
        )
        #expect(ours.status == 0 && theirs.status == 0, "\(ours)\n\(theirs)")
        #expect(ours.stdout == theirs.stdout)
    }

    @Test(
        "Ed25519 signatures are byte-identical to ssh-keygen's, from a file and from stdin",
        arguments: ["sha512", "sha256"]
    )
    func identicalEd25519(_ hash: String) throws {
        let s = try SigningSetup(
            type: ["-t", "ed25519"],
            message: String(repeating: "large message line\n", count: 20_000)
        )
        let theirs = try keygen(["-Y", "sign", "-f", s.key, "-n", "git", "-O", "hashalg=\(hash)", s.dir.path("msg")])
        try #require(theirs.status == 0, "\(theirs)")
        let expected = try s.dir.readText("msg.sig")
        try FileManager.default.removeItem(atPath: s.dir.path("msg.sig"))
        let ours = try keysmith(arguments: [
            "sign", "-q", "-f", s.key, "-n", "git", "-O", "hashalg=\(hash)", s.dir.path("msg"),
        ])
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stderr.isEmpty)
        #expect(try s.dir.readText("msg.sig") == expected)

        let stdin = try keysmith(
            arguments: ["sign", "-f", s.key + ".pub", "-n", "git", "-O", "hashalg=\(hash)", "-"],
            input: s.message
        )
        #expect(stdin.status == 0, "\(stdin)")
        #expect(stdin.stdout == expected)
        #expect(stdin.stderr == "Signing data on standard input\n")
        let theirStdin = try keygen(
            ["-Y", "sign", "-f", s.key, "-n", "git", "-O", "hashalg=\(hash)"],
            input: s.message
        )
        #expect(theirStdin.stdout == expected)
    }

    /// One verification case: allowed_signers lines (KEY stands for the signing key), who and what is checked.
    struct VerifyCase: Sendable, CustomTestStringConvertible {
        var name: String
        var lines: [String]
        var identity = "alice@example.com"
        var namespace = "file"
        var verifyTime: String? = "20240615"
        var alterMessage = false
        /// Whether it must verify.
        var good: Bool
        /// A phrase our stderr must contain when refused.
        var reason: String?

        var testDescription: String { self.name }
    }

    static let verifyCases: [VerifyCase] = [
        VerifyCase(name: "plain", lines: ["alice@example.com KEY"], good: true),
        VerifyCase(
            name: "unknown identity",
            lines: ["alice@example.com KEY"],
            identity: "bob",
            good: false,
            reason: "no line"
        ),
        VerifyCase(
            name: "wrong namespace",
            lines: ["alice@example.com KEY"],
            namespace: "git",
            good: false,
            reason: "namespace"
        ),
        VerifyCase(
            name: "altered message",
            lines: ["alice@example.com KEY"],
            alterMessage: true,
            good: false,
            reason: "incorrect signature"
        ),
        VerifyCase(name: "wildcard", lines: ["*@example.com KEY"], good: true),
        VerifyCase(name: "comma list", lines: ["bob,alice@example.com,carol KEY"], good: true),
        VerifyCase(name: "negated", lines: ["*@example.com,!alice@example.com KEY"], good: false, reason: "no line"),
        VerifyCase(name: "second line", lines: ["bob KEY", "alice@example.com KEY"], good: true),
        VerifyCase(
            name: "comments and blanks",
            lines: ["# comment", "", "  alice@example.com KEY comment"],
            good: true
        ),
        VerifyCase(name: "namespaces allow", lines: ["alice@example.com namespaces=\"git,fi*\" KEY"], good: true),
        VerifyCase(
            name: "namespaces refuse",
            lines: ["alice@example.com namespaces=\"git\" KEY"],
            good: false,
            reason: "not permitted for use in signature namespace"
        ),
        VerifyCase(name: "option names ignore case", lines: ["alice@example.com NAMESPACES=\"file\" KEY"], good: true),
        VerifyCase(
            name: "valid window",
            lines: ["alice@example.com valid-after=\"20240101\",valid-before=\"20250101\" KEY"],
            good: true
        ),
        VerifyCase(
            name: "expired",
            lines: ["alice@example.com valid-before=\"20240101Z\" KEY"],
            good: false,
            reason: "key has expired"
        ),
        VerifyCase(
            name: "not yet valid",
            lines: ["alice@example.com valid-after=\"202406160000\" KEY"],
            good: false,
            reason: "not yet valid"
        ),
        VerifyCase(
            name: "valid to the second",
            lines: ["alice@example.com valid-after=\"20240615120000Z\" KEY"],
            verifyTime: "20240615120001Z",
            good: true
        ),
        VerifyCase(
            name: "unquoted time",
            lines: ["alice@example.com valid-after=20240101 KEY"],
            good: false,
            reason: "missing start quote"
        ),
        VerifyCase(
            name: "unknown option",
            lines: ["alice@example.com no-touch-required KEY"],
            good: false,
            reason: "unknown key option"
        ),
        VerifyCase(
            name: "before after",
            lines: ["alice@example.com valid-after=\"20250101\",valid-before=\"20240101\" KEY"],
            good: false,
            reason: "before"
        ),
        VerifyCase(
            name: "bad line for someone else is skipped",
            lines: ["bob garbage", "alice@example.com KEY"],
            good: true
        ),
        VerifyCase(
            name: "refused then allowed",
            lines: ["alice@example.com namespaces=\"git\" KEY", "alice@example.com KEY"],
            good: true
        ),
        VerifyCase(
            name: "cert-authority",
            lines: ["alice@example.com cert-authority KEY"],
            good: false,
            reason: "certificate"
        ),
        VerifyCase(
            name: "missing key",
            lines: ["alice@example.com namespaces=\"file\""],
            good: false,
            reason: "missing key"
        ),
        VerifyCase(name: "quoted principal", lines: ["\"alice@example.com\" KEY"], good: true),
        VerifyCase(name: "now", lines: ["alice@example.com valid-after=\"20200101\" KEY"], verifyTime: nil, good: true),
    ]

    @Test("verify refuses and accepts exactly as ssh-keygen -Y verify does", arguments: verifyCases)
    func verifyAgrees(_ c: VerifyCase) throws {
        let s = try SigningSetup(type: ["-t", "ed25519"])
        let signers = try s.signers(c.lines)
        try #require(try keygen(["-Y", "sign", "-f", s.key, "-n", "file", s.dir.path("msg")]).status == 0)
        var args = ["-f", signers, "-I", c.identity, "-n", c.namespace, "-s", s.dir.path("msg.sig")]
        if let t = c.verifyTime { args += ["-O", "verify-time=\(t)"] }
        let message = c.alterMessage ? Data("hello, signatureS\n".utf8) : s.message
        let theirs = try keygen(["-Y", "verify"] + args, input: message)
        let ours = try keysmith(arguments: ["verify"] + args, input: message)
        #expect((theirs.status == 0) == c.good, "ssh-keygen: \(theirs)")
        #expect(sameOutcome(ours, theirs), "ours: \(ours)\ntheirs: \(theirs)")
        #expect(ours.stdout == theirs.stdout)
        if let reason = c.reason {
            #expect(ours.stderr.contains(reason), "\(ours)")
            #expect(ours.stderr.split(separator: "\n").count == 1, "one sentence: \(ours.stderr)")
        }
    }

    @Test("find-principals agrees with ssh-keygen -Y find-principals")
    func findPrincipals() throws {
        let s = try SigningSetup(type: ["-t", "ecdsa"])
        try #require(try keygen(["-Y", "sign", "-f", s.key, "-n", "file", s.dir.path("msg")]).status == 0)
        let files: [[String]] = [
            ["alice@example.com KEY"],
            [
                "bob ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOSbffhdDpk1vTaLWYtjPtB0orWlzyi2QTE7ZURtqSN",
                "a,*@b,!c namespaces=\"git\" KEY",
            ],
            ["x valid-before=\"20200101\" KEY", "y valid-after=\"20200101\" KEY"],
            ["x valid-before=\"20200101\" KEY"],
            ["x cert-authority KEY"],
            ["x bad-option KEY"],
            ["nobody ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOSbffhdDpk1vTaLWYtjPtB0orWlzyi2QTE7ZURtqSN"],
        ]
        for (i, lines) in files.enumerated() {
            let path = try s.signers(lines, name: "as\(i)")
            for time in [[], ["-O", "verify-time=20190101"]] {
                let args = ["-s", s.dir.path("msg.sig"), "-f", path] + time
                let theirs = try keygen(["-Y", "find-principals"] + args)
                let ours = try keysmith(arguments: ["find-principals"] + args)
                #expect(sameOutcome(ours, theirs), "\(lines) \(time)\nours: \(ours)\ntheirs: \(theirs)")
                #expect(ours.stdout == theirs.stdout, "\(lines) \(time)")
                if theirs.status != 0 { #expect(ours.stderr.hasSuffix("No principal matched.\n")) }
            }
        }
    }

    @Test("check-novalidate refuses a wrong namespace or message as ssh-keygen does")
    func checkNoValidate() throws {
        let s = try SigningSetup(type: ["-t", "rsa", "-b", "2048"])
        try #require(try keysmith(arguments: ["sign", "-f", s.key, "-n", "file", s.dir.path("msg")]).status == 0)
        for (ns, msg) in [("file", s.message), ("email", s.message), ("file", Data("other".utf8))] {
            let args = ["-n", ns, "-s", s.dir.path("msg.sig")]
            let theirs = try keygen(["-Y", "check-novalidate"] + args, input: msg)
            let ours = try keysmith(arguments: ["check-novalidate"] + args, input: msg)
            #expect(sameOutcome(ours, theirs), "ours: \(ours)\ntheirs: \(theirs)")
            #expect(ours.stdout == theirs.stdout)
        }
    }

    @Test("sign asks before replacing FILE.sig, as ssh-keygen does")
    func overwrite() throws {
        let s = try SigningSetup(type: ["-t", "ed25519"])
        try s.dir.write("msg.sig", "old\n", mode: 0o644)
        let no = try keysmith(
            arguments: ["sign", "-f", s.key, "-n", "file", s.dir.path("msg")],
            input: Data("n\n".utf8)
        )
        #expect(no.status == 1)
        #expect(no.stderr.contains("already exists"))
        #expect(try s.dir.readText("msg.sig") == "old\n")
        let eof = try keysmith(arguments: ["sign", "-f", s.key, "-n", "file", s.dir.path("msg")])
        #expect(eof.status == 1)
        #expect(try s.dir.readText("msg.sig") == "old\n")
        let yes = try keysmith(
            arguments: ["sign", "-f", s.key, "-n", "file", s.dir.path("msg")],
            input: Data("y\n".utf8)
        )
        #expect(yes.status == 0, "\(yes)")
        #expect(try s.dir.readText("msg.sig").hasPrefix("-----BEGIN SSH SIGNATURE-----\n"))
    }

    @Test("an encrypted key signs with -P; refusals and usage errors")
    func errors() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "pw", "-a", "2", "-f", key]).status == 0)
        try dir.write("msg", "m")
        let wrong = try keysmith(arguments: ["sign", "-f", key, "-n", "file", "-P", "nope", dir.path("msg")])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("incorrect passphrase"))
        let good = try keysmith(arguments: ["sign", "-f", key, "-n", "file", "-P", "pw", dir.path("msg")])
        #expect(good.status == 0, "\(good)")
        try dir.write("as", "me " + keyPart(try readText(key + ".pub")) + "\n")
        #expect(
            try keygen(
                ["-Y", "verify", "-f", dir.path("as"), "-I", "me", "-n", "file", "-s", dir.path("msg.sig")],
                input: Data("m".utf8)
            ).status == 0
        )

        #expect(try keysmith(arguments: ["sign", "-f", key, dir.path("msg")]).status == 64)
        #expect(try keysmith(arguments: ["sign", "-f", key, "-n", "", dir.path("msg")]).status == 64)
        #expect(try keysmith(arguments: ["sign", "-f", key, "-n", "x", "-", dir.path("msg")]).status == 64)
        #expect(
            try keysmith(arguments: ["sign", "-f", key, "-n", "x", "-O", "hashalg=md5", dir.path("msg")]).status == 64
        )
        #expect(
            try keysmith(arguments: ["verify", "-f", dir.path("as"), "-n", "x", "-s", dir.path("msg.sig")]).status == 64
        )
        #expect(
            try keysmith(arguments: [
                "check-novalidate", "-n", "x", "-s", dir.path("msg.sig"), "-O", "verify-time=2024",
            ]).status == 64
        )

        let missing = try keysmith(arguments: [
            "verify", "-f", dir.path("as"), "-I", "me", "-n", "file", "-s", dir.path("nope.sig"),
        ])
        #expect(missing.status == 1)
        #expect(missing.stdout == "Could not verify signature.\n")
        #expect(missing.stderr.contains("nope.sig"))
        try dir.write("bad.sig", "not a signature\n")
        let bad = try keysmith(arguments: ["check-novalidate", "-n", "file", "-s", dir.path("bad.sig")])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("BEGIN SSH SIGNATURE"))
    }
}

extension SignInteropTests {
    @Test(
        "sign given KEY.pub signs with KEY, and given KEY-cert.pub presents the certificate, byte for byte as ssh-keygen"
    )
    func certificatePath() throws {
        let s = try SigningSetup(type: ["-t", "ed25519"])
        let ca = s.dir.path("ca")
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", ca]).status == 0)
        try #require(try keygen(["-q", "-s", ca, "-I", "signer", "-n", "signer", s.key + ".pub"]).status == 0)
        let plain = try keysmith(arguments: ["sign", "-f", s.key, "-n", "file"], input: s.message)
        try #require(plain.status == 0, "\(plain)")
        #expect(plain.stdout == (try keygen(["-Y", "sign", "-f", s.key, "-n", "file"], input: s.message)).stdout)
        // Ed25519 signatures are deterministic: both tools' signatures are the same bytes.
        for path in [s.key + "-cert.pub", s.key + ".pub"] {
            let ours = try keysmith(arguments: ["sign", "-f", path, "-n", "file"], input: s.message)
            let theirs = try keygen(["-Y", "sign", "-f", path, "-n", "file"], input: s.message)
            #expect(theirs.status == 0, "\(path): \(theirs)")
            #expect(ours.status == 0 && ours.stdout == theirs.stdout, "\(path): \(ours)")
            let presentsCertificate = path.hasSuffix("-cert.pub")
            #expect((ours.stdout == plain.stdout) == !presentsCertificate, "\(path)")
        }
        // A file signed given the certificate carries it: ssh-keygen names an ED25519-CERT key,
        // and a cert-authority line allows it where the plain key is not listed.
        let signed = try keysmith(arguments: ["sign", "-q", "-f", s.key + "-cert.pub", "-n", "file", s.dir.path("msg")])
        #expect(signed.status == 0, "\(signed)")
        let check = try keygen(["-Y", "check-novalidate", "-n", "file", "-s", s.dir.path("msg.sig")], input: s.message)
        #expect(check.status == 0 && check.stdout.contains("with ED25519-CERT key"), "\(check)")
        let caLine = keyPart(try readText(ca + ".pub"))
        let signers = try s.signers(["signer cert-authority \(caLine)"])
        for tool in ["ssh-keygen", "keysmith"] {
            let arguments = ["-f", signers, "-I", "signer", "-n", "file", "-s", s.dir.path("msg.sig")]
            let verified =
                tool == "keysmith"
                ? try keysmith(arguments: ["verify"] + arguments, input: s.message)
                : try keygen(["-Y", "verify"] + arguments, input: s.message)
            #expect(verified.status == 0, "\(tool): \(verified)")
        }

        // challenge respond presents the certificate the same way; a cert-authority line answers.
        let state = s.dir.path("state")
        let issued = try keysmith(arguments: ["challenge", "issue", "--state", state, "--audience", "a.example"])
        let token = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let response = try keysmith(arguments: ["challenge", "respond", "--audience", "a.example", "-f", s.key, token])
        let fromCertificate = try keysmith(arguments: [
            "challenge", "respond", "--audience", "a.example", "-f", s.key + "-cert.pub", token,
        ])
        #expect(response.status == 0 && fromCertificate.status == 0, "\(response)\n\(fromCertificate)")
        #expect(fromCertificate.stdout != response.stdout)
        try s.dir.write("authorized_keys", "cert-authority \(caLine) ca\n")
        let verified = try keysmith(
            arguments: [
                "challenge", "verify", "--authorized-keys", s.dir.path("authorized_keys"), "--state", state,
                "--audience", "a.example", "--user", "signer", token, "--response-file", "-",
            ],
            input: Data(fromCertificate.stdout.utf8)
        )
        #expect(verified.status == 0, "\(verified)")
    }

    @Test("a certificate without its private key beside it is refused, as ssh-keygen refuses it")
    func certificateWithoutKey() throws {
        let s = try SigningSetup(type: ["-t", "ed25519"])
        let ca = s.dir.path("ca")
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", ca]).status == 0)
        try #require(try keygen(["-q", "-s", ca, "-I", "signer", "-n", "signer", s.key + ".pub"]).status == 0)
        let lonely = s.dir.path("lonely-cert.pub")
        try s.dir.write("lonely-cert.pub", try readText(s.key + "-cert.pub"), mode: 0o644)
        let ours = try keysmith(arguments: ["sign", "-f", lonely, "-n", "file"], input: s.message)
        #expect(ours.status == 1 && ours.stdout.isEmpty, "\(ours)")
        #expect(
            ours.stderr
                == "keysmith: no private key found for the public key \(lonely): \(s.dir.path("lonely")) does not exist.\n"
        )
        let theirs = try keygen(["-Y", "sign", "-f", lonely, "-n", "file"], input: s.message)
        #expect(theirs.status != 0 && theirs.stderr.contains("No private key found for public key"), "\(theirs)")
    }
}
