import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHCrypto

@Suite("Symmetric ciphers")
struct CipherTests {

    static let key64 = SecureBytes(Array(0..<64) as [UInt8])
    /// 48 bytes: three AES blocks, six 3DES/chacha blocks.
    static let plaintext: [UInt8] = (0..<48).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

    static func key(_ cipher: CipherAlgorithm) -> SecureBytes { SecureBytes((0..<cipher.keySize).map { UInt8($0) }) }
    static func iv(_ cipher: CipherAlgorithm) -> SecureBytes {
        SecureBytes((0..<cipher.ivSize).map { UInt8(100 + $0) })
    }

    @Test("Names and sizes follow OpenSSH's cipher.c")
    func namesAndSizes() {
        let table: [(String, Int, Int, Int, Int)] = [
            ("aes128-ctr", 16, 16, 16, 0), ("aes192-ctr", 24, 16, 16, 0), ("aes256-ctr", 32, 16, 16, 0),
            ("aes128-cbc", 16, 16, 16, 0), ("aes192-cbc", 24, 16, 16, 0), ("aes256-cbc", 32, 16, 16, 0),
            ("aes128-gcm@openssh.com", 16, 12, 16, 16), ("aes256-gcm@openssh.com", 32, 12, 16, 16),
            ("chacha20-poly1305@openssh.com", 64, 0, 8, 16), ("3des-cbc", 24, 8, 8, 0),
        ]
        #expect(table.count == CipherAlgorithm.allCases.count)
        for (name, key, iv, block, tag) in table {
            guard let cipher = CipherAlgorithm(sshName: name) else {
                Issue.record("unknown \(name)")
                continue
            }
            #expect(cipher.sshName == name)
            #expect(
                cipher.keySize == key && cipher.ivSize == iv && cipher.blockSize == block && cipher.tagSize == tag,
                "\(name)"
            )
        }
        #expect(CipherAlgorithm(sshName: "aes256-CTR") == nil)
        #expect(CipherAlgorithm(sshName: "none") == nil)
    }

    @Test("Round trip", arguments: CipherAlgorithm.allCases)
    func roundTrip(cipher: CipherAlgorithm) throws {
        let key = Self.key(cipher)
        let iv = Self.iv(cipher)
        for length in [0, cipher.blockSize, 48, 1024] {
            let message = SecureBytes((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let sealed = try KeyFileCipher.encrypt(cipher, key: key, iv: iv, plaintext: message)
            #expect(sealed.count == length + cipher.tagSize)
            if length > 0 { #expect(Array(sealed.prefix(length)) != message.unsafeCopy) }
            let opened = try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: sealed)
            #expect(opened.unsafeCopy == message.unsafeCopy)
            // A slice with a non-zero start index works too.
            let padded = [0xee] + sealed
            #expect(
                try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: padded[1...]).unsafeCopy
                    == message.unsafeCopy
            )
        }
    }

    @Test(
        "AEAD: any altered byte, a wrong key or a wrong IV fails",
        arguments: CipherAlgorithm.allCases.filter(\.isAEAD)
    )
    func aeadTamper(cipher: CipherAlgorithm) throws {
        let key = Self.key(cipher)
        let iv = Self.iv(cipher)
        let sealed = try KeyFileCipher.encrypt(cipher, key: key, iv: iv, plaintext: SecureBytes(Self.plaintext))
        for index in [0, 17, Self.plaintext.count - 1, Self.plaintext.count, sealed.count - 1] {
            var altered = sealed
            altered[index] ^= 0x01
            #expect(throws: CryptoError(.decryptionFailed, "")) {
                try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: altered)
            }
        }
        var wrongKey = key.unsafeCopy
        wrongKey[0] ^= 0x80
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try KeyFileCipher.decrypt(cipher, key: SecureBytes(wrongKey), iv: iv, ciphertext: sealed)
        }
        if cipher.ivSize > 0 {
            var wrongIV = iv.unsafeCopy
            wrongIV[11] ^= 1
            #expect(throws: CryptoError(.decryptionFailed, "")) {
                try KeyFileCipher.decrypt(cipher, key: key, iv: SecureBytes(wrongIV), ciphertext: sealed)
            }
        }
        // Without its tag the rest looks like a shorter message whose tag fails;
        // shorter than a tag is malformed.
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: sealed.prefix(Self.plaintext.count))
        }
        #expect(throws: CryptoError(.malformedInput, "")) {
            try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: sealed.prefix(cipher.tagSize - 1))
        }
    }

    @Test("Lengths, keys and IVs are checked", arguments: CipherAlgorithm.allCases)
    func parameterChecks(cipher: CipherAlgorithm) {
        let key = Self.key(cipher)
        let iv = Self.iv(cipher)
        let ragged = [UInt8](repeating: 1, count: cipher.blockSize + 1 + cipher.tagSize)
        #expect(throws: CryptoError(.malformedInput, "")) {
            try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: ragged)
        }
        #expect(throws: CryptoError(.malformedInput, "")) {
            try KeyFileCipher.encrypt(cipher, key: key, iv: iv, plaintext: SecureBytes(count: cipher.blockSize - 1))
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try KeyFileCipher.encrypt(
                cipher,
                key: SecureBytes(count: cipher.keySize - 1),
                iv: iv,
                plaintext: SecureBytes(count: 16)
            )
        }
        #expect(throws: CryptoError(.invalidParameter, "")) {
            try KeyFileCipher.encrypt(
                cipher,
                key: key,
                iv: SecureBytes(count: cipher.ivSize + 1),
                plaintext: SecureBytes(count: 16)
            )
        }
    }

    // Computed with Python's `cryptography` (38.0.4): ChaCha20 with a 16-byte "nonce" of
    // LE64(block counter) ‖ BE64(seqnr) is the original 64-bit-nonce ChaCha20; Poly1305 over
    // the ciphertext under the first 32 keystream bytes of block 0. Key = 00 01 … 3f.
    @Test("chacha20-poly1305@openssh.com: known answer for a key file (seqnr 0, no AAD)")
    func chaChaPolyKnownAnswer() throws {
        let expected =
            "1bb25329b2c08be528231531f81d2b4b8bcb727d6e3bc6f8474a45d2edfba08091e2f9952ee8314986a37114533045700f082e7f1915ed0a81f274e955289c2e"
        let sealed = try KeyFileCipher.encrypt(
            .chaCha20Poly1305,
            key: Self.key64,
            iv: SecureBytes(count: 0),
            plaintext: SecureBytes(Self.plaintext)
        )
        #expect(hex(sealed) == expected)
        let opened = try KeyFileCipher.decrypt(
            .chaCha20Poly1305,
            key: Self.key64,
            iv: SecureBytes(count: 0),
            ciphertext: [UInt8](hex: expected)
        )
        #expect(opened.unsafeCopy == Self.plaintext)
    }

    @Test("chacha20-poly1305@openssh.com: transport packet with an encrypted length")
    func chaChaPolyTransport() throws {
        // seqnr 7, AAD = the 4-byte packet length (48), encrypted with the header key.
        let expected =
            "a39afc9a2b4c045b51a5076a572ff2a080d1b64047c8b1bef175a027ebd8a21f479dd68847bd005dea64f9adb7f04f1e240c4e3b91040b51e2871e448686b5ce76993b9f"
        let sender = try CipherContext(.chaCha20Poly1305, key: Self.key64, iv: SecureBytes(count: 0), encrypting: true)
        let packet = try sender.crypt(sequenceNumber: 7, [0, 0, 0, 48] + Self.plaintext, aadLength: 4)
        #expect(hex(packet) == expected)
        let receiver = try CipherContext(
            .chaCha20Poly1305,
            key: Self.key64,
            iv: SecureBytes(count: 0),
            encrypting: false
        )
        #expect(try receiver.decryptLength(sequenceNumber: 7, packet.prefix(4)) == 48)
        #expect(try receiver.crypt(sequenceNumber: 7, packet, aadLength: 4) == [0, 0, 0, 48] + Self.plaintext)
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try receiver.crypt(sequenceNumber: 8, packet, aadLength: 4)
        }
    }

    // Computed with Python's `cryptography` AESGCM: key 00 01 …, IV 64 65 … 6f, no AAD.
    @Test(
        "AES-GCM: known answers",
        arguments: [
            (
                CipherAlgorithm.aes128GCM,
                "19685fbdc42495cea07c1e40d1944e8043f2f9771d3f40fe5fdd08577b3c222f5916a3dc741e2a85917a0e76babc014bc04d66ae763b985a72f27002baf162a4"
            ),
            (
                .aes256GCM,
                "4b11cf7e66cf7baa052016b88d3b0f9131b8878204fa6ed60c6315883c6d70947703b138b3149610e6d1510fca7c8f83b4889ab51a05db2a32c16e2bb9b3f014"
            ),
        ]
    )
    func gcmKnownAnswer(cipher: CipherAlgorithm, expected: String) throws {
        let sealed = try KeyFileCipher.encrypt(
            cipher,
            key: Self.key(cipher),
            iv: Self.iv(cipher),
            plaintext: SecureBytes(Self.plaintext)
        )
        #expect(hex(sealed) == expected)
    }

    @Test("AES-GCM: the transport increments the invocation counter and authenticates the length")
    func gcmTransport() throws {
        let cipher = CipherAlgorithm.aes128GCM
        let sender = try CipherContext(cipher, key: Self.key(cipher), iv: Self.iv(cipher), encrypting: true)
        let receiver = try CipherContext(cipher, key: Self.key(cipher), iv: Self.iv(cipher), encrypting: false)
        let first = try sender.crypt(sequenceNumber: 0, Self.plaintext, aadLength: 0)
        #expect(hex(first).hasPrefix("19685fbdc424"))
        #expect(try receiver.crypt(sequenceNumber: 0, first, aadLength: 0) == Self.plaintext)
        // Second packet: IV 64…6b ‖ (6c6d6e6f + 1), AAD = the clear packet length.
        let second = try sender.crypt(sequenceNumber: 1, [0, 0, 0, 48] + Self.plaintext, aadLength: 4)
        #expect(
            hex(second)
                == "00000030"
                + "6d726203a96734c146b0f40e6fa5e8db469d8b00c9f58687a13fb22472b6663a87ce9ad94ef6b972676622c42cc1ef694a3035638358e38fafd9c18dd1e705ee"
        )
        var altered = second
        altered[3] = 47
        #expect(throws: CryptoError(.decryptionFailed, "")) {
            try receiver.crypt(sequenceNumber: 1, altered, aadLength: 4)
        }
    }

    @Test("CTR keeps its keystream position from packet to packet")
    func ctrStreaming() throws {
        let cipher = CipherAlgorithm.aes256CTR
        let whole = try KeyFileCipher.encrypt(
            cipher,
            key: Self.key(cipher),
            iv: Self.iv(cipher),
            plaintext: SecureBytes(Self.plaintext)
        )
        let context = try CipherContext(cipher, key: Self.key(cipher), iv: Self.iv(cipher), encrypting: true)
        let a = try context.crypt(sequenceNumber: 0, Self.plaintext[0..<16], aadLength: 0)
        let b = try context.crypt(sequenceNumber: 1, Self.plaintext[16...], aadLength: 0)
        #expect(a + b == whole)
    }

    /// The `openssl enc` name for the ciphers the CLI offers without padding.
    static let openSSLNames: [CipherAlgorithm: String] = [
        .aes128CTR: "aes-128-ctr", .aes192CTR: "aes-192-ctr", .aes256CTR: "aes-256-ctr",
        .aes128CBC: "aes-128-cbc", .aes192CBC: "aes-192-cbc", .aes256CBC: "aes-256-cbc",
        .tripleDESCBC: "des-ede3-cbc",
    ]

    @Test("Interop with `openssl enc -nopad`", arguments: Array(openSSLNames.keys))
    func openSSLInterop(cipher: CipherAlgorithm) throws {
        let key = SecureBytes(SecureRandom.bytes(cipher.keySize))
        let iv = SecureBytes(SecureRandom.bytes(cipher.ivSize))
        let message = SecureRandom.bytes(cipher.blockSize * 37)
        let result = try runProcess(
            Tool.openssl,
            [
                "enc", "-\(Self.openSSLNames[cipher]!)", "-e", "-nopad", "-nosalt", "-K", hex(key.unsafeCopy), "-iv",
                hex(iv.unsafeCopy),
            ],
            input: Data(message)
        )
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try KeyFileCipher.encrypt(cipher, key: key, iv: iv, plaintext: SecureBytes(message))
        #expect(ours == Array(result.stdoutData))
        #expect(
            try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: Array(result.stdoutData)).unsafeCopy
                == message
        )
    }
}
