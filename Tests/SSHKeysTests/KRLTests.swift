import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// KRLs made by the real `ssh-keygen -k`, read by keysmith and checked key by key against
/// `ssh-keygen -Q`; malformed KRLs refused as krl.c refuses them.
@Suite("key revocation lists")
struct KRLTests {
    /// Keys, CAs and certificates made by ssh-keygen, and KRLs revoking some of them.
    final class Fixture: Sendable {
        let dir: TempDir
        /// Every public key and certificate file to check, by name.
        let keys: [String]

        init() throws {
            let dir = try TempDir()
            self.dir = dir
            func generate(_ name: String, _ type: String, bits: String? = nil) throws {
                let made = try runProcess(
                    Tool.sshKeygen,
                    ["-q", "-t", type, "-N", "", "-C", "\(name) comment", "-f", dir.path(name)]
                        + (bits.map { ["-b", $0] } ?? [])
                )
                try #require(made.status == 0, "\(made)")
            }
            for ca in ["ca1", "ca4", "ca5"] { try generate(ca, "ed25519") }
            try generate("ca2", "ecdsa")
            try generate("ca3", "rsa", bits: "1024")
            try generate("ed", "ed25519")
            try generate("ed2", "ed25519")
            try generate("fresh", "ed25519")
            try generate("rsa", "rsa", bits: "1024")
            try generate("rsa2", "rsa", bits: "1024")
            try generate("p256", "ecdsa", bits: "256")
            try generate("p384", "ecdsa", bits: "384")
            try generate("p521", "ecdsa", bits: "521")
            try generate("dsa", "dsa")
            try generate("dsa2", "dsa")
            // Security-key public keys need no authenticator: their blobs are built here.
            let p256 = try SSHPublicKey(openSSHLine: try dir.readText("p256.pub"))
            var pointReader = SSHWireReader(p256.wireBlob)
            _ = try pointReader.readString()
            _ = try pointReader.readString()
            let point = try pointReader.readString()
            for (name, fields) in [
                (
                    "sked",
                    [Array("sk-ssh-ed25519@openssh.com".utf8), [UInt8](repeating: 7, count: 32), Array("ssh:".utf8)]
                ),
                (
                    "sked2",
                    [Array("sk-ssh-ed25519@openssh.com".utf8), [UInt8](repeating: 9, count: 32), Array("ssh:".utf8)]
                ),
                (
                    "skecdsa",
                    [
                        Array("sk-ecdsa-sha2-nistp256@openssh.com".utf8), Array("nistp256".utf8), Array(point),
                        Array("ssh:".utf8),
                    ]
                ),
            ] {
                var w = SSHWireWriter()
                for f in fields { w.writeString(f) }
                let key = try SSHPublicKey(wireBlob: w.bytes)
                try dir.write("\(name).pub", key.openSSHLine(comment: name) + "\n")
            }
            var keys = [
                "ed", "ed2", "fresh", "rsa", "rsa2", "p256", "p384", "p521", "dsa", "dsa2", "sked", "sked2", "skecdsa",
                "ca1", "ca2", "ca3", "ca4", "ca5",
            ].map { "\($0).pub" }
            func certify(_ key: String, ca: String, serial: UInt64, id: String, as name: String) throws {
                try FileManager.default.copyItem(atPath: dir.path("\(key).pub"), toPath: dir.path("\(name).pub"))
                let signed = try runProcess(
                    Tool.sshKeygen,
                    ["-q", "-s", dir.path(ca), "-I", id, "-z", String(serial), dir.path("\(name).pub")]
                )
                try #require(signed.status == 0, "\(signed)")
                keys.append("\(name)-cert.pub")
            }
            let ca1Serials: [UInt64] = [
                0, 1, 2, 3, 4, 5, 9, 10, 11, 99, 100, 150, 199, 200, 1000, 1001, 1002, 1004, 2000, 2001, 2002, 2100,
                2101, 10_000, 10_001, 10_003, 19_999, 25_000, 25_003, 30_000, 1 << 40, UInt64.max - 1, UInt64.max,
            ]
            for serial in ca1Serials {
                try certify("ed", ca: "ca1", serial: serial, id: "id\(serial)", as: "c1-\(serial)")
            }
            for id in ["alice", "bob", "carol", "wild", "caf\u{e9}"] {
                try certify("ed", ca: "ca1", serial: 0, id: id, as: "c1-\(id)")
                try certify("ed", ca: "ca3", serial: 0, id: id, as: "c3-\(id)")
            }
            for serial: UInt64 in [7, 8, 9, 1000, 4242] {
                try certify("ed", ca: "ca2", serial: serial, id: "two", as: "c2-\(serial)")
                try certify("ed", ca: "ca3", serial: serial, id: "three", as: "c3-\(serial)")
            }
            try certify("ed2", ca: "ca1", serial: 77, id: "plain revoked", as: "c1-ed2")
            try certify("sked", ca: "ca1", serial: 78, id: "sk", as: "c1-sked")
            try certify("rsa2", ca: "ca4", serial: 79, id: "by revoked CA", as: "c4-rsa2")
            try certify("dsa2", ca: "ca5", serial: 80, id: "by CA listed by hash", as: "c5-dsa2")
            self.keys = keys

            // CA 1: lists, ranges and bitmaps of serials, and key IDs.
            var spec = """
                # certificates under CA 1
                serial: 1-3
                serial: 9
                SERIAL:10
                serial: 100-199\t# a range
                serial: 1000
                serial: 1002
                serial: 1004
                serial: 0x7d0
                id: alice
                id:   bob
                id: caf\u{e9}
                serial: 18446744073709551615

                """
            for serial in stride(from: 10_000, through: 25_000, by: 3) { spec += "serial: \(serial)\n" }
            try dir.write("ca1.spec", spec)
            let ca1 = ["-s", dir.path("ca1.pub"), "-z", "5", dir.path("ca1.spec")]
            try KRLTests.keygen(["-k", "-f", dir.path("krl")] + ca1)
            // CA 2 by certificates themselves, and every CA by key ID and serial.
            try dir.write("ca2.spec", try dir.readText("c2-8-cert.pub") + "serial: 1000\n")
            try KRLTests.keygen(["-k", "-u", "-f", dir.path("krl"), "-s", dir.path("ca2.pub"), dir.path("ca2.spec")])
            try dir.write("wild.spec", "id: wild\nserial: 4242\n")
            try KRLTests.keygen(["-k", "-u", "-f", dir.path("krl"), "-s", "none", dir.path("wild.spec")])
            // Plain keys every way a spec names them, and a certificate's plain key.
            let sha256OfDSA = try runProcess(Tool.sshKeygen, ["-l", "-f", dir.path("dsa.pub")]).stdout
                .split(separator: " ")[1]
            try dir.write(
                "keys.spec",
                """
                key: \(try dir.readText("rsa.pub"))\
                sha1: \(try dir.readText("p256.pub"))\
                sha256: \(try dir.readText("p384.pub"))\
                hash: \(sha256OfDSA)
                \(try dir.readText("p521.pub"))\
                key: \(try dir.readText("sked.pub"))\
                KEY:\(try dir.readText("skecdsa.pub"))\
                key: \(try dir.readText("c1-ed2-cert.pub"))\
                key: \(try dir.readText("ca4.pub"))\
                sha256: \(try dir.readText("ca5.pub"))
                """
            )
            try KRLTests.keygen(["-k", "-u", "-f", dir.path("krl"), dir.path("keys.spec"), dir.path("dsa2.pub")])
        }

        static let shared = Result { try Fixture() }
    }

    static func keygen(_ arguments: [String]) throws {
        let result = try runProcess(Tool.sshKeygen, arguments)
        try #require(result.status == 0, "\(result)")
    }

    /// ssh-keygen -Q's verdict for each file: true when it says REVOKED.
    static func oracle(krl: String, keys: [String], in dir: TempDir) throws -> [String: Bool] {
        var verdicts: [String: Bool] = [:]
        for name in keys {
            let result = try runProcess(Tool.sshKeygen, ["-Q", "-f", krl, dir.path(name)])
            try #require(result.status == 0 || result.status == 1, "\(result)")
            #expect(result.stdout.hasSuffix(result.status == 0 ? ": ok\n" : ": REVOKED\n"), "\(result)")
            verdicts[name] = result.status == 1
        }
        return verdicts
    }

    @Test("every key and certificate revoked exactly when ssh-keygen -Q says so")
    func agreesWithSSHKeygen() throws {
        let fixture = try Fixture.shared.get()
        let dir = fixture.dir
        let krl = try KeyRevocationList(contentsOfFile: dir.path("krl"))
        #expect(krl.version == 5)
        let verdicts = try Self.oracle(krl: dir.path("krl"), keys: fixture.keys, in: dir)
        var revoked = 0
        for name in fixture.keys {
            let key = try SSHPublicKey(openSSHLine: try dir.readText(name))
            #expect(krl.isRevoked(key) == verdicts[name], "\(name)")
            if verdicts[name] == true { revoked += 1 }
        }
        // The fixture is not trivially one-sided.
        #expect(revoked > 30)
        #expect(fixture.keys.count - revoked > 30)
        // Every section type is present.
        #expect(!krl.explicitKeys.isEmpty && !krl.sha1Digests.isEmpty && !krl.sha256Digests.isEmpty)
        #expect(krl.authorities.count == 3 && krl.authorities.contains { $0.authority == nil })
        let bytes = try dir.read("krl")
        for subsection: UInt8 in [0x20, 0x21, 0x22, 0x23] {
            #expect(bytes.contains(subsection))
        }
    }

    @Test("sshd's RevokedKeys: a KRL, or a list of keys whose CA lines revoke certificates")
    func revokedKeys() throws {
        let fixture = try Fixture.shared.get()
        let dir = fixture.dir
        let fromKRL = try RevokedKeys(path: dir.path("krl"))
        let krl = try KeyRevocationList(contentsOfFile: dir.path("krl"))
        try dir.write(
            "list",
            "# revoked\n\n  \(try dir.readText("rsa.pub"))\t\(try dir.readText("ca2.pub"))\(try dir.readText("c1-ed2-cert.pub"))"
        )
        let list = try RevokedKeys(path: dir.path("list"))
        for name in fixture.keys {
            let key = try SSHPublicKey(openSSHLine: try dir.readText(name))
            #expect(fromKRL.isRevoked(key) == krl.isRevoked(key), "\(name)")
            let listed =
                name == "rsa.pub" || name == "ca2.pub" || name.hasPrefix("c2-") || name == "ed2.pub"
                || name == "c1-ed2-cert.pub"
            #expect(list.isRevoked(key) == listed, "\(name)")
        }
        try dir.write("bad", "\(try dir.readText("rsa.pub"))from=\"x\" \(try dir.readText("ed.pub"))")
        #expect(throws: SSHKeyError.self) { try RevokedKeys(path: dir.path("bad")) }
        #expect(throws: SSHKeyError.self) { try RevokedKeys(path: dir.path("missing")) }
        // A small RSA key is skipped by sshd, not an error.
        var w = SSHWireWriter()
        w.writeString("ssh-rsa")
        w.writeMPInt([1, 0, 1])
        w.writeMPInt([0xC1] + [UInt8](repeating: 0x55, count: 63))
        try dir.write("small", "ssh-rsa \(Base64.encode(w.bytes))\n")
        #expect(
            try !RevokedKeys(path: dir.path("small")).isRevoked(try SSHPublicKey(openSSHLine: dir.readText("ed.pub")))
        )
    }

    // MARK: Malformed KRLs

    /// A KRL header with `sections` after it.
    static func krl(version: UInt32 = 1, comment: [UInt8] = [], _ sections: [(UInt8, [UInt8])]) -> [UInt8] {
        var w = SSHWireWriter()
        w.writeBytes(KeyRevocationList.magic)
        w.writeUInt32(version)
        for _ in 0..<3 {
            w.writeUInt32(0)
            w.writeUInt32(1)
        }
        w.writeString([UInt8]())
        w.writeString(comment)
        for (type, data) in sections {
            w.writeByte(type)
            w.writeString(data)
        }
        return w.bytes
    }

    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }

    static func string(_ bytes: [UInt8]) -> [UInt8] {
        var w = SSHWireWriter()
        w.writeString(bytes)
        return w.bytes
    }

    /// A certificate section for any CA with one subsection.
    static func certificates(_ type: UInt8, _ data: [UInt8]) -> (UInt8, [UInt8]) {
        (1, string([]) + string([]) + [type] + string(data))
    }

    static let refused: [(String, [UInt8])] = [
        ("wrong magic", Array("SSHKRL\n\u{1}".utf8) + [UInt8](repeating: 0, count: 40)),
        ("short", Array("SSHKRL".utf8)),
        ("format version 2", krl(version: 2, [])),
        ("truncated header", Array(krl([]).dropLast(3))),
        ("truncated section", Array(krl([(2, string([1, 2, 3]))]).dropLast(1))),
        ("section length past the end", krl([]) + [2, 0, 0, 1, 0, 1]),
        ("unknown section", krl([(6, [])])),
        ("comment with a NUL", krl(comment: [0x61, 0, 0x62], [])),
        ("trailing data in a key section", krl([(2, string([1]) + [0])])),
        ("SHA-1 of 19 bytes", krl([(3, string([UInt8](repeating: 1, count: 19)))])),
        ("SHA-256 of 20 bytes", krl([(5, string([UInt8](repeating: 1, count: 20)))])),
        ("serial 0", krl([certificates(0x20, u64(0))])),
        ("serial list not a multiple of 8", krl([certificates(0x20, u64(1) + [0])])),
        ("range backwards", krl([certificates(0x21, u64(5) + u64(4))])),
        ("range from 0", krl([certificates(0x21, u64(0) + u64(4))])),
        ("range with trailing data", krl([certificates(0x21, u64(1) + u64(4) + [0])])),
        ("bitmap with bit 0 at offset 0", krl([certificates(0x22, u64(0) + string([1]))])),
        ("negative bitmap", krl([certificates(0x22, u64(1) + string([0x80]))])),
        ("bitmap past 2^64", krl([certificates(0x22, u64(UInt64.max) + string([2]))])),
        ("bitmap of 16392 bits", krl([certificates(0x22, u64(1) + string([1] + [UInt8](repeating: 0, count: 2048)))])),
        ("unknown subsection", krl([certificates(0x24, [])])),
        ("key ID with a NUL", krl([certificates(0x23, string([0x61, 0, 0x62]))])),
        ("CA key that is no key", krl([(1, string([0, 0, 0, 1, 0x78]) + string([]))])),
        ("signature section without its signature", krl([(4, [])])),
    ]

    @Test("malformed KRLs refused, as ssh-keygen -Q refuses them", arguments: refused)
    func malformed(_ name: String, _ bytes: [UInt8]) throws {
        #expect(throws: SSHKeyError.self, "\(name)") { try KeyRevocationList(bytes: bytes) }
        let dir = try TempDir()
        try Data(bytes).write(to: URL(fileURLWithPath: dir.path("krl")))
        try dir.write("k.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdBuVcqIc7yczNVhNC2zQ2+SYaBAk/TIRi6h5nr5U0O\n")
        let result = try runProcess(Tool.sshKeygen, ["-Q", "-f", dir.path("krl"), dir.path("k.pub")])
        #expect(result.status == 255, "\(name): \(result)")
    }

    @Test("accepted as current krl.c accepts them")
    func accepted() throws {
        // One NUL at the end of a C string is dropped.
        let krl = try KeyRevocationList(
            bytes: Self.krl(comment: [0x61, 0], [Self.certificates(0x23, Self.string([0x62, 0]))])
        )
        #expect(krl.commentBytes == [0x61])
        #expect(krl.authorities.first?.keyIDs == [[0x62]])
        // Empty sections, non-minimal bitmaps, bitmaps ending at 2^64-1, a non-critical extension.
        let more = try KeyRevocationList(
            bytes: Self.krl([
                (2, []), (3, []), (5, []),
                Self.certificates(0x22, Self.u64(UInt64.max - 7) + Self.string([0, 0, 0x81])),
                Self.certificates(0x22, Self.u64(5) + Self.string([])),
                Self.certificates(0x20, []),
                (255, Self.string(Array("x@example.com".utf8)) + [0] + Self.string([1, 2])),
                Self.certificates(0x39, Self.string(Array("y@example.com".utf8)) + [0] + Self.string([])),
            ])
                // A signature section: a key and a signature, skipped unchecked.
                + [4] + Self.string([1]) + Self.string([2])
        )
        #expect(
            more.authorities.first?.serials.runs == [
                .init(lo: UInt64.max - 7, hi: UInt64.max - 7), .init(lo: .max, hi: .max),
            ]
        )
        for critical: UInt8 in [1, 2] {
            #expect(throws: SSHKeyError.self) {
                try KeyRevocationList(
                    bytes: Self.krl([(255, Self.string(Array("x".utf8)) + [critical] + Self.string([]))])
                )
            }
        }
    }

    @Test("serial ranges coalesce as krl.c's insert_serial_range")
    func serialRanges() {
        var ranges = KRLSerialRanges()
        for (lo, hi): (UInt64, UInt64) in [
            (10, 20), (30, 40), (22, 25), (21, 21), (1, 1), (26, 29), (50, .max), (45, 49),
        ] {
            ranges.insert(lo: lo, hi: hi)
        }
        #expect(ranges.runs == [.init(lo: 1, hi: 1), .init(lo: 10, hi: 40), .init(lo: 45, hi: .max)])
        #expect(
            ranges.contains(1) && !ranges.contains(2) && ranges.contains(33) && !ranges.contains(41)
                && ranges.contains(.max)
        )
        let sorted = KRLSerialRanges(coalescing: [
            .init(lo: 5, hi: 6), .init(lo: 1, hi: 4), .init(lo: 8, hi: 9), .init(lo: 3, hi: 3),
        ])
        #expect(sorted.runs == [.init(lo: 1, hi: 6), .init(lo: 8, hi: 9)])
    }
}

/// KRLs written by keysmith, byte for byte as ssh-keygen -k writes them.
@Suite("key revocation lists written")
struct KRLWriterTests {
    /// ssh-keygen's KRL at `path`, and keysmith's for the same arguments with its date.
    static func compare(
        specs: [String],
        ca: String?,
        version: UInt64 = 0,
        updating existing: [UInt8]? = nil,
        in dir: TempDir,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [UInt8] {
        var names: [String] = []
        for (i, spec) in specs.enumerated() {
            try dir.write("spec\(i)", spec)
            names.append(dir.path("spec\(i)"))
        }
        var arguments = ["-k", "-f", dir.path("out.krl")]
        if let existing {
            try Data(existing).write(to: URL(fileURLWithPath: dir.path("out.krl")))
            arguments.append("-u")
        }
        if let ca { arguments += ["-s", ca == "none" ? "none" : dir.path("\(ca).pub")] }
        if version != 0 { arguments += ["-z", String(version)] }
        let made = try runProcess(Tool.sshKeygen, arguments + names)
        try #require(made.status == 0, "\(made)", sourceLocation: sourceLocation)
        let theirs = try dir.read("out.krl")

        var krl = try existing.map { try KeyRevocationList(bytes: $0) } ?? KeyRevocationList()
        if version != 0 { krl.version = version }
        let authority = try ca.flatMap { $0 == "none" ? nil : try SSHPublicKey(openSSHLine: dir.readText("\($0).pub")) }
        for (i, spec) in specs.enumerated() {
            try krl.update(
                fromSpec: Array(spec.utf8),
                named: "spec\(i)",
                authority: authority,
                anyAuthority: ca == "none"
            )
        }
        // The generated date is the only field that differs: take ssh-keygen's.
        if krl.generatedDate == 0 {
            krl.generatedDate = theirs[20..<28].reduce(0) { $0 << 8 | UInt64($1) }
        }
        let ours = try krl.serialized()
        #expect(ours == theirs, "\(specs)", sourceLocation: sourceLocation)
        // And what ssh-keygen wrote, read and written again, is what it was.
        #expect(try KeyRevocationList(bytes: theirs).serialized() == theirs, sourceLocation: sourceLocation)
        return theirs
    }

    /// The certificate subsection types in a KRL.
    static func subsectionTypes(_ krl: [UInt8]) throws -> Set<UInt8> {
        var r = SSHWireReader(krl)
        _ = try r.readBytes(8 + 4 + 24)
        _ = try r.readString()
        _ = try r.readString()
        var types: Set<UInt8> = []
        while !r.isAtEnd {
            let type = try r.readByte()
            var section = SSHWireReader(try r.readString())
            guard type == 1 else { continue }
            _ = try section.readString()
            _ = try section.readString()
            while !section.isAtEnd {
                types.insert(try section.readByte())
                _ = try section.readString()
            }
        }
        return types
    }

    static func makeDir() throws -> TempDir {
        let dir = try TempDir()
        for (name, type) in [("ca", "ed25519"), ("ca2", "ecdsa"), ("k1", "ed25519"), ("k2", "ecdsa"), ("k3", "rsa")] {
            let made = try runProcess(
                Tool.sshKeygen,
                ["-q", "-t", type, "-N", "", "-C", name, "-f", dir.path(name)] + (type == "rsa" ? ["-b", "1024"] : [])
            )
            try #require(made.status == 0, "\(made)")
        }
        return dir
    }

    @Test("serial sets of every density choose list, range and bitmap sections as krl.c")
    func serialEncodings() throws {
        let dir = try Self.makeDir()
        var rng = SplitMix(seed: 0x6b72_6c)
        let cases = TestTier.pick(standard: 24, full: 120)
        var seen: Set<UInt8> = []
        for i in 0..<cases {
            // Runs of various lengths separated by gaps of various sizes.
            var serial: UInt64 = 1 + rng.next() % 50
            var spec = ""
            let runs = 1 + Int(rng.next() % 60)
            let maxGap = [2, 8, 40, 200, 5000, 1 << 40][i % 6]
            let maxRun = [1, 3, 20, 500][i % 4]
            for _ in 0..<runs {
                let length = 1 + rng.next() % UInt64(maxRun)
                spec += length == 1 ? "serial: \(serial)\n" : "serial: \(serial)-\(serial + length - 1)\n"
                serial += length + 1 + rng.next() % UInt64(maxGap)
            }
            let krl = try Self.compare(specs: [spec], ca: i % 5 == 4 ? "none" : "ca", version: UInt64(i), in: dir)
            seen.formUnion(try Self.subsectionTypes(krl))
        }
        #expect(seen == [0x20, 0x21, 0x22])
    }

    @Test("key IDs, keys, hashes, certificates and several CAs, created and updated")
    func everySection() throws {
        let dir = try Self.makeDir()
        for (ca, serial, id) in [("ca", "5", "one"), ("ca2", "0", "two"), ("ca", "0", "three")] {
            try FileManager.default.copyItem(atPath: dir.path("k1.pub"), toPath: dir.path("c-\(id).pub"))
            let signed = try runProcess(
                Tool.sshKeygen,
                ["-q", "-s", dir.path(ca), "-I", id, "-z", serial, dir.path("c-\(id).pub")]
            )
            try #require(signed.status == 0, "\(signed)")
        }
        let k1 = try dir.readText("k1.pub")
        let k2 = try dir.readText("k2.pub")
        let k3 = try dir.readText("k3.pub")
        let fingerprint = try runProcess(Tool.sshKeygen, ["-l", "-f", dir.path("k2.pub")]).stdout.split(separator: " ")[
            1
        ]
        let keys = """
            # keys
            key: \(k3)\
            sha1: \(k1)\
            sha256: \(k2)\
            hash: \(fingerprint)
            \(try dir.readText("c-one-cert.pub"))\
            \(try dir.readText("c-two-cert.pub"))\
            key: \(try dir.readText("c-three-cert.pub"))
            """
        _ = try Self.compare(
            specs: ["id: zed\nid: alpha\nid: Alpha\nid:\nserial: 9\n", keys],
            ca: "ca",
            version: 3,
            in: dir
        )
        let first = try dir.read("out.krl")
        _ = try Self.compare(specs: ["id: more\nserial: 10-20\n"], ca: "ca2", updating: first, in: dir)
        _ = try Self.compare(specs: ["serial: 4\n"], ca: "none", updating: first, in: dir)
        _ = try Self.compare(specs: [k2], ca: nil, updating: first, in: dir)
    }
}

extension KRLWriterTests {
    static let refusedSpecs = [
        "serial: abc", "serial: 5-5", "serial: 7-3", "serial: 0", "serial: 0-4", "serial: 99999999999999999999",
        "serial: 1-", "serial: 5x", "serial: 1-2-3", "hash: SHA1:AAAA", "hash: SHA256:!!!!",
        "hash: SHA256:AAAA", "bogus", "key: ssh-ed25519", "sha1: ssh-ed25519 AAAA", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
    ]

    @Test("spec lines ssh-keygen refuses are refused, and the KRL is left as it was", arguments: refusedSpecs)
    func refusedSpec(_ line: String) throws {
        let dir = try TempDir()
        let made = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", dir.path("ca")])
        try #require(made.status == 0)
        try dir.write("spec", "id: fine\n\(line)\n")
        let keygen = try runProcess(
            Tool.sshKeygen,
            ["-k", "-f", dir.path("krl"), "-s", dir.path("ca.pub"), dir.path("spec")]
        )
        #expect(keygen.status == 255, "\(keygen)")
        var krl = KeyRevocationList()
        let ca = try SSHPublicKey(openSSHLine: dir.readText("ca.pub"))
        #expect(throws: SSHKeyError.self) {
            try krl.update(fromSpec: Array("id: fine\n\(line)\n".utf8), named: "spec", authority: ca)
        }
        #expect(krl.authorities.isEmpty)
    }

    @Test("serials and key IDs without a CA are refused, as ssh-keygen refuses them")
    func specWithoutCA() throws {
        var krl = KeyRevocationList()
        for line in ["serial: 1", "id: x"] {
            #expect(throws: SSHKeyError.self) { try krl.update(fromSpec: Array(line.utf8), named: "s", authority: nil) }
        }
    }

    @Test("a bitmap OpenSSH could not read back is refused, not written")
    func oversizedBitmap() throws {
        var krl = KeyRevocationList()
        for serial in stride(from: UInt64(1), through: 40_000, by: 3) {
            try krl.revokeCertificates(serials: serial...serial, by: nil)
        }
        #expect(throws: SSHKeyError.self) { try krl.serialized() }
    }
}

/// A small deterministic generator (SplitMix64), so failures repeat.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
