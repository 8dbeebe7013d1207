import KeysmithTestSupport
import Testing

@testable import SSHCrypto

@Suite("Ed25519")
struct Ed25519Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let seed: String
        let publicKey: String
        let message: String
        let signature: String
        var testDescription: String { self.name }
    }

    /// RFC 8032 §7.1, TEST 1 and TEST 2.
    static let vectors = [
        Vector(
            name: "RFC 8032 test 1 (empty message)",
            seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            message: "",
            signature:
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ),
        Vector(
            name: "RFC 8032 test 2 (one byte)",
            seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            message: "72",
            signature:
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        ),
    ]

    @Test("RFC 8032 vectors", arguments: Ed25519Tests.vectors)
    func rfc8032(_ vector: Vector) throws {
        let seed = SecureBytes([UInt8](hex: vector.seed))
        let message = [UInt8](hex: vector.message)
        #expect(try Ed25519.publicKey(seed: seed) == [UInt8](hex: vector.publicKey))
        #expect(try Ed25519.sign(seed: seed, message: message) == [UInt8](hex: vector.signature))
        #expect(
            Ed25519.verify(
                publicKey: [UInt8](hex: vector.publicKey),
                signature: [UInt8](hex: vector.signature),
                message: message
            )
        )
    }

    @Test("generate, sign, verify")
    func roundTrip() throws {
        let (seed, publicKey) = Ed25519.generate()
        #expect(seed.count == 32)
        #expect(publicKey.count == 32)
        #expect(try Ed25519.publicKey(seed: seed) == publicKey)
        let message = Array("keysmith".utf8)
        let signature = try Ed25519.sign(seed: seed, message: message)
        #expect(signature.count == 64)
        #expect(Ed25519.verify(publicKey: publicKey, signature: signature, message: message))
        #expect(!Ed25519.verify(publicKey: publicKey, signature: signature, message: Array("keysmitH".utf8)))
        let other = Ed25519.generate()
        #expect(!Ed25519.verify(publicKey: other.publicKey, signature: signature, message: message))
        var tampered = signature
        tampered[10] ^= 1
        #expect(!Ed25519.verify(publicKey: publicKey, signature: tampered, message: message))
    }

    @Test("wrong lengths are rejected")
    func lengths() throws {
        #expect(throws: CryptoError(.invalidKey, "")) { try Ed25519.publicKey(seed: SecureBytes(count: 31)) }
        #expect(throws: CryptoError(.invalidKey, "")) { try Ed25519.sign(seed: SecureBytes(count: 64), message: [1]) }
        let (seed, publicKey) = Ed25519.generate()
        let signature = try Ed25519.sign(seed: seed, message: [1, 2, 3])
        #expect(!Ed25519.verify(publicKey: publicKey.dropLast(), signature: signature, message: [1, 2, 3]))
        #expect(!Ed25519.verify(publicKey: publicKey, signature: signature.dropLast(), message: [1, 2, 3]))
        #expect(!Ed25519.verify(publicKey: publicKey, signature: signature + [0], message: [1, 2, 3]))
    }
}
