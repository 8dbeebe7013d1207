import Foundation
import KeysmithTestSupport
import Testing

/// `keysmith krl create / update / check` against `ssh-keygen -k / -k -u / -Q`, and
/// keysmith's KRLs in OpenSSH sshd's RevokedKeys.
@Suite("krl commands")
struct KRLCommandTests {
    /// Keys, a CA, certificates, and specs revoking some of them with every section type.
    final class Fixture: Sendable {
        let dir: TempDir
        let keys: [String]
        let specs: [(ca: String?, files: [String])]

        init() throws {
            let dir = try TempDir()
            self.dir = dir
            func generate(_ name: String, _ type: [String]) throws {
                _ = try keygen(["-q"] + type + ["-N", "", "-C", "\(name) key", "-f", dir.path(name)])
                    .checked("ssh-keygen")
            }
            try generate("ca", ["-t", "ed25519"])
            try generate("ca2", ["-t", "ecdsa"])
            for name in ["a", "b", "c", "d", "e", "f", "g"] { try generate(name, ["-t", "ed25519"]) }
            try generate("rsa", ["-t", "rsa", "-b", "1024"])
            try generate("p384", ["-t", "ecdsa", "-b", "384"])
            var keys = ["a", "b", "c", "d", "e", "f", "g", "rsa", "p384", "ca", "ca2"].map { "\($0).pub" }
            func certify(_ key: String, ca: String, serial: Int, id: String) throws {
                let name = "\(key)-\(ca)-\(serial)-\(id)"
                try FileManager.default.copyItem(atPath: dir.path("\(key).pub"), toPath: dir.path("\(name).pub"))
                _ = try keygen(["-q", "-s", dir.path(ca), "-I", id, "-z", String(serial), dir.path("\(name).pub")])
                    .checked("ssh-keygen -s")
                keys.append("\(name)-cert.pub")
            }
            for serial in [0, 1, 2, 5, 6, 7, 50, 51, 300, 302, 304, 305, 9999] {
                try certify("g", ca: "ca", serial: serial, id: "g\(serial)")
            }
            for id in ["alice", "bob", "anyone"] { try certify("g", ca: "ca2", serial: 0, id: id) }
            try certify("g", ca: "ca2", serial: 5, id: "x")
            try certify("b", ca: "ca2", serial: 8, id: "via key")
            self.keys = keys
            let fingerprint = try keygen(["-l", "-f", dir.path("e.pub")]).stdout.split(separator: " ")[1]
            try writeText(
                dir.path("ca.spec"),
                "serial: 1-2\nserial: 5\nserial: 50-51\nserial: 300\nserial: 302\nserial: 304\nid: g0\n"
            )
            try writeText(
                dir.path("keys.spec"),
                """
                key: \(try readText(dir.path("b.pub")))\
                sha1: \(try readText(dir.path("c.pub")))\
                sha256: \(try readText(dir.path("d.pub")))\
                hash: \(fingerprint)
                \(try readText(dir.path("g-ca2-5-x-cert.pub")))
                """
            )
            try writeText(dir.path("wild.spec"), "id: anyone\nserial: 9999\n")
            self.specs = [
                ("ca.pub", ["ca.spec"]), (nil, ["keys.spec", "rsa.pub"]), ("none", ["wild.spec"]),
            ]
        }

        static let shared = Result { try Fixture() }

        /// Builds the KRL `name` with `tool` ("ssh-keygen" or "keysmith").
        func build(_ name: String, with tool: String) throws {
            for (index, spec) in self.specs.enumerated() {
                var arguments = ["-f", self.dir.path(name)]
                if let ca = spec.ca { arguments += ["-s", ca == "none" ? "none" : self.dir.path(ca)] }
                arguments += spec.files.map { self.dir.path($0) }
                if tool == "keysmith" {
                    _ = try keysmith(arguments: ["krl", index == 0 ? "create" : "update", "-z", "7"] + arguments)
                        .checked("keysmith krl")
                } else {
                    _ = try keygen(["-k"] + (index == 0 ? [] : ["-u"]) + ["-z", "7"] + arguments).checked(
                        "ssh-keygen -k"
                    )
                }
            }
        }
    }

    @Test("keysmith krl check agrees with ssh-keygen -Q, key by key, on KRLs made by either tool")
    func checkAgrees() throws {
        let fixture = try Fixture.shared.get()
        let dir = fixture.dir
        try fixture.build("theirs.krl", with: "ssh-keygen")
        try fixture.build("ours.krl", with: "keysmith")
        // The same bytes but for the generated date.
        let theirs = try dir.read("theirs.krl")
        let ours = try dir.read("ours.krl")
        #expect(theirs.count == ours.count)
        #expect(theirs[..<20] == ours[..<20] && theirs[28...] == ours[28...])

        var revoked = 0
        for krl in ["theirs.krl", "ours.krl"] {
            for key in fixture.keys {
                let oracle = try keygen(["-Q", "-f", dir.path(krl), dir.path(key)])
                let result = try keysmith(arguments: ["krl", "check", "-f", dir.path(krl), dir.path(key)])
                #expect(result.status == oracle.status, "\(krl) \(key)")
                #expect(result.stdout == oracle.stdout, "\(krl) \(key)")
                #expect(result.stderr.isEmpty)
                if oracle.status == 1 { revoked += 1 }
            }
            // Several keys at once, and the listing (dates in UTC).
            let all = fixture.keys.map { dir.path($0) }
            let oracle = try runProcess(
                Tool.sshKeygen,
                ["-Q", "-l", "-f", dir.path(krl)] + all,
                environment: ["TZ": "UTC"]
            )
            let result = try runProcess(
                keysmithPath,
                ["krl", "check", "-l", "-f", dir.path(krl)] + all,
                environment: ["TZ": "UTC"]
            )
            #expect(result.status == oracle.status && result.status == 1)
            #expect(result.stdout == oracle.stdout)
        }
        #expect(revoked > 20 && revoked < 2 * fixture.keys.count - 20)
    }

    @Test("OpenSSH sshd refuses a login with a key or certificate keysmith's KRL revokes, and allows others")
    func sshdRevokedKeys() throws {
        let dir = try TempDir()
        for name in ["ca", "revoked", "allowed", "certified"] {
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", dir.path(name)]).checked("ssh-keygen")
        }
        let krlPath = dir.path("revoked.krl")
        let sshd = try SSHDFixture(extraConfig: [
            "RevokedKeys \(krlPath)", "TrustedUserCAKeys \(dir.path("ca.pub"))",
        ])
        for (name, serial) in [("revoked-cert", 5), ("allowed-cert", 6)] {
            for suffix in ["", ".pub"] {
                try FileManager.default.copyItem(
                    atPath: dir.path("certified\(suffix)"),
                    toPath: dir.path("\(name)\(suffix)")
                )
            }
            _ = try keygen([
                "-q", "-s", dir.path("ca"), "-I", name, "-n", sshd.user, "-z", String(serial), dir.path("\(name).pub"),
            ]).checked("ssh-keygen -s")
        }
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        let authorized = try readText(dir.path("revoked.pub")) + readText(dir.path("allowed.pub"))
        try writeText(ssh + "/authorized_keys", authorized, mode: 0o600)
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", ssh]).checked("chown")

        try writeText(dir.path("spec"), "key: \(try readText(dir.path("revoked.pub")))serial: 5\n")
        _ = try keysmith("krl", "create", "-q", "-f", krlPath, "-s", dir.path("ca.pub"), dir.path("spec"))
            .checked("keysmith krl create")
        try #require(fileMode(krlPath) & 0o004 != 0)

        for (identity, allowed) in [
            ("allowed", true), ("revoked", false), ("allowed-cert", true), ("revoked-cert", false),
        ] {
            let login = try sshd.sshLogin(identity: dir.path(identity), command: "echo in")
            #expect((login.status == 0) == allowed, "\(identity): \(login)\n\(sshd.log)")
            if allowed { #expect(login.stdout == "in\n") }
        }
        #expect(sshd.log.contains("revoked by file \(krlPath)"))
    }

    // MARK: Bad input

    static func header() -> [UInt8] {
        Array("SSHKRL\n".utf8) + [0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 24) + [0, 0, 0, 0, 0, 0, 0, 0]
    }

    static let badKRLs: [(String, [UInt8])] = [
        ("empty", []),
        ("wrong magic", Array("SSHKRL\n\u{1}".utf8) + [UInt8](repeating: 0, count: 40)),
        ("truncated", Array(header().dropLast(2))),
        ("section length past the end", header() + [2, 0, 0, 0, 9, 0, 0]),
        ("section length too short for its key", header() + [2, 0, 0, 0, 3, 0, 0, 0, 5]),
        ("certificate subsection past its section", header() + [1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x20]),
        ("unknown section", header() + [9, 0, 0, 0, 0]),
    ]

    @Test(
        "a malformed KRL: one sentence, exit 1, as ssh-keygen refuses it; update leaves it as it was",
        arguments: badKRLs
    )
    func badKRL(_ name: String, _ bytes: [UInt8]) throws {
        let dir = try TempDir()
        try Data(bytes).write(to: URL(fileURLWithPath: dir.path("krl")))
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", dir.path("k")]).checked("ssh-keygen")
        let oracle = try keygen(["-Q", "-f", dir.path("krl"), dir.path("k.pub")])
        #expect(oracle.status == 255, "\(name): \(oracle)")
        let check = try keysmith("krl", "check", "-f", dir.path("krl"), dir.path("k.pub"))
        #expect(check.status == 1, "\(name): \(check)")
        #expect(check.stdout.isEmpty)
        #expect(check.stderr.hasPrefix("keysmith: Invalid KRL file \(dir.path("krl")): "), "\(check.stderr)")
        #expect(check.stderr.split(separator: "\n").count == 1)
        let update = try keysmith("krl", "update", "-f", dir.path("krl"), dir.path("k.pub"))
        #expect(update.status == 1)
        #expect(try dir.read("krl") == bytes)
    }

    @Test("a spec line ssh-keygen refuses: one sentence, exit 1, the KRL untouched")
    func badSpec() throws {
        let dir = try TempDir()
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", dir.path("ca")]).checked("ssh-keygen")
        try writeText(dir.path("good"), "serial: 4\n")
        _ = try keysmith("krl", "create", "-f", dir.path("krl"), "-s", dir.path("ca.pub"), dir.path("good"))
            .checked("keysmith krl create")
        let before = try dir.read("krl")
        for line in ["serial: 9-3", "serial: 0x", "hash: SHA1:AAAA", "key: ssh-ed25519 AAAA", "nonsense"] {
            try writeText(dir.path("bad"), "serial: 10\n\(line)\n")
            let oracle = try keygen(["-k", "-u", "-f", dir.path("krl"), "-s", dir.path("ca.pub"), dir.path("bad")])
            #expect(oracle.status == 255, "\(line): \(oracle)")
            #expect(try dir.read("krl") == before)
            for command in ["update", "create"] {
                let result = try keysmith(
                    "krl",
                    command,
                    "-f",
                    dir.path("krl"),
                    "-s",
                    dir.path("ca.pub"),
                    dir.path("bad")
                )
                #expect(result.status == 1, "\(line): \(result)")
                #expect(result.stderr.hasPrefix("keysmith: \(dir.path("bad")):2: "), "\(line): \(result.stderr)")
                #expect(try dir.read("krl") == before)
            }
        }
        // Serials without a CA, and a CA that is no key.
        let noCA = try keysmith("krl", "update", "-f", dir.path("krl"), dir.path("good"))
        #expect(noCA.status == 1 && noCA.stderr.contains("requires specification of a CA key"))
        let badCA = try keysmith("krl", "update", "-f", dir.path("krl"), "-s", dir.path("good"), dir.path("good"))
        #expect(badCA.status == 1 && badCA.stderr.contains("Cannot load CA public key"))
        let missing = try keysmith("krl", "update", "-f", dir.path("none.krl"), dir.path("good"))
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"))
        #expect(try dir.read("krl") == before)
        #expect(!FileManager.default.fileExists(atPath: dir.path("none.krl")))
    }
}
