import Foundation
import KeysmithTestSupport
import Testing

/// Bad input gives one sentence on stderr, exit 1, and leaves every file as it was.
@Suite("bad input is refused cleanly")
struct BadInputTests {
    /// A valid unencrypted OpenSSH key (made by ssh-keygen) and its decoded bytes.
    /// Its comment leaves four bytes of padding in the private section.
    static func validKey(_ dir: TempDir, passphrase: String = "") throws -> (path: String, text: String, blob: [UInt8])
    {
        let path = dir.path("valid")
        try #require(
            try keygen(["-q", "-t", "ed25519", "-a", "2", "-f", path, "-N", passphrase, "-C", "valid key"]).status == 0
        )
        let text = try readText(path)
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return (path, text, Array(Data(base64Encoded: body)!))
    }

    static func armor(_ blob: [UInt8]) -> String {
        let b64 = Data(blob).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN OPENSSH PRIVATE KEY-----\n\(b64)\n-----END OPENSSH PRIVATE KEY-----\n"
    }

    /// Offsets into the unencrypted blob: magic(15) + "none"(8) + "none"(8) + ""(4) + nkeys(4) + pub(4+51) + len(4).
    static let privateStart = 15 + 8 + 8 + 4 + 4 + 55 + 4

    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case empty, randomBytes, truncated, wrongBase64, hugeLength, publicKeyGiven, badPadding, badCheckInts
        case wrongPassphrase, missingFile, badMagic, trailingGarbage, unknownCipher, zeroKeys, mismatchedPublic
        var testDescription: String { rawValue }
    }

    @Test("public -f refuses", arguments: Case.allCases)
    func refuses(_ c: Case) throws {
        let dir = try TempDir()
        let (validPath, validText, blob) = try Self.validKey(dir)
        let target = dir.path("bad")
        var passphrase = ""
        switch c {
        case .empty: try writeText(target, "")
        case .randomBytes:
            var g = SystemRandomNumberGenerator()
            let bytes = (0..<600).map { _ in UInt8.random(in: 0...255, using: &g) }
            try Data(bytes).write(to: URL(fileURLWithPath: target))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
        case .truncated: try writeText(target, Self.armor(Array(blob.prefix(blob.count - 40))))
        case .wrongBase64: try writeText(target, validText.replacingOccurrences(of: "b3Blb", with: "b3B!b"))
        case .hugeLength:
            var b = blob
            // The private section's length field: 2^32 - 1.
            for i in 0..<4 { b[Self.privateStart - 4 + i] = 0xFF }
            try writeText(target, Self.armor(b))
        case .publicKeyGiven: try writeText(target, try readText(validPath + ".pub"))
        case .badPadding:
            var b = blob
            b[b.count - 1] ^= 0x55
            try writeText(target, Self.armor(b))
        case .badCheckInts:
            var b = blob
            b[Self.privateStart] ^= 1
            try writeText(target, Self.armor(b))
        case .wrongPassphrase:
            let enc = dir.path("enc")
            try #require(try keygen(["-q", "-t", "ed25519", "-a", "2", "-f", enc, "-N", "right"]).status == 0)
            try FileManager.default.moveItem(atPath: enc, toPath: target)
            passphrase = "wrong"
        case .missingFile: break
        case .badMagic:
            var b = blob
            b[3] = UInt8(ascii: "X")
            try writeText(target, Self.armor(b))
        case .trailingGarbage: try writeText(target, Self.armor(blob + [1, 2, 3, 4]))
        case .unknownCipher:
            var b = blob
            // "none" → "nonf" as the cipher name.
            b[15 + 4 + 3] = UInt8(ascii: "f")
            try writeText(target, Self.armor(b))
        case .zeroKeys:
            var b = blob
            b[15 + 8 + 8 + 4 + 3] = 0
            try writeText(target, Self.armor(b))
        case .mismatchedPublic:
            var b = blob
            // Flip a byte of the public key in the clear header.
            b[15 + 8 + 8 + 4 + 4 + 4 + 30] ^= 1
            try writeText(target, Self.armor(b))
        }
        let before = try? readBytes(target)
        let r = try keysmith("public", "-f", target, "-P", passphrase)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one sentence: \(r.stderr)")
        #expect(r.stderr.hasPrefix("keysmith: "))
        if c == .wrongPassphrase { #expect(r.stderr.contains("incorrect passphrase")) }
        #expect((try? readBytes(target)) == before, "file untouched")

        // ssh-keygen refuses the same files.
        if c != .publicKeyGiven {
            #expect(try keygen(["-y", "-P", passphrase, "-f", target]).status != 0)
        }
        // fingerprint and passphrase refuse too and leave the file alone.
        let p = try keysmith("passphrase", "-f", target, "-P", passphrase, "-N", "new", "-a", "2")
        #expect(p.status == 1, "\(p)")
        #expect(p.stderr.split(separator: "\n").count == 1, "\(p.stderr)")
        #expect((try? readBytes(target)) == before)
    }

    @Test("a private key readable by others is refused with chmod advice")
    func permissions() throws {
        let dir = try TempDir()
        let (path, _, _) = try Self.validKey(dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let r = try keysmith("public", "-f", path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("chmod 600 \(path)"), "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test("an encrypted key with no passphrase and no terminal says how to give one")
    func noTerminal() throws {
        let dir = try TempDir()
        let (path, _, _) = try Self.validKey(dir, passphrase: "secret")
        let r = try runProcess("/usr/bin/setsid", ["-w", keysmithPath, "public", "-f", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("-P"), "\(r)")
    }
}
