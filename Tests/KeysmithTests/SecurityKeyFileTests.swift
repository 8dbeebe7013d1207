import Foundation
import KeysmithTestSupport
import Testing

/// Security-key private key files (sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com):
/// the files are built byte by byte as sshkey_private_serialize writes them (no authenticator
/// is needed to read, re-encrypt or re-comment one), ssh-keygen is shown to read them, and
/// every key command of keysmith must agree with ssh-keygen on them, byte for byte where
/// the format is deterministic (everything but the random check-ints).
@Suite("security-key private key files, as ssh-keygen reads and writes them")
struct SecurityKeyFileTests {
    struct Variant: CustomTestStringConvertible, Sendable {
        var type: String
        var flags: UInt8
        var application: String
        var reserved: [UInt8]
        var testDescription: String {
            "\(type) flags \(flags) \(application)\(reserved.isEmpty ? "" : " reserved")"
        }
    }

    static let variants: [Variant] = [
        Variant(type: "sk-ssh-ed25519@openssh.com", flags: 0x01, application: "ssh:", reserved: []),
        Variant(type: "sk-ecdsa-sha2-nistp256@openssh.com", flags: 0x01, application: "ssh:", reserved: []),
        // verify-required, resident, no-touch-required; an application of the user's; a reserved string kept.
        Variant(type: "sk-ssh-ed25519@openssh.com", flags: 0x24, application: "ssh:work", reserved: [1, 2, 3]),
        Variant(type: "sk-ecdsa-sha2-nistp256@openssh.com", flags: 0x25, application: "ssh:git", reserved: [0]),
    ]

    /// A key of `v`'s type whose public half comes from a key ssh-keygen made, and a random key handle.
    static func securityKey(_ v: Variant, dir: TempDir) throws -> OpenSSHKeyBytes.SecurityKey {
        let ecdsa = v.type.hasPrefix("sk-ecdsa")
        let base = dir.path("base")
        try #require(
            try keygen(["-q", "-t", ecdsa ? "ecdsa" : "ed25519", "-f", base, "-N", ""] + (ecdsa ? ["-b", "256"] : []))
                .status == 0
        )
        let publicKey = try #require(OpenSSHKeyBytes.lastString(ofKeyLine: try readText(base + ".pub")))
        var g = SystemRandomNumberGenerator()
        return OpenSSHKeyBytes.SecurityKey(
            type: v.type,
            publicKey: publicKey,
            application: v.application,
            flags: v.flags,
            keyHandle: (0..<96).map { _ in UInt8.random(in: 0...255, using: &g) },
            reserved: v.reserved
        )
    }

    static func write(_ key: OpenSSHKeyBytes.SecurityKey, comment: String, to path: String) throws {
        try writeText(
            path,
            OpenSSHKeyBytes.file(publicBlob: key.publicBlob, fields: key.privateFields, comment: comment)
        )
    }

    /// The file at `path`, decrypted by ssh-keygen when `passphrase` is set, taken apart.
    static func contents(_ path: String, passphrase: String? = nil) throws -> OpenSSHKeyBytes.Unencrypted {
        var text = try readText(path)
        if let passphrase {
            let copy = path + ".decrypted"
            try writeText(copy, text)
            _ = try keygen(["-q", "-p", "-P", passphrase, "-N", "", "-f", copy]).checked("ssh-keygen -p")
            text = try readText(copy)
            try FileManager.default.removeItem(atPath: copy)
        }
        return try #require(OpenSSHKeyBytes.unencrypted(text), "\(text)")
    }

    @Test("public and fingerprint read what ssh-keygen reads, plain and encrypted", arguments: variants)
    func reads(_ v: Variant) throws {
        let dir = try TempDir()
        let sk = try Self.securityKey(v, dir: dir)
        let key = dir.path("id_sk")
        try Self.write(sk, comment: "sk key ü", to: key)
        let y = try keygen(["-y", "-f", key]).checked("ssh-keygen -y")
        #expect(y.stdout == sk.line(comment: "sk key ü"), "the file is what ssh-keygen reads")

        let ours = try keysmith("public", "-f", key)
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdout == y.stdout)
        for flags in [["-l"], ["-l", "-E", "md5"], ["-lv"]] {
            let t = try keygen(flags + ["-f", key])
            var mine = ["fingerprint", "-f", key]
            if flags.contains("-E") { mine += ["-E", "md5"] }
            if flags.contains("-lv") { mine += ["-v"] }
            let o = try keysmith(arguments: mine)
            #expect(o.status == 0, "\(o)")
            #expect(o.stdout == t.stdout, "\(flags)")
        }

        // Encrypted by ssh-keygen: read with the passphrase, refused without it.
        _ = try keygen(["-q", "-p", "-N", "pass phrase", "-a", "2", "-f", key]).checked("ssh-keygen -p")
        let enc = try keysmith("public", "-f", key, "-P", "pass phrase")
        #expect(enc.status == 0, "\(enc)")
        #expect(enc.stdout == y.stdout)
        let wrong = try keysmith("public", "-f", key, "-P", "wrong")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("incorrect passphrase"), "\(wrong)")
        #expect(try keysmith("fingerprint", "-f", key).stdout == (try keygen(["-l", "-f", key])).stdout)
    }

    /// The default tier changes the passphrase of the two variants with flags, an application
    /// and a reserved string of their own (one of each type); the full tier of all four.
    @Test(
        "passphrase: what keysmith writes ssh-keygen reads, and decrypts to the same bytes",
        arguments: TestTier.pick(standard: Array(variants.suffix(2)), full: variants)
    )
    func passphrase(_ v: Variant) throws {
        let dir = try TempDir()
        let sk = try Self.securityKey(v, dir: dir)
        let key = dir.path("id_sk")
        try Self.write(sk, comment: "cmt", to: key)
        let original = try Self.contents(key)
        let line = sk.line(comment: "cmt")

        for cipher in ["aes256-ctr", "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"] {
            let r = try keysmith("passphrase", "-f", key, "-P", "", "-N", "new", "-a", "2", "-Z", cipher)
            #expect(r.status == 0, "\(r)")
            #expect(try fileMode(key) == 0o600)
            #expect(try keygen(["-y", "-P", "new", "-f", key]).stdout == line, "\(cipher)")
            #expect(try Self.contents(key, passphrase: "new") == original, "\(cipher)")
            // ssh-keygen -p reads our encryption and writes its own; keysmith reads that back.
            _ = try keygen(["-q", "-p", "-P", "new", "-N", "theirs", "-a", "2", "-f", key]).checked("ssh-keygen -p")
            let back = try keysmith("passphrase", "-f", key, "-P", "theirs", "-N", "")
            #expect(back.status == 0, "\(back)")
            #expect(try Self.contents(key) == original, "\(cipher)")
        }

        // -m pem and -m pkcs8 write security keys in the OpenSSH format, as ssh-keygen -p -m does.
        for format in ["pem", "pkcs8"] {
            let theirs = dir.path("theirs-\(format)")
            try FileManager.default.copyItem(atPath: key, toPath: theirs)
            _ = try keygen(["-q", "-p", "-P", "", "-N", "", "-m", format.uppercased(), "-f", theirs]).checked("-p -m")
            let r = try keysmith("passphrase", "-f", key, "-P", "", "-N", "", "-m", format)
            #expect(r.status == 0, "\(r)")
            #expect(try Self.contents(key) == (try Self.contents(theirs)), "\(format)")
            #expect(try Self.contents(key) == original)
        }
    }

    @Test("comment: the same file as ssh-keygen -c", arguments: variants)
    func comment(_ v: Variant) throws {
        let dir = try TempDir()
        let sk = try Self.securityKey(v, dir: dir)
        let key = dir.path("id_sk")
        let theirs = dir.path("theirs")
        try Self.write(sk, comment: "old comment", to: key)
        try Self.write(sk, comment: "old comment", to: theirs)
        _ = try keygen(["-q", "-c", "-C", "new comment", "-P", "", "-f", theirs]).checked("ssh-keygen -c")
        let r = try keysmith("comment", "-f", key, "-C", "new comment")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "Old comment: old comment\nComment 'new comment' applied\n")
        #expect(try Self.contents(key) == (try Self.contents(theirs)))
        #expect(try keygen(["-y", "-f", key]).stdout == sk.line(comment: "new comment"))
        #expect(try readText(key + ".pub") == sk.line(comment: "new comment"))

        // Encrypted: the passphrase is kept.
        _ = try keygen(["-q", "-p", "-N", "pw", "-a", "2", "-f", key]).checked("ssh-keygen -p")
        let e = try keysmith("comment", "-f", key, "-P", "pw", "-C", "third", "-a", "2")
        #expect(e.status == 0, "\(e)")
        #expect(try keygen(["-y", "-P", "pw", "-f", key]).stdout == sk.line(comment: "third"))
        _ = try keygen(["-q", "-c", "-C", "third", "-P", "", "-f", theirs]).checked("ssh-keygen -c")
        #expect(try Self.contents(key, passphrase: "pw") == (try Self.contents(theirs)))
    }

    @Test("convert: PEM and PKCS#8 are refused in one sentence, as ssh-keygen refuses them", arguments: variants)
    func convert(_ v: Variant) throws {
        let dir = try TempDir()
        let sk = try Self.securityKey(v, dir: dir)
        let key = dir.path("id_sk")
        try Self.write(sk, comment: "c", to: key)
        try writeText(key + ".pub", sk.line(comment: "c"), mode: 0o644)
        let before = try readBytes(key)
        let display = v.type.hasPrefix("sk-ecdsa") ? "ECDSA-SK" : "ED25519-SK"
        for (to, label) in [("pem", "PEM"), ("pkcs8", "PKCS#8")] {
            for args in [["-f", key], ["-f", key, "--public"], ["-f", key + ".pub"]] {
                let r = try keysmith(arguments: ["convert", "--to", to] + args)
                #expect(r.status == 1, "\(r)")
                #expect(r.stdout.isEmpty)
                #expect(
                    r.stderr
                        == "keysmith: \(args[1]): unsupported key type \(display): security keys have no \(label) form in OpenSSH; use openssh or rfc4716.\n",
                    "\(r.stderr)"
                )
                #expect(try readBytes(key) == before, "file untouched")
            }
            // ssh-keygen -e refuses them: do_convert_to_pem: unsupported key type ED25519-SK.
            let t = try keygen(["-e", "-m", to.uppercased(), "-f", key + ".pub"])
            #expect(t.status != 0)
            #expect(t.stderr.contains("unsupported key type \(display)"), "\(t)")
        }
        // The OpenSSH format is kept as it was, and RFC 4716 is ssh-keygen -e's.
        let r = try keysmith("convert", "-f", key, "--to", "openssh")
        #expect(r.status == 0, "\(r)")
        #expect(try Self.contents(key) == OpenSSHKeyBytes.unencrypted(String(decoding: before, as: UTF8.self)))
        let strip: (String) -> String = {
            $0.split(separator: "\n").filter { !$0.hasPrefix("Comment:") }.joined(separator: "\n")
        }
        let mine = try keysmith("convert", "-f", key + ".pub", "--to", "rfc4716")
        let theirs = try keygen(["-e", "-f", key + ".pub"])
        #expect(mine.status == 0, "\(mine)")
        #expect(strip(mine.stdout) == strip(theirs.stdout))
    }

    @Test(
        "without a provider and with no token, a security key does not sign: one sentence, exit 1",
        arguments: variants.prefix(2)
    )
    func signWithoutAuthenticator(_ v: Variant) throws {
        let dir = try TempDir()
        let sk = try Self.securityKey(v, dir: dir)
        let key = dir.path("id_sk")
        try Self.write(sk, comment: "c", to: key)
        try writeText(dir.path("msg"), "hello\n")
        // libfido2 finds no authenticator on a machine without one.
        let r = try keysmith("sign", "-f", key, "-n", "file", dir.path("msg"))
        #expect(r.status == 1, "\(r)")
        // "Signing file …" and "Confirm user presence …" first, as ssh-keygen -Y sign, then the one sentence.
        let sentences = r.stderr.split(separator: "\n").filter { $0.hasPrefix("keysmith: ") }
        #expect(sentences.count == 1, "\(r.stderr)")
        #expect(sentences.first?.contains("no FIDO authenticator found") == true, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("msg.sig")))
    }

    enum BadCase: String, CaseIterable, CustomTestStringConvertible {
        case endsAfterKey, endsAfterApplication, endsAfterFlags, endsAfterKeyHandle
        case flagsAsUInt32, missingKeyHandle, applicationDiffers, applicationWithNUL, wrongCurve
        var testDescription: String { rawValue }
    }

    static let types = ["sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]

    /// Every damage with both types in the full tier; in the default tier each damage once, the
    /// types taking turns, and the wrong curve (a check of each type's own) with both.
    static let badCases: [(BadCase, String)] = TestTier.pick(
        standard: BadCase.allCases.enumerated().map { ($0.element, types[$0.offset % 2]) }
            + [(.wrongCurve, types[BadCase.allCases.count % 2])],
        full: BadCase.allCases.flatMap { c in types.map { (c, $0) } }
    )

    @Test(
        "damaged security-key private keys: one sentence, exit 1, no file touched, and ssh-keygen refuses them too",
        arguments: badCases
    )
    func badInput(_ c: BadCase, _ type: String) throws {
        let dir = try TempDir()
        let v = Variant(type: type, flags: 0x01, application: "ssh:", reserved: [])
        let sk = try Self.securityKey(v, dir: dir)
        let S = OpenSSHKeyBytes.self
        let app = S.string(sk.application)
        let handle = S.string(sk.keyHandle)
        let fields: [UInt8]
        var publicBlob = sk.publicBlob
        switch c {
        case .endsAfterKey: fields = sk.privateKeyPart
        case .endsAfterApplication: fields = sk.privateKeyPart + app
        case .endsAfterFlags: fields = sk.privateKeyPart + app + [sk.flags]
        case .endsAfterKeyHandle: fields = sk.privateKeyPart + app + [sk.flags] + handle
        case .flagsAsUInt32: fields = sk.privateKeyPart + app + S.uint32(UInt32(sk.flags)) + handle + S.string([])
        case .missingKeyHandle: fields = sk.privateKeyPart + app + [sk.flags] + S.string([UInt8]())
        case .applicationDiffers:
            fields = sk.privateKeyPart + S.string("ssh:other") + [sk.flags] + handle + S.string([])
        case .applicationWithNUL:
            var bad = sk
            bad.application = "ssh:\u{0}x"
            publicBlob = bad.publicBlob
            fields = bad.privateFields
        case .wrongCurve:
            var part = S.string(type)
            part +=
                type.hasPrefix("sk-ecdsa")
                ? S.string("nistp384") + S.string(sk.publicKey) : S.string([UInt8](repeating: 7, count: 31))
            fields = part + app + [sk.flags] + handle + S.string([])
        }
        let key = dir.path("bad")
        // The comment is left out where a field is missing, so what follows is only the padding.
        let comment =
            [.endsAfterKey, .endsAfterApplication, .endsAfterFlags, .endsAfterKeyHandle].contains(c) ? nil : "c"
        var text = S.file(publicBlob: publicBlob, fields: fields, comment: comment ?? "")
        if comment == nil {
            text = Self.withoutComment(publicBlob: publicBlob, fields: fields)
        }
        try writeText(key, text)
        let before = try readBytes(key)
        #expect(try keygen(["-y", "-f", key]).status != 0, "ssh-keygen refuses it too")
        for args in [
            ["public", "-f", key], ["passphrase", "-f", key, "-P", "", "-N", "new", "-a", "2"],
            ["comment", "-f", key, "-C", "x"], ["convert", "-f", key, "--to", "openssh"],
            ["sign", "-f", key, "-n", "file", key],
        ] {
            let r = try keysmith(arguments: args)
            #expect(r.status == 1, "\(args[0]): \(r)")
            #expect(r.stdout.isEmpty, "\(args[0])")
            #expect(r.stderr.hasPrefix("keysmith: "), "\(args[0]): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args[0]): one sentence: \(r.stderr)")
            #expect(try readBytes(key) == before, "\(args[0]) left the file alone")
        }
    }

    /// A file whose private section is `fields` and the padding, with no comment string.
    static func withoutComment(publicBlob: [UInt8], fields: [UInt8]) -> String {
        let S = OpenSSHKeyBytes.self
        var section = S.uint32(7) + S.uint32(7) + fields
        var pad: UInt8 = 0
        while section.count % 8 != 0 {
            pad += 1
            section.append(pad)
        }
        let blob =
            Array("openssh-key-v1".utf8) + [0] + S.string("none") + S.string("none") + S.string([UInt8]()) + S.uint32(1)
            + S.string(publicBlob) + S.string(section)
        return S.armor(blob)
    }
}
