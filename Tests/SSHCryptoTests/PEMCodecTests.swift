import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHCrypto

/// Interop with the PEM and PKCS#8 files that ssh-keygen 9.2 and openssl 3.0 write.
@Suite("PEMCodec")
struct PEMCodecTests {
    struct KeySpec: Sendable, CustomTestStringConvertible {
        let type: String
        let bits: String
        var testDescription: String { "\(self.type)-\(self.bits)" }
    }

    static let specs = [
        KeySpec(type: "rsa", bits: "2048"),
        KeySpec(type: "ecdsa", bits: "256"),
        KeySpec(type: "ecdsa", bits: "384"),
        KeySpec(type: "ecdsa", bits: "521"),
    ]

    static let passphrase = "correct horse"

    /// `ssh-keygen -m PEM` writes PKCS#1 / SEC1; `-m PKCS8` writes PKCS#8.
    static let formats: [(String, PEMPrivateKeyFormat)] = [("PEM", .traditional), ("PKCS8", .pkcs8)]

    /// The public line of a `.pub` file without its comment.
    static func publicLine(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).prefix(2).joined(separator: " ")
    }

    @Test("ssh-keygen keys decode and re-encode byte for byte", arguments: PEMCodecTests.specs, [0, 1])
    func sshKeygenUnencrypted(_ spec: KeySpec, _ formatIndex: Int) throws {
        let (mode, format) = Self.formats[formatIndex]
        let dir = try TempDir()
        try InteropTool.sshKeygen(
            "-q",
            "-t",
            spec.type,
            "-b",
            spec.bits,
            "-m",
            mode,
            "-N",
            "",
            "-C",
            "",
            "-f",
            dir.path("key")
        )
        let original = try dir.read("key")
        #expect(!PEMCodec.isEncryptedPrivateKey(original))
        let key = try PEMCodec.decodePrivateKey(original, passphrase: nil)
        switch (spec.type, key) {
        case ("rsa", .rsa(let rsa)): #expect(rsa.bits == Int(spec.bits))
        case ("ecdsa", .ecdsa(let ec)): #expect(ec.curve.bits == Int(spec.bits))
        default: Issue.record("decoded the wrong key type")
        }
        let encoded = try PEMCodec.encodePrivateKey(key, format: format, passphrase: nil)
        #expect(encoded == String(decoding: original, as: UTF8.self))
        // A nil passphrase and an empty one both mean "unencrypted".
        #expect(try PEMCodec.encodePrivateKey(key, format: format, passphrase: SecureBytes(count: 0)) == encoded)

        // Public halves, as ssh-keygen -e writes them.
        let spki = try InteropTool.sshKeygen("-e", "-m", "PKCS8", "-f", dir.path("key.pub"))
        let publicKey: OpenSSLPublicKey
        switch key {
        case .rsa(let rsa):
            publicKey = .rsa(rsa.publicKey)
            let pkcs1 = try InteropTool.sshKeygen("-e", "-m", "PEM", "-f", dir.path("key.pub"))
            #expect(try PEMCodec.encodeRSAPublicKeyPKCS1(rsa) == String(decoding: pkcs1, as: UTF8.self))
            guard case .rsa(let decoded) = try PEMCodec.decodePublicKey(pkcs1) else {
                throw InteropTool.Failure(description: "not RSA")
            }
            #expect(decoded.n == rsa.n && !decoded.isPrivate)
        case .ecdsa(let ec): publicKey = .ecdsa(ec.publicKey)
        case .ed25519: throw InteropTool.Failure(description: "unexpected Ed25519")
        }
        #expect(try PEMCodec.encodePublicKeySPKI(publicKey) == String(decoding: spki, as: UTF8.self))
        let decodedPublic = try PEMCodec.decodePublicKey(spki)
        #expect(try PEMCodec.encodePublicKeySPKI(decodedPublic) == String(decoding: spki, as: UTF8.self))
    }

    @Test("encrypted ssh-keygen keys: passphrase required, wrong, right", arguments: PEMCodecTests.specs, [0, 1])
    func sshKeygenEncrypted(_ spec: KeySpec, _ formatIndex: Int) throws {
        let (mode, format) = Self.formats[formatIndex]
        let dir = try TempDir()
        try InteropTool.sshKeygen(
            "-q",
            "-t",
            spec.type,
            "-b",
            spec.bits,
            "-m",
            mode,
            "-N",
            Self.passphrase,
            "-C",
            "",
            "-f",
            dir.path("key")
        )
        let original = try dir.read("key")
        let text = String(decoding: original, as: UTF8.self)
        switch format {
        case .traditional: #expect(text.contains("Proc-Type: 4,ENCRYPTED") && text.contains("DEK-Info: AES-128-CBC,"))
        case .pkcs8: #expect(text.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        }
        #expect(PEMCodec.isEncryptedPrivateKey(original))
        #expect(throws: CryptoError(.passphraseRequired, "")) {
            try PEMCodec.decodePrivateKey(original, passphrase: nil)
        }
        #expect(throws: CryptoError(.passphraseRequired, "")) {
            try PEMCodec.decodePrivateKey(original, passphrase: SecureBytes(count: 0))
        }
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try PEMCodec.decodePrivateKey(original, passphrase: SecureBytes(utf8: "wrong horse"))
        }
        let key = try PEMCodec.decodePrivateKey(original, passphrase: SecureBytes(utf8: Self.passphrase))

        // Our unencrypted encoding is what ssh-keygen writes when it removes the passphrase.
        try InteropTool.sshKeygen("-q", "-p", "-m", mode, "-P", Self.passphrase, "-N", "", "-f", dir.path("key"))
        #expect(try PEMCodec.encodePrivateKey(key, format: format, passphrase: nil) == (try dir.readText("key")))

        // Our encrypted encoding: ssh-keygen reads it back with the passphrase.
        let encrypted = try PEMCodec.encodePrivateKey(
            key,
            format: format,
            passphrase: SecureBytes(utf8: "another passphrase")
        )
        switch format {
        case .traditional: #expect(encrypted.contains("Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"))
        case .pkcs8: #expect(encrypted.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        }
        try dir.write("ours", encrypted)
        if format == .pkcs8 {
            // Same PBES2 layout as ssh-keygen's (PBKDF2, hmacWithSHA256, 2048 rounds, aes-128-cbc):
            // the ASN.1 structure matches once the random salt, IV and ciphertext are blanked.
            try InteropTool.sshKeygen("-q", "-p", "-m", mode, "-P", "", "-N", Self.passphrase, "-f", dir.path("key"))
            func layout(_ name: String) throws -> [String] {
                String(decoding: try InteropTool.openssl("asn1parse", "-in", dir.path(name)), as: UTF8.self)
                    .split(separator: "\n").map { line in String(line.split(separator: "[HEX DUMP]").first ?? line) }
            }
            #expect(try layout("ours") == (try layout("key")))
            #expect(try layout("ours").contains { $0.contains("hmacWithSHA256") })
            #expect(try layout("ours").contains { $0.contains("aes-128-cbc") })
        }
        let line = try InteropTool.sshKeygen("-y", "-P", "another passphrase", "-f", dir.path("ours"))
        #expect(Self.publicLine(String(decoding: line, as: UTF8.self)) == Self.publicLine(try dir.readText("key.pub")))
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try PEMCodec.decodePrivateKey(Array(encrypted.utf8), passphrase: SecureBytes(utf8: Self.passphrase))
        }
    }

    @Test("keys we generate are read by ssh-keygen", arguments: [0, 1])
    func generatedKeysReadBySSHKeygen(_ formatIndex: Int) throws {
        let (_, format) = Self.formats[formatIndex]
        let dir = try TempDir()
        let keys: [OpenSSLPrivateKey] =
            [.rsa(sharedRSAKey)] + (try ECCurve.allCases.map { .ecdsa(try ECDSAKey.generate(curve: $0)) })
        for (index, key) in keys.enumerated() {
            let name = "key\(index)"
            try dir.write(name, try PEMCodec.encodePrivateKey(key, format: format, passphrase: nil))
            try dir.write(
                name + ".pub",
                String(decoding: try InteropTool.sshKeygen("-y", "-f", dir.path(name)), as: UTF8.self)
            )
            let spki = try InteropTool.sshKeygen("-e", "-m", "PKCS8", "-f", dir.path(name + ".pub"))
            let publicKey: OpenSSLPublicKey
            switch key {
            case .rsa(let rsa): publicKey = .rsa(rsa.publicKey)
            case .ecdsa(let ec): publicKey = .ecdsa(ec.publicKey)
            case .ed25519: continue
            }
            #expect(try PEMCodec.encodePublicKeySPKI(publicKey) == String(decoding: spki, as: UTF8.self))
        }
    }

    @Test("ssh-keygen -m PEM writes Ed25519 keys as openssh-key-v1, which we do not read here")
    func ed25519PEMModeIsOpenSSHFormat() throws {
        let dir = try TempDir()
        try InteropTool.sshKeygen("-q", "-t", "ed25519", "-m", "PEM", "-N", "", "-C", "", "-f", dir.path("key"))
        let text = try dir.readText("key")
        #expect(text.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
        #expect(throws: CryptoError(.malformedInput, "")) {
            try PEMCodec.decodePrivateKey(Array(text.utf8), passphrase: nil)
        }
        // ssh-keygen -e -m PKCS8 refuses Ed25519 public keys too.
        #expect(throws: (any Error).self) { try InteropTool.sshKeygen("-e", "-m", "PKCS8", "-f", dir.path("key.pub")) }
    }

    @Test("openssl Ed25519 PKCS#8, plain and encrypted")
    func opensslEd25519() throws {
        let dir = try TempDir()
        try InteropTool.openssl("genpkey", "-algorithm", "ed25519", "-out", dir.path("key.pem"))
        let original = try dir.read("key.pem")
        guard case .ed25519(let seed) = try PEMCodec.decodePrivateKey(original, passphrase: nil) else {
            Issue.record("not Ed25519")
            return
        }
        #expect(seed.count == 32)
        #expect(
            try PEMCodec.encodePrivateKey(.ed25519(seed: seed), format: .pkcs8, passphrase: nil)
                == String(decoding: original, as: UTF8.self)
        )
        #expect(throws: CryptoError(.unsupported, "")) {
            try PEMCodec.encodePrivateKey(.ed25519(seed: seed), format: .traditional, passphrase: nil)
        }

        let publicPEM = try InteropTool.openssl("pkey", "-in", dir.path("key.pem"), "-pubout")
        let publicKey = try Ed25519.publicKey(seed: seed)
        #expect(
            try PEMCodec.encodePublicKeySPKI(.ed25519(publicKey: publicKey))
                == String(decoding: publicPEM, as: UTF8.self)
        )
        guard case .ed25519(let decoded) = try PEMCodec.decodePublicKey(publicPEM) else {
            Issue.record("not Ed25519")
            return
        }
        #expect(decoded == publicKey)

        // A signature made by openssl verifies with libsodium.
        try dir.write("message", "signed by openssl")
        try InteropTool.openssl(
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            dir.path("key.pem"),
            "-in",
            dir.path("message"),
            "-out",
            dir.path("sig")
        )
        #expect(Ed25519.verify(publicKey: publicKey, signature: try dir.read("sig"), message: try dir.read("message")))
        #expect(try Ed25519.sign(seed: seed, message: try dir.read("message")) == (try dir.read("sig")))

        try InteropTool.openssl(
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            dir.path("key.pem"),
            "-out",
            dir.path("enc.pem"),
            "-passout",
            "pass:sesame seed"
        )
        let encrypted = try dir.read("enc.pem")
        #expect(PEMCodec.isEncryptedPrivateKey(encrypted))
        #expect(throws: CryptoError(.passphraseRequired, "")) {
            try PEMCodec.decodePrivateKey(encrypted, passphrase: nil)
        }
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try PEMCodec.decodePrivateKey(encrypted, passphrase: SecureBytes(utf8: "sesame"))
        }
        guard
            case .ed25519(let again) = try PEMCodec.decodePrivateKey(
                encrypted,
                passphrase: SecureBytes(utf8: "sesame seed")
            )
        else {
            Issue.record("not Ed25519")
            return
        }
        #expect(again.constantTimeEquals(seed))

        // Our encrypted PKCS#8 is readable by openssl.
        try dir.write(
            "ours.pem",
            try PEMCodec.encodePrivateKey(
                .ed25519(seed: seed),
                format: .pkcs8,
                passphrase: SecureBytes(utf8: "open sesame")
            )
        )
        let plain = try InteropTool.openssl("pkey", "-in", dir.path("ours.pem"), "-passin", "pass:open sesame")
        #expect(Array(plain) == original)
    }

    @Test(
        "legacy encrypted PEM from openssl",
        arguments: [
            ("rsa", "-aes256"), ("rsa", "-des3"), ("rsa", "-aes128"), ("rsa", "-aes192"), ("ec", "-aes128"),
            ("ec", "-des3"),
        ]
    )
    func legacyEncrypted(_ tool: String, _ cipher: String) throws {
        let dir = try TempDir()
        let type = tool == "rsa" ? "rsa" : "ecdsa"
        try InteropTool.sshKeygen("-q", "-t", type, "-m", "PEM", "-N", "", "-C", "", "-f", dir.path("key"))
        // `openssl rsa` writes PKCS#8 unless told -traditional; `openssl ec` writes SEC1.
        var arguments = [
            tool, "-in", dir.path("key"), "-out", dir.path("enc.pem"), cipher, "-passout", "pass:legacy pass",
        ]
        if tool == "rsa" { arguments.append("-traditional") }
        try InteropTool.run(Tool.openssl, arguments)
        let encrypted = try dir.read("enc.pem")
        #expect(String(decoding: encrypted, as: UTF8.self).contains("Proc-Type: 4,ENCRYPTED"))
        #expect(PEMCodec.isEncryptedPrivateKey(encrypted))
        #expect(throws: CryptoError(.passphraseRequired, "")) {
            try PEMCodec.decodePrivateKey(encrypted, passphrase: nil)
        }
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try PEMCodec.decodePrivateKey(encrypted, passphrase: SecureBytes(utf8: "legacy pas"))
        }
        let key = try PEMCodec.decodePrivateKey(encrypted, passphrase: SecureBytes(utf8: "legacy pass"))
        #expect(try PEMCodec.encodePrivateKey(key, format: .traditional, passphrase: nil) == (try dir.readText("key")))
    }

    @Test("DER private keys, plain and encrypted PKCS#8", arguments: ["rsa", "ecdsa"])
    func der(_ type: String) throws {
        let dir = try TempDir()
        try InteropTool.sshKeygen("-q", "-t", type, "-m", "PEM", "-N", "", "-C", "", "-f", dir.path("key"))
        try InteropTool.openssl(
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            dir.path("key"),
            "-outform",
            "DER",
            "-out",
            dir.path("plain.der")
        )
        try InteropTool.openssl(
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            dir.path("key"),
            "-outform",
            "DER",
            "-out",
            dir.path("enc.der"),
            "-passout",
            "pass:der pass"
        )
        try InteropTool.openssl(
            "pkey",
            "-in",
            dir.path("key"),
            "-outform",
            "DER",
            "-out",
            dir.path("traditional.der"),
            "-traditional"
        )
        let expected = try dir.readText("key")
        for name in ["plain.der", "traditional.der"] {
            let data = try dir.read(name)
            #expect(!PEMCodec.isEncryptedPrivateKey(data))
            #expect(
                try PEMCodec.encodePrivateKey(
                    try PEMCodec.decodePrivateKey(data, passphrase: nil),
                    format: .traditional,
                    passphrase: nil
                ) == expected
            )
        }
        let encrypted = try dir.read("enc.der")
        #expect(PEMCodec.isEncryptedPrivateKey(encrypted))
        #expect(throws: CryptoError(.passphraseRequired, "")) {
            try PEMCodec.decodePrivateKey(encrypted, passphrase: nil)
        }
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try PEMCodec.decodePrivateKey(encrypted, passphrase: SecureBytes(utf8: "der pas"))
        }
        let key = try PEMCodec.decodePrivateKey(encrypted, passphrase: SecureBytes(utf8: "der pass"))
        #expect(try PEMCodec.encodePrivateKey(key, format: .traditional, passphrase: nil) == expected)
    }

    @Test("DER public keys: SubjectPublicKeyInfo and PKCS#1")
    func derPublic() throws {
        let dir = try TempDir()
        try dir.write("key.pem", try PEMCodec.encodePrivateKey(.rsa(sharedRSAKey), format: .pkcs8, passphrase: nil))
        try InteropTool.openssl(
            "pkey",
            "-in",
            dir.path("key.pem"),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            dir.path("spki.der")
        )
        try InteropTool.openssl(
            "rsa",
            "-in",
            dir.path("key.pem"),
            "-RSAPublicKey_out",
            "-outform",
            "DER",
            "-out",
            dir.path("pkcs1.der")
        )
        try InteropTool.openssl("rsa", "-in", dir.path("key.pem"), "-RSAPublicKey_out", "-out", dir.path("pkcs1.pem"))
        for name in ["spki.der", "pkcs1.der", "pkcs1.pem"] {
            guard case .rsa(let key) = try PEMCodec.decodePublicKey(try dir.read(name)) else {
                Issue.record("\(name) is not RSA")
                continue
            }
            #expect(key.n == sharedRSAKey.n && key.e == sharedRSAKey.e && !key.isPrivate)
        }
        #expect(try PEMCodec.encodeRSAPublicKeyPKCS1(sharedRSAKey) == (try dir.readText("pkcs1.pem")))

        let ec = try ECDSAKey.generate(curve: .p384)
        try dir.write("ec.pem", try PEMCodec.encodePrivateKey(.ecdsa(ec), format: .traditional, passphrase: nil))
        try InteropTool.openssl(
            "pkey",
            "-in",
            dir.path("ec.pem"),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            dir.path("ec.der")
        )
        guard case .ecdsa(let decoded) = try PEMCodec.decodePublicKey(try dir.read("ec.der")) else {
            Issue.record("not ECDSA")
            return
        }
        #expect(decoded.publicPoint == ec.publicPoint && decoded.curve == .p384 && !decoded.isPrivate)
    }

    @Test("a compressed-point SEC1 key still yields an uncompressed point")
    func compressedPoint() throws {
        let dir = try TempDir()
        try InteropTool.sshKeygen("-q", "-t", "ecdsa", "-m", "PEM", "-N", "", "-C", "", "-f", dir.path("key"))
        try InteropTool.openssl(
            "ec",
            "-in",
            dir.path("key"),
            "-conv_form",
            "compressed",
            "-out",
            dir.path("compressed.pem")
        )
        #expect(try dir.readText("compressed.pem") != (try dir.readText("key")))
        let key = try PEMCodec.decodePrivateKey(try dir.read("compressed.pem"), passphrase: nil)
        guard case .ecdsa(let ec) = key else {
            Issue.record("not ECDSA")
            return
        }
        #expect(ec.publicPoint.first == 0x04)
        #expect(try PEMCodec.encodePrivateKey(key, format: .traditional, passphrase: nil) == (try dir.readText("key")))
    }

    @Test(
        "garbage is malformed input",
        arguments: [
            "",
            "hello",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n",
        ]
    )
    func garbage(_ text: String) {
        #expect(!PEMCodec.isEncryptedPrivateKey(Array(text.utf8)))
        #expect(throws: CryptoError(.malformedInput, "")) {
            try PEMCodec.decodePrivateKey(Array(text.utf8), passphrase: nil)
        }
        #expect(throws: CryptoError(.malformedInput, "")) {
            try PEMCodec.decodePrivateKey(Array(text.utf8), passphrase: SecureBytes(utf8: "pass"))
        }
        #expect(throws: CryptoError(.malformedInput, "")) { try PEMCodec.decodePublicKey(Array(text.utf8)) }
    }

    @Test("random bytes are malformed input")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 16, 100, 1000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(throws: CryptoError(.malformedInput, "")) { try PEMCodec.decodePrivateKey(bytes, passphrase: nil) }
            #expect(throws: CryptoError(.malformedInput, "")) { try PEMCodec.decodePublicKey(bytes) }
        }
    }

    @Test("a public key is not a private key")
    func publicIsNotPrivate() throws {
        let spki = try PEMCodec.encodePublicKeySPKI(.rsa(sharedRSAKey.publicKey))
        #expect(throws: CryptoError(.malformedInput, "")) {
            try PEMCodec.decodePrivateKey(Array(spki.utf8), passphrase: nil)
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try PEMCodec.encodePrivateKey(.rsa(sharedRSAKey.publicKey), format: .pkcs8, passphrase: nil)
        }
    }

    @Test("unsupported key types", arguments: ["ed448", "x25519"])
    func unsupported(_ algorithm: String) throws {
        let dir = try TempDir()
        try InteropTool.openssl("genpkey", "-algorithm", algorithm, "-out", dir.path("key.pem"))
        #expect(throws: CryptoError(.unsupported, "")) {
            try PEMCodec.decodePrivateKey(try dir.read("key.pem"), passphrase: nil)
        }
        let publicPEM = try InteropTool.openssl("pkey", "-in", dir.path("key.pem"), "-pubout")
        #expect(throws: CryptoError(.unsupported, "")) { try PEMCodec.decodePublicKey(publicPEM) }
    }
}
