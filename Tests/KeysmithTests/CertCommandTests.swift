import Foundation
import KeysmithTestSupport
import SSHKeys
import Testing

/// `keysmith cert sign` and `keysmith cert show` against ssh-keygen -s and -L, and
/// keysmith's certificates against OpenSSH's sshd.
@Suite("cert sign and show")
struct CertCommandTests {
    /// A time zone with summer time, so local times are not UTC's.
    static let zone = ["TZ": "America/New_York"]

    /// Keys of every type keysmith certifies (and CAs of every type that signs), made once
    /// by ssh-keygen; the security keys on the software authenticator.
    struct Keys: Sendable {
        let dir: TempDir
        let library: String

        static let shared = Result { try Keys() }

        static let plainTypes: [(name: String, arguments: [String])] = [
            ("ed25519", ["-t", "ed25519"]), ("rsa", ["-t", "rsa", "-b", "2048"]),
            ("ecdsa256", ["-t", "ecdsa", "-b", "256"]),
            ("ecdsa384", ["-t", "ecdsa", "-b", "384"]), ("ecdsa521", ["-t", "ecdsa", "-b", "521"]),
        ]
        static let skTypes: [(name: String, arguments: [String])] = [
            ("ed25519-sk", ["-t", "ed25519-sk"]), ("ecdsa-sk", ["-t", "ecdsa-sk"]),
        ]
        static var names: [String] { (plainTypes + skTypes).map(\.name) }

        init() throws {
            self.dir = try TempDir()
            self.library = try SoftAuthenticator.path()
            for (name, arguments) in Self.plainTypes + Self.skTypes {
                let provider = name.hasSuffix("-sk") ? ["-w", self.library] : []
                for role in ["key", "ca"] {
                    _ = try keygen(
                        ["-q", "-N", "", "-C", "\(role) \(name)", "-f", self.dir.path("\(role)-\(name)")] + arguments
                            + provider
                    ).checked("ssh-keygen \(arguments)")
                }
            }
        }

        func key(_ name: String) -> String { self.dir.path("key-\(name)") }
        func ca(_ name: String) -> String { self.dir.path("ca-\(name)") }
    }

    /// A CA and the -t it signs with.
    struct CA: Sendable, CustomTestStringConvertible {
        var name: String
        var algorithm: String?
        var testDescription: String { self.name + (self.algorithm.map { " -t \($0)" } ?? "") }
    }

    static let authorities: [CA] =
        Keys.names.map { CA(name: $0) } + [
            CA(name: "rsa", algorithm: "rsa-sha2-256"), CA(name: "rsa", algorithm: "ssh-rsa"),
            CA(name: "rsa", algorithm: "rsa-sha2-512"), CA(name: "ed25519", algorithm: "ssh-ed25519"),
        ]

    /// Runs ssh-keygen -s and keysmith cert sign with the same arguments on copies of the
    /// same public key, in `dir`/theirs and `dir`/ours. Returns both runs.
    static func signBoth(
        _ arguments: [String],
        key: String,
        ca: String,
        in dir: TempDir,
        environment: [String: String] = [:]
    ) throws -> (theirs: ProcessResult, ours: ProcessResult) {
        let keys = try Keys.shared.get()
        var results: [ProcessResult] = []
        for side in ["theirs", "ours"] {
            try FileManager.default.createDirectory(atPath: dir.path(side), withIntermediateDirectories: true)
            let pub = dir.path("\(side)/k.pub")
            try? FileManager.default.removeItem(atPath: pub)
            try FileManager.default.copyItem(atPath: key + ".pub", toPath: pub)
            let common = ["-s", ca] + arguments + ["-w", keys.library, pub]
            let env = environment.merging(zone) { a, _ in a }
            results.append(
                side == "theirs"
                    ? try runProcess(Tool.sshKeygen, common, environment: env)
                    : try runProcess(keysmithPath, ["cert", "sign"] + common, environment: env)
            )
        }
        return (results[0], results[1])
    }

    /// The "Signed ..." line of a run, with the side's directory name taken out.
    static func signedLine(_ result: ProcessResult, side: String) -> String? {
        result.stderr.split(whereSeparator: \.isNewline).first { $0.hasPrefix("Signed ") }
            .map { $0.replacingOccurrences(of: "/\(side)/", with: "/SIDE/") }
    }

    /// ssh-keygen -L's lines after the file name.
    static func listing(_ path: String) throws -> String {
        let r = try runProcess(Tool.sshKeygen, ["-L", "-f", path], environment: zone).checked("ssh-keygen -L")
        return r.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init)
            ?? ""
    }

    /// The bytes a certificate's CA signed after its nonce.
    static func signedAfterNonce(_ path: String) throws -> [UInt8] {
        let line = try readText(path)
        let certificate = try #require(SSHPublicKey.parseLine(Substring(line))?.key.certificate)
        let typeName = SSHKeyType.certificate(certificate.key.type).sshName
        return Array(certificate.signedData.dropFirst(4 + typeName.utf8.count + 4 + certificate.nonce.count))
    }

    @Test(
        "ssh-keygen reads keysmith's certificates of every key type, user and host, as its own",
        arguments: authorities
    )
    func everyType(_ ca: CA) throws {
        let keys = try Keys.shared.get()
        let caIndex = Self.authorities.firstIndex { $0.testDescription == ca.testDescription } ?? 0
        for (keyIndex, keyName) in Keys.names.enumerated() {
            // The full tier signs every key as a user's and as a host's; the default tier one of
            // the two, taking turns along both lists: still every CA with every key type, and
            // each of them in both roles.
            let roles = TestTier.pick(standard: [(caIndex + keyIndex) % 2 == 1], full: [false, true])
            for host in roles {
                let dir = try TempDir()
                let arguments =
                    ["-I", "id of \(keyName)", "-n", "p1,p2", "-z", "5", "-V", "20240101:20300101123456"]
                    + (host ? ["-h"] : []) + (ca.algorithm.map { ["-t", $0] } ?? [])
                let (theirs, ours) = try Self.signBoth(arguments, key: keys.key(keyName), ca: keys.ca(ca.name), in: dir)
                let what = "\(ca.testDescription) \(keyName) \(host ? "host" : "user")"
                try #require(theirs.status == 0, "\(what): \(theirs)")
                try #require(ours.status == 0, "\(what): \(ours)")
                #expect(Self.signedLine(ours, side: "ours") == Self.signedLine(theirs, side: "theirs"), "\(what)")
                #expect(
                    try Self.listing(dir.path("ours/k-cert.pub")) == Self.listing(dir.path("theirs/k-cert.pub")),
                    "\(what)"
                )
                #expect(
                    try Self.signedAfterNonce(dir.path("ours/k-cert.pub"))
                        == Self.signedAfterNonce(dir.path("theirs/k-cert.pub")),
                    "\(what)"
                )
                // The same comment, and the mode sshkey_save_public leaves.
                let ourLine = try readText(dir.path("ours/k-cert.pub")).split(separator: " ")
                let theirLine = try readText(dir.path("theirs/k-cert.pub")).split(separator: " ")
                #expect(ourLine.first == theirLine.first && ourLine.dropFirst(2) == theirLine.dropFirst(2), "\(what)")
                let modes = try ["ours", "theirs"].map {
                    try FileManager.default.attributesOfItem(atPath: dir.path("\($0)/k-cert.pub"))[.posixPermissions]
                        as? Int
                }
                #expect(modes[0] == modes[1], "\(what)")
            }
        }
    }

    /// ssh-keygen -s argument forms whose certificates `cert show` must print as -L does.
    static let optionForms: [[String]] = [
        [],
        ["-h"],
        ["-n", "alice,bob", "-z", "18446744073709551615", "-V", "20240102:20300405123456"],
        ["-V", "+52w"],
        ["-V", "-1d:+1d"],
        ["-V", "always:20300101"],
        ["-V", "20240101Z:forever"],
        ["-V", "0x0:0x7fffffff"],
        ["-V", "20260701:20261201"],
        ["-O", "clear"],
        ["-O", "no-pty", "-O", "no-x11-forwarding", "-O", "no-agent-forwarding", "-O", "no-port-forwarding"],
        ["-O", "clear", "-O", "permit-pty", "-O", "permit-user-rc", "-O", "no-user-rc"],
        ["-O", "force-command=/bin/echo hi", "-O", "source-address=10.0.0.0/8,::1", "-O", "verify-required"],
        ["-O", "no-touch-required", "-O", "touch-required", "-O", "no-touch-required"],
        ["-O", "extension:zz@example.com=value", "-O", "critical:aa@example.com", "-O", "extension:b="],
        ["-h", "-O", "critical:x=1", "-O", "extension:y", "-n", "host.example.com,*.example.org"],
    ]

    @Test("cert show prints what ssh-keygen -L prints for ssh-keygen's certificates", arguments: optionForms)
    func show(_ arguments: [String]) throws {
        let keys = try Keys.shared.get()
        let dir = try TempDir()
        let pub = dir.path("k.pub")
        try FileManager.default.copyItem(atPath: keys.key("ecdsa256") + ".pub", toPath: pub)
        _ = try runProcess(Tool.sshKeygen, ["-q", "-s", keys.ca("ed25519"), "-I", "shown"] + arguments + [pub])
            .checked("ssh-keygen -s")
        let cert = dir.path("k-cert.pub")
        let theirs = try runProcess(Tool.sshKeygen, ["-L", "-f", cert], environment: Self.zone)
        let ours = try runProcess(keysmithPath, ["cert", "show", cert], environment: Self.zone)
        #expect(ours.status == 0 && theirs.status == 0, "\(ours)")
        #expect(ours.stdout == theirs.stdout)
        let piped = try runProcess(
            keysmithPath,
            ["cert", "show", "-"],
            input: try readBytes(cert),
            environment: Self.zone
        )
        let theirsPiped = try runProcess(
            Tool.sshKeygen,
            ["-L", "-f", "-"],
            input: try readBytes(cert),
            environment: Self.zone
        )
        #expect(piped.stdout == theirsPiped.stdout && piped.stdout.hasPrefix("(stdin):1:\n"))
    }

    @Test("cert show of a file of many lines: comments, blank lines, keys and bad lines as ssh-keygen -L")
    func showMixedFile() throws {
        let keys = try Keys.shared.get()
        let dir = try TempDir()
        let pub = dir.path("k.pub")
        try FileManager.default.copyItem(atPath: keys.key("rsa") + ".pub", toPath: pub)
        _ = try keygen(["-q", "-s", keys.ca("ecdsa384"), "-I", "mixed", pub]).checked("ssh-keygen -s")
        let certLine = try readText(dir.path("k-cert.pub"))
        let plain = try readText(pub)
        let mixed = "# a comment\n\n  \t" + certLine + plain + "ssh-ed25519 AAAA\n" + certLine
        try writeText(dir.path("mixed"), mixed)
        let theirs = try runProcess(Tool.sshKeygen, ["-L", "-f", dir.path("mixed")], environment: Self.zone)
        let ours = try runProcess(keysmithPath, ["cert", "show", dir.path("mixed")], environment: Self.zone)
        #expect(ours.status == theirs.status && ours.status == 0)
        #expect(ours.stdout == theirs.stdout)
        // ssh-keygen ends its diagnostics in CR LF.
        let theirErrors = theirs.stderr.replacingOccurrences(of: "\r", with: "")
        #expect(ours.stderr == theirErrors, "\(ours.stderr)")

        // Nothing but a plain key: ssh-keygen's complaint and exit status 1.
        let notCertificate = try keysmith("cert", "show", pub)
        #expect(notCertificate.status == 1)
        #expect(notCertificate.stderr == "\(pub):1 is not a certificate\n")
        #expect(notCertificate.stdout.isEmpty)
        let missing = try keysmith("cert", "show", dir.path("nothing"))
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("keysmith: ") && missing.stderr.contains(dir.path("nothing")))
    }

    @Test("cert show --json gives the certificate's fields")
    func showJSON() throws {
        let keys = try Keys.shared.get()
        let dir = try TempDir()
        let pub = dir.path("k.pub")
        try FileManager.default.copyItem(atPath: keys.key("ed25519") + ".pub", toPath: pub)
        _ = try runProcess(
            keysmithPath,
            [
                "cert", "sign", "-q", "-s", keys.ca("rsa"), "-I", "json", "-n", "a,b", "-z", "9", "-V",
                "0x10:0x20", "-O", "force-command=ls", pub,
            ]
        ).checked("keysmith cert sign")
        let r = try keysmith("cert", "show", "--json", dir.path("k-cert.pub"))
        #expect(r.status == 0, "\(r)")
        let array = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
        let object = try #require(array.first)
        #expect(object["type"] as? String == "ssh-ed25519-cert-v01@openssh.com")
        #expect(object["kind"] as? String == "user")
        #expect(object["key_id"] as? String == "json")
        #expect(object["serial"] as? Int == 9)
        #expect(object["valid_after"] as? Int == 16 && object["valid_before"] as? Int == 32)
        #expect(object["principals"] as? [String] == ["a", "b"])
        #expect((object["signing_ca"] as? [String: Any])?["algorithm"] as? String == "rsa-sha2-512")
        let critical = try #require(object["critical_options"] as? [[String: Any]])
        #expect(critical.first?["name"] as? String == "force-command" && critical.first?["value"] as? String == "ls")
        #expect((object["extensions"] as? [[String: Any]])?.count == 5)
    }

    /// -V forms whose times do not depend on the second the command runs.
    static let absoluteValidity = [
        "20240101:20300101", "202401010203:20300101020304", "20240101Z:20300101Z", "20240101UTC:20300101",
        "always:20260315", "20261101:forever", "0x5f5e100:0x7fffffff", "20240229:20250301",
    ]
    /// -V forms relative to now.
    static let relativeValidity = [
        "20240101:+52w", "+52w", "+1d", "-1d:+1d", "+1h30m:+2d", "-5m:forever", "always:+1w",
    ]

    @Test("-V gives the validity ssh-keygen gives", arguments: absoluteValidity + relativeValidity)
    func validity(_ form: String) throws {
        let keys = try Keys.shared.get()
        // A relative form reads the clock: when a second passes between the two runs, try again.
        for attempt in 1...3 {
            let dir = try TempDir()
            let (theirs, ours) = try Self.signBoth(
                ["-I", "v", "-V", form],
                key: keys.key("ed25519"),
                ca: keys.ca("ed25519"),
                in: dir
            )
            try #require(theirs.status == 0 && ours.status == 0, "\(theirs) \(ours)")
            let (ourListing, theirListing) = (
                try Self.listing(dir.path("ours/k-cert.pub")), try Self.listing(dir.path("theirs/k-cert.pub"))
            )
            if ourListing == theirListing { return }
            if attempt < 3 && Self.relativeValidity.contains(form) { continue }
            #expect(ourListing == theirListing)
        }
    }

    @Test("-z +N numbers the keys one after another, as ssh-keygen does")
    func serialIncrement() throws {
        let keys = try Keys.shared.get()
        let dir = try TempDir()
        for name in ["a", "b", "c"] {
            try FileManager.default.copyItem(atPath: keys.key("ecdsa521") + ".pub", toPath: dir.path("\(name).pub"))
        }
        let r = try keysmith(
            "cert",
            "sign",
            "-s",
            keys.ca("ed25519"),
            "-I",
            "n",
            "-z",
            "+41",
            dir.path("a.pub"),
            dir.path("b.pub"),
            dir.path("c.pub")
        )
        #expect(r.status == 0, "\(r)")
        for (name, serial) in [("a", 41), ("b", 42), ("c", 43)] {
            #expect(try Self.listing(dir.path("\(name)-cert.pub")).contains("        Serial: \(serial)\n"))
        }
        #expect(r.stderr.contains("Signed user key \(dir.path("c-cert.pub")): id \"n\" serial 43 valid forever\n"))
        // A key line without a comment gets its path as the comment, as ssh-keygen gives it.
        try writeText(dir.path("bare.pub"), keyPart(try readText(dir.path("a.pub"))) + "\n")
        _ = try keysmith("cert", "sign", "-q", "-s", keys.ca("ed25519"), "-I", "n", dir.path("bare.pub"))
            .checked("keysmith cert sign")
        #expect(try readText(dir.path("bare-cert.pub")).hasSuffix(" \(dir.path("bare.pub"))\n"))
    }

    @Test("bad input: one sentence, a non-zero exit, nothing written")
    func badInput() throws {
        let keys = try Keys.shared.get()
        let dir = try TempDir()
        let pub = dir.path("k.pub")
        try FileManager.default.copyItem(atPath: keys.key("ed25519") + ".pub", toPath: pub)
        _ = try keygen(["-q", "-t", "ed25519", "-N", "secret", "-f", dir.path("locked")]).checked("ssh-keygen")
        _ = try keygen(["-q", "-t", "dsa", "-N", "", "-f", dir.path("dsa")]).checked("ssh-keygen -t dsa")
        try writeText(dir.path("garbage.pub"), "not a key\n")
        try FileManager.default.copyItem(atPath: pub, toPath: dir.path("c.pub"))
        _ = try keygen(["-q", "-s", keys.ca("ed25519"), "-I", "c", dir.path("c.pub")]).checked("ssh-keygen -s")
        let ca = keys.ca("ed25519")
        let cases: [(arguments: [String], status: Int32, says: String)] = [
            (["-s", dir.path("no-ca"), "-I", "x", pub], 1, "no-ca"),
            (["-s", dir.path("locked"), "-P", "wrong", "-I", "x", pub], 1, "incorrect passphrase"),
            (["-s", ca, "-I", "x", dir.path("dsa.pub")], 1, "DSA"),
            // The keys are judged before the CA's passphrase is asked for.
            (
                ["-s", dir.path("locked"), "-I", "x", dir.path("dsa.pub")], 1,
                "cannot certify \(dir.path("dsa.pub")): DSA"
            ),
            (["-s", dir.path("dsa"), "-I", "x", pub], 1, "ssh-dss"),
            (["-s", ca, "-I", "x", dir.path("absent.pub")], 1, "absent.pub"),
            (["-s", ca, "-I", "x", dir.path("garbage.pub")], 1, "garbage.pub"),
            (["-s", ca, "-I", "x", "-O", "no-such-option", pub], 64, "no-such-option"),
            (["-s", ca, "-I", "x", "-O", "source-address=example.com", pub], 64, "source-address"),
            (["-s", ca, "-I", "x", "-O", "force-command=a", "-O", "force-command=b", pub], 64, "force-command"),
            (["-s", ca, "-I", "x", "-V", "tomorrow", pub], 64, "tomorrow"),
            (["-s", ca, "-I", "x", "-V", "20300101:20200101", pub], 64, "empty"),
            (["-s", ca, "-I", "x", "-z", "-1", pub], 64, "serial"),
            (["-s", ca, "-I", "x", "-z", "18446744073709551616", pub], 64, "serial"),
            (["-s", ca, "-I", "x", "-n", "a,,b", pub], 64, "empty"),
            (["-s", ca, "-I", "x", "-t", "rsa-sha2-256", pub], 1, "rsa-sha2-256"),
            (["-s", ca, pub], 64, "-I"),
            (["-s", ca, "-I", "x", dir.path("c-cert.pub")], 1, "c-cert.pub"),
        ]
        for (arguments, status, says) in cases {
            let r = try keysmith(arguments: ["cert", "sign"] + arguments)
            #expect(r.status == status, "\(arguments): \(r)")
            #expect(r.stderr.contains(says), "\(arguments): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("k-cert.pub")), "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("c-cert-cert.pub")), "\(arguments)")
            if status == 1 {
                #expect(r.stderr.hasPrefix("keysmith: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            }
        }
        // One bad key among good ones: nothing is written at all.
        let r = try keysmith("cert", "sign", "-s", ca, "-I", "x", pub, dir.path("garbage.pub"))
        #expect(r.status == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path("k-cert.pub")))
    }

    @Test(
        "-U signs with a CA key ssh-agent holds, the same certificate as ssh-keygen -U",
        arguments: [["ed25519"], ["rsa"], ["rsa", "-t", "rsa-sha2-256"], ["rsa", "-t", "ssh-rsa"], ["ecdsa"]]
    )
    func agentCA(_ variant: [String]) throws {
        let dir = try TempDir()
        let ca = dir.path("ca")
        try #require(try keygen(["-q", "-t", variant[0], "-N", "", "-C", "agent ca", "-f", ca]).status == 0)
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "user", "-f", dir.path("k")]).status == 0)
        let agent = try SSHAgentFixture()
        let socket = ["SSH_AUTH_SOCK": agent.socket]
        _ = try runProcess("/usr/bin/ssh-add", ["-q", ca], environment: socket).checked("ssh-add")
        // The private key is gone: only the agent can sign.
        try FileManager.default.removeItem(atPath: ca)
        let arguments = ["-U", "-I", "agent signed", "-n", "alice,bob", "-z", "9"] + Array(variant.dropFirst())
        let (theirs, ours) = try Self.signBoth(
            arguments,
            key: dir.path("k"),
            ca: ca + ".pub",
            in: dir,
            environment: socket
        )
        try #require(theirs.status == 0, "\(theirs)")
        #expect(ours.status == 0, "\(ours)")
        #expect(Self.signedLine(ours, side: "ours") == Self.signedLine(theirs, side: "theirs"))
        #expect(try Self.listing(dir.path("ours/k-cert.pub")) == Self.listing(dir.path("theirs/k-cert.pub")))
        #expect(
            try Self.signedAfterNonce(dir.path("ours/k-cert.pub"))
                == Self.signedAfterNonce(dir.path("theirs/k-cert.pub"))
        )

        // No agent: one sentence, nothing written.
        try FileManager.default.removeItem(atPath: dir.path("ours/k-cert.pub"))
        let alone = try runProcess(
            keysmithPath,
            ["cert", "sign", "-s", ca + ".pub"] + arguments + [dir.path("ours/k.pub")],
            environment: ["SSH_AUTH_SOCK": ""]
        )
        #expect(alone.status == 1 && alone.stderr.contains("SSH_AUTH_SOCK"), "\(alone)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("ours/k-cert.pub")))
    }

    @Test("ssh logs in to sshd with keysmith's certificate; an expired one or one for another user is refused")
    func login() throws {
        let keys = try Keys.shared.get()
        let dir = try TempDir()
        let caPub = dir.path("ca.pub")
        try FileManager.default.copyItem(atPath: keys.ca("ecdsa256") + ".pub", toPath: caPub)
        // RevokedKeys starts as an empty key list; a keysmith KRL replaces it below.
        try dir.write("revoked", "")
        let sshd = try SSHDFixture(extraConfig: ["TrustedUserCAKeys \(caPub)", "RevokedKeys \(dir.path("revoked"))"])
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", dir.path("id")]).checked("ssh-keygen")

        func signAndLogIn(_ arguments: [String]) throws -> ProcessResult {
            _ = try keysmith(
                arguments: ["cert", "sign", "-q", "-s", keys.ca("ecdsa256"), "-I", "login"] + arguments + [
                    dir.path("id.pub")
                ]
            )
            .checked("keysmith cert sign \(arguments)")
            return try sshd.sshLogin(identity: dir.path("id"), command: "echo in")
        }
        let allowed = try signAndLogIn(["-n", sshd.user, "-V", "-5m:+1h"])
        #expect(allowed.status == 0 && allowed.stdout == "in\n", "\(allowed)\n\(sshd.log)")
        let forced = try signAndLogIn(["-n", sshd.user, "-O", "force-command=echo forced"])
        #expect(forced.status == 0 && forced.stdout == "forced\n", "\(forced)")
        let expired = try signAndLogIn(["-n", sshd.user, "-V", "20200101:20210101"])
        #expect(expired.status != 0 && !expired.stdout.contains("in"), "\(expired)")
        let otherUser = try signAndLogIn(["-n", "someone-else"])
        #expect(otherUser.status != 0, "\(otherUser)")
        let hostCertificate = try signAndLogIn(["-h", "-n", sshd.user])
        #expect(hostCertificate.status != 0, "\(hostCertificate)")
        let notYetValid = try signAndLogIn(["-n", sshd.user, "-V", "+1d:+2d"])
        #expect(notYetValid.status != 0, "\(notYetValid)")
        let outside = try signAndLogIn(["-n", sshd.user, "-O", "source-address=192.0.2.0/24"])
        #expect(outside.status != 0, "\(outside)")
        let inside = try signAndLogIn(["-n", sshd.user, "-O", "source-address=127.0.0.0/8,::1"])
        #expect(inside.status == 0 && inside.stdout == "in\n", "\(inside)")

        // A keysmith KRL revoking serial 77 of this CA, through sshd's RevokedKeys.
        try dir.write("spec", "serial: 77\n")
        _ = try keysmith("krl", "create", "-f", dir.path("revoked"), "-s", caPub, dir.path("spec"))
            .checked("keysmith krl create")
        let revoked = try signAndLogIn(["-n", sshd.user, "-z", "77"])
        #expect(revoked.status != 0, "\(revoked)")
        let another = try signAndLogIn(["-n", sshd.user, "-z", "78"])
        #expect(another.status == 0 && another.stdout == "in\n", "\(another)\n\(sshd.log)")
    }
}
