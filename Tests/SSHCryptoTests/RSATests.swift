import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHCrypto

/// Generated once: RSA key generation is the slow part of these tests.
let sharedRSAKey: RSAKey = try! RSAKey.generate(bits: 2048)

@Suite("RSA")
struct RSATests {
    @Test("public exponents: over 64 bits refused with a modulus over 3072 bits, as OpenSSL's check does")
    func exponentBounds() throws {
        // Odd moduli of exactly 3072 and 4096 bits; a key read needs no factorisation.
        func modulus(_ bits: Int) -> [UInt8] { [0x80] + [UInt8](repeating: 0x5b, count: bits / 8 - 2) + [0x01] }
        let e65: [UInt8] = [0x01] + [UInt8](repeating: 0, count: 7) + [0x01]  // 2^64 + 1, 65 bits
        let e64: [UInt8] = [0x80] + [UInt8](repeating: 0, count: 6) + [0x01]  // 2^63 + 1, 64 bits
        let huge: [UInt8] = [0x40] + [UInt8](repeating: 0x11, count: 382) + [0x01]  // 3071 bits
        #expect(throws: CryptoError.self) { try RSAKey(n: modulus(4096), e: e65) }
        #expect(throws: CryptoError.self) { try RSAKey(n: modulus(16384), e: huge) }
        _ = try RSAKey(n: modulus(4096), e: e64)
        // OpenSSH (through OpenSSL) lets a modulus of 3072 bits or fewer have any exponent below it.
        _ = try RSAKey(n: modulus(3072), e: e65)
        _ = try RSAKey(n: modulus(3072), e: huge)
    }

    @Test("sign and verify", arguments: [HashFunction.sha1, .sha256, .sha512])
    func signVerify(_ hash: HashFunction) throws {
        let key = sharedRSAKey
        let message = Array("keysmith RSA".utf8)
        let signature = try key.sign(message, hash: hash)
        #expect(signature.count == 256)
        #expect(key.verify(signature, for: message, hash: hash))
        #expect(key.publicKey.verify(signature, for: message, hash: hash))
        #expect(!key.verify(signature, for: Array("keysmith RSa".utf8), hash: hash))
        var tampered = signature
        tampered[100] ^= 0x40
        #expect(!key.verify(tampered, for: message, hash: hash))
        #expect(!key.verify(signature + [0], for: message, hash: hash))
        let otherHash: HashFunction = hash == .sha256 ? .sha512 : .sha256
        #expect(!key.verify(signature, for: message, hash: otherHash))
    }

    @Test("a signature from another key fails")
    func wrongKey() throws {
        let other = try RSAKey.generate(bits: 1024)
        let message = Array("message".utf8)
        let signature = try other.sign(message, hash: .sha256)
        #expect(other.verify(signature, for: message, hash: .sha256))
        #expect(!sharedRSAKey.verify(signature, for: message, hash: .sha256))
        #expect(other.bits == 1024)
        #expect(other.e == [0x01, 0x00, 0x01])
    }

    @Test("generate rejects sizes outside 1024...16384", arguments: [0, 512, 1023, 16385])
    func generateBits(_ bits: Int) {
        #expect(throws: CryptoError(.invalidParameter, "")) { try RSAKey.generate(bits: bits) }
    }

    @Test("private components round trip")
    func importExport() throws {
        let key = sharedRSAKey
        #expect(key.isPrivate)
        #expect(key.bits == 2048)
        #expect(key.n.count == 256 && key.n.first != 0)
        let parts = try #require(key.privateComponents())
        let imported = try RSAKey(n: key.n, e: key.e, d: parts.d, iqmp: parts.iqmp, p: parts.p, q: parts.q)
        #expect(imported.isPrivate)
        #expect(imported.n == key.n)
        #expect(imported.e == key.e)
        let again = try #require(imported.privateComponents())
        #expect(again.d.constantTimeEquals(parts.d))
        #expect(again.p.constantTimeEquals(parts.p))
        #expect(again.q.constantTimeEquals(parts.q))
        #expect(again.iqmp.constantTimeEquals(parts.iqmp))
        let message = Array("imported".utf8)
        #expect(key.verify(try imported.sign(message, hash: .sha512), for: message, hash: .sha512))

        let publicOnly = try RSAKey(n: key.n, e: key.e)
        #expect(!publicOnly.isPrivate)
        #expect(publicOnly.privateComponents() == nil)
        #expect(publicOnly.verify(try key.sign(message, hash: .sha256), for: message, hash: .sha256))
        #expect(throws: CryptoError(.invalidKey, "")) { try publicOnly.sign(message, hash: .sha256) }
        #expect(!key.publicKey.isPrivate)
        #expect(key.publicKey.n == key.n)
    }

    @Test("inconsistent private components are rejected")
    func inconsistent() throws {
        let key = sharedRSAKey
        let parts = try #require(key.privateComponents())
        // iqmp and p swapped with q: iqmp is then not q⁻¹ mod p.
        #expect(throws: CryptoError(.invalidKey, "")) {
            try RSAKey(n: key.n, e: key.e, d: parts.d, iqmp: parts.iqmp, p: parts.q, q: parts.p)
        }
        var d = parts.d.unsafeCopy
        d[d.count - 1] ^= 2
        #expect(throws: CryptoError(.invalidKey, "")) {
            try RSAKey(n: key.n, e: key.e, d: SecureBytes(d), iqmp: parts.iqmp, p: parts.p, q: parts.q)
        }
        var n = key.n
        n[n.count - 1] ^= 2
        #expect(throws: CryptoError(.invalidKey, "")) {
            try RSAKey(n: n, e: key.e, d: parts.d, iqmp: parts.iqmp, p: parts.p, q: parts.q)
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try RSAKey(n: key.n, e: [0x01, 0x00, 0x03], d: parts.d, iqmp: parts.iqmp, p: parts.p, q: parts.q)
        }
    }

    @Test("public keys outside 1024...16384 bits or with bad exponents are rejected")
    func publicLimits() throws {
        let small = [0x80] + [UInt8](repeating: 0, count: 62) + [0x01]  // 512 bits
        #expect(throws: CryptoError(.invalidKey, "")) { try RSAKey(n: small, e: [1, 0, 1]) }
        #expect(throws: CryptoError(.invalidKey, "")) { try RSAKey(n: sharedRSAKey.n, e: [2]) }
        #expect(throws: CryptoError(.invalidKey, "")) { try RSAKey(n: sharedRSAKey.n, e: [1]) }
        let key = try RSAKey(n: [0x80] + [UInt8](repeating: 0, count: 126) + [0x01], e: [3])
        #expect(key.bits == 1024)
    }

    @Test(
        "a signature made by openssl verifies",
        arguments: [("sha1", HashFunction.sha1), ("sha256", .sha256), ("sha512", .sha512)]
    )
    func opensslSignature(_ name: String, _ hash: HashFunction) throws {
        let dir = try TempDir()
        try dir.write(
            "key.pem",
            try PEMCodec.encodePrivateKey(.rsa(sharedRSAKey), format: .traditional, passphrase: nil)
        )
        try dir.write("message", "signed by openssl")
        try InteropTool.openssl(
            "dgst",
            "-\(name)",
            "-sign",
            dir.path("key.pem"),
            "-out",
            dir.path("sig"),
            dir.path("message")
        )
        let signature = try dir.read("sig")
        #expect(signature == (try sharedRSAKey.sign(try dir.read("message"), hash: hash)))
        #expect(sharedRSAKey.publicKey.verify(signature, for: try dir.read("message"), hash: hash))
    }
}

/// Keys from the two-core prime search (RSAPrimeSearch), checked by OpenSSL itself.
@Suite("RSA key generation")
struct RSAGenerationTests {
    @Test(
        "keys have the exact modulus size, distinct factors and consistent CRT values",
        arguments: [3072, 4096, 3071]
    )
    func generatedKeysAreValid(_ bits: Int) throws {
        let key = try RSAKey.generate(bits: bits)
        #expect(key.bits == bits)
        #expect(key.n.count == (bits + 7) / 8)
        #expect(key.e == [0x01, 0x00, 0x01])
        let parts = try #require(key.privateComponents())
        #expect(!parts.p.constantTimeEquals(parts.q))
        // Each factor has half the bits (p the extra one of an odd size), top two bits set.
        let p = parts.p.unsafeCopy
        let q = parts.q.unsafeCopy
        // Bit k (0 is the least significant) of a big-endian number.
        func bit(_ number: [UInt8], _ k: Int) -> Bool { number[number.count - 1 - k / 8] >> (k % 8) & 1 == 1 }
        for (factor, size) in [(p, (bits + 1) / 2), (q, bits / 2)] {
            #expect(factor.count * 8 - factor[0].leadingZeroBitCount == size)
            #expect(bit(factor, size - 1) && bit(factor, size - 2))
        }

        // openssl pkey -check: p and q prime, n = p·q, d·e ≡ 1 mod lcm(p−1, q−1), and
        // dmp1, dmq1 and iqmp consistent with them.
        let dir = try TempDir()
        let pem = try PEMCodec.encodePrivateKey(.rsa(key), format: .traditional, passphrase: nil)
        try dir.write("key.pem", pem)
        let check = String(
            decoding: try InteropTool.openssl("pkey", "-in", dir.path("key.pem"), "-check", "-noout"),
            as: UTF8.self
        )
        #expect(check.contains("Key is valid"))
        let text = String(
            decoding: try InteropTool.openssl("rsa", "-in", dir.path("key.pem"), "-text", "-noout"),
            as: UTF8.self
        )
        #expect(text.contains("Private-Key: (\(bits) bit, 2 primes)"))
    }

    @Test("two keys in a row differ")
    func keysDiffer() throws {
        let a = try RSAKey.generate(bits: 1024)
        let b = try RSAKey.generate(bits: 1024)
        #expect(a.n != b.n)
    }
}
