import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// Security-key private keys in openssh-key-v1 (sshkey.c, sshkey_private_serialize_opt with
/// sshkey_serialize_private_sk): read, written, and refused when damaged.
@Suite("security-key private keys")
struct SecurityKeyPrivateKeyTests {
    static let types = ["sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]

    /// The fields of a security key of `type` whose public half is a fresh software key's.
    static func fields(
        _ type: String,
        flags: UInt8 = 0x05,
        reserved: [UInt8] = []
    ) throws -> OpenSSHKeyBytes.SecurityKey {
        let ecdsa = type.hasPrefix("sk-ecdsa")
        let plain = try SSHPrivateKey(generating: ecdsa ? .ecdsa(.p256) : .ed25519)
        var r = SSHWireReader(plain.publicKey.wireBlob)
        var last: ArraySlice<UInt8> = []
        while !r.isAtEnd { last = try r.readString() }
        return OpenSSHKeyBytes.SecurityKey(
            type: type,
            publicKey: Array(last),
            application: "ssh:test",
            flags: flags,
            keyHandle: Array(0..<80),
            reserved: reserved
        )
    }

    @Test("a file built as OpenSSH writes it is read with every field", arguments: types)
    func reads(_ type: String) throws {
        let sk = try Self.fields(type, reserved: [9, 8])
        let text = OpenSSHKeyBytes.file(publicBlob: sk.publicBlob, fields: sk.privateFields, comment: "made by hand")
        let key = try SSHPrivateKey(fileContents: Array(text.utf8))
        #expect(key.publicKey.wireBlob == sk.publicBlob)
        #expect(key.type.isSecurityKey)
        #expect(key.comment == "made by hand")
        let credential = try #require(key.securityKey)
        #expect(credential.application == Array("ssh:test".utf8))
        #expect(credential.flags == [.userPresenceRequired, .userVerificationRequired])
        #expect(credential.keyHandle.unsafeCopy == Array(0..<80))
        #expect(credential.reserved == [9, 8])
        #expect("\(key)" == "SSHPrivateKey(\(type))")
    }

    @Test("written and read back, plain and encrypted, to the same bytes", arguments: types)
    func roundTrip(_ type: String) throws {
        let sk = try Self.fields(type, flags: 0x21)
        let pub = try SSHPublicKey(wireBlob: sk.publicBlob)
        let credential = SecurityKeyCredential(
            application: Array(sk.application.utf8),
            flags: SecurityKeyCredential.Flags(rawValue: sk.flags),
            keyHandle: SecureBytes(sk.keyHandle),
            reserved: sk.reserved
        )
        let key = try SSHPrivateKey(securityKey: pub, credential: credential, comment: "round trip")
        #expect(key.publicKey == pub)

        let plain = try key.openSSHRepresentation()
        let parts = try #require(OpenSSHKeyBytes.unencrypted(String(decoding: plain.unsafeCopy, as: UTF8.self)))
        let expected = OpenSSHKeyBytes.file(publicBlob: sk.publicBlob, fields: sk.privateFields, comment: "round trip")
        #expect(parts == OpenSSHKeyBytes.unencrypted(expected))

        for cipher in [CipherAlgorithm.aes256CTR, .chaCha20Poly1305] {
            let encrypted = try key.openSSHRepresentation(
                passphrase: SecureBytes(utf8: "pw"),
                options: OpenSSHKeyFileOptions(cipher: cipher, rounds: 1)
            )
            let back = try SSHPrivateKey(fileContents: encrypted.unsafeCopy, passphrase: SecureBytes(utf8: "pw"))
            #expect(back.publicKey == pub)
            #expect(back.comment == "round trip")
            let again = try back.openSSHRepresentation()
            #expect(
                OpenSSHKeyBytes.unencrypted(String(decoding: again.unsafeCopy, as: UTF8.self)) == parts,
                "\(cipher)"
            )
        }
    }

    @Test("every truncation of the private fields is refused with an error, never a crash", arguments: types)
    func truncated(_ type: String) throws {
        let sk = try Self.fields(type)
        let fields = sk.privateFields
        for n in 0..<fields.count {
            var r = SSHWireReader(fields.prefix(n))
            #expect(throws: SSHKeyError.self, "prefix \(n)") { try SSHPrivateKey.readPrivateFields(from: &r) }
        }
        var whole = SSHWireReader(fields)
        _ = try SSHPrivateKey.readPrivateFields(from: &whole)
        #expect(whole.isAtEnd)
    }

    @Test("a security key neither signs in software nor has a PEM form", arguments: types)
    func noSoftwareOperations(_ type: String) throws {
        let sk = try Self.fields(type)
        let text = OpenSSHKeyBytes.file(publicBlob: sk.publicBlob, fields: sk.privateFields, comment: "")
        let key = try SSHPrivateKey(fileContents: Array(text.utf8))
        #expect(throws: SSHKeyError(.unsupported, "")) { try key.signature(for: [1, 2, 3]) }
        for format in [PrivateKeyFileFormat.pem, .pkcs8] {
            #expect(throws: SSHKeyError(.unsupported, "")) { try key.fileRepresentation(format: format) }
        }
    }

    @Test("a credential goes only with a security key's public key of the same application")
    func credentialMustMatch() throws {
        let plain = try SSHPrivateKey(generating: .ed25519)
        let credential = SecurityKeyCredential(
            application: Array("ssh:".utf8),
            flags: .userPresenceRequired,
            keyHandle: SecureBytes([1])
        )
        #expect(throws: SSHKeyError(.invalidParameter, "")) {
            try SSHPrivateKey(securityKey: plain.publicKey, credential: credential)
        }
        let sk = try Self.fields(Self.types[0])
        let pub = try SSHPublicKey(wireBlob: sk.publicBlob)
        #expect(throws: SSHKeyError(.invalidParameter, "")) {
            try SSHPrivateKey(securityKey: pub, credential: credential)
        }
    }

    @Test(
        "a security key's SSHSIG from ssh-keygen is read with its flags and counter and written back byte for byte",
        arguments: ["ed25519-sk", "ecdsa-sk"]
    )
    func signatureFields(_ type: String) throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let key = dir.path("id")
        let made = try runProcess(Tool.sshKeygen, ["-q", "-t", type, "-w", library, "-N", "", "-f", key])
        try #require(made.status == 0, "\(made)")
        try dir.write("msg", "m\n")
        let signed = try runProcess(
            Tool.sshKeygen,
            ["-Y", "sign", "-w", library, "-f", key, "-n", "file", dir.path("msg")],
            environment: SoftAuthenticator.environment([.counter: "0x01020304", .flags: "0x05"])
        )
        try #require(signed.status == 0, "\(signed)")
        let text = try dir.readText("msg.sig")
        let sig = try SSHSIGSignature(armored: text)
        #expect(
            sig.signature.algorithm
                == (type == "ecdsa-sk" ? "sk-ecdsa-sha2-nistp256@openssh.com" : "sk-ssh-ed25519@openssh.com")
        )
        #expect(sig.signature.securityKey == SSHSignature.SecurityKeyFields(flags: 0x05, counter: 0x0102_0304))
        #expect(sig.armored == text)
        let plain = SSHSignature(algorithm: "ssh-ed25519", rawSignature: [1, 2, 3])
        #expect(try SSHSignature(wireEncoding: plain.wireEncoding) == plain)
    }
}
