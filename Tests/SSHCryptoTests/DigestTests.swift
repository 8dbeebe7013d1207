import KeysmithTestSupport
import Testing

@testable import SSHCrypto

@Suite("Digests and HMAC")
struct DigestTests {

    // FIPS 180-2 / RFC 1321 "abc" and empty-message vectors.
    @Test(
        "Known answers",
        arguments: [
            (HashFunction.md5, "900150983cd24fb0d6963f7d28e17f72", "d41d8cd98f00b204e9800998ecf8427e"),
            (.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (
                .sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            (
                .sha384,
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
                "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"
            ),
            (
                .sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
            ),
        ]
    )
    func knownAnswers(function: HashFunction, abc: String, empty: String) {
        #expect(hex(Digest.hash(function, Array("abc".utf8))) == abc)
        #expect(hex(Digest.hash(function, [UInt8]())) == empty)
        #expect(hex(Digest.hash(function, "abc".utf8)) == abc)  // a non-contiguous collection
        #expect(Digest.hash(function, [UInt8]()).count == function.digestSize)
    }

    @Test("Streaming matches one-shot", arguments: [HashFunction.md5, .sha1, .sha256, .sha384, .sha512])
    func streaming(function: HashFunction) {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var context = DigestContext(function)
        context.update(message[0..<1])
        context.update(message[1..<300])
        context.update([UInt8]())
        context.update(message[300...])
        #expect(context.finalize() == Digest.hash(function, message))
    }

    // Short inputs are hashed by libsodium, long ones by OpenSSL: both sides of the
    // boundary, and block-boundary lengths, must agree with the incremental (OpenSSL) hash.
    @Test(
        "One-shot agrees with incremental on both sides of the short-input limit",
        arguments: [HashFunction.sha256, .sha512]
    )
    func shortInputLimit(function: HashFunction) {
        let limit = Digest.shortInputLimit
        for count in [1, 55, 56, 63, 64, 111, 112, 127, 128, 1000, limit - 1, limit, limit + 1, 3 * limit] {
            let message = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ count) }
            var context = DigestContext(function)
            context.update(message)
            #expect(Digest.hash(function, message) == context.finalize(), "\(count) bytes")
            #expect(Digest.hash(function, message[1...]) == Digest.hash(function, Array(message[1...])))
        }
    }

    @Test("A copied context hashes independently")
    func copies() {
        var a = DigestContext(.sha256)
        a.update(Array("hello ".utf8))
        var b = a
        a.update(Array("world".utf8))
        b.update(Array("there".utf8))
        let prefix = b
        #expect(a.finalize() == Digest.hash(.sha256, Array("hello world".utf8)))
        #expect(b.finalize() == Digest.hash(.sha256, Array("hello there".utf8)))
        // Finalising one copy leaves the other usable.
        #expect(prefix.finalize() == Digest.hash(.sha256, Array("hello there".utf8)))
        var secret = DigestContext(.sha512)
        secret.update(SecureBytes(utf8: "abc"))
        #expect(secret.finalize() == Digest.hash(.sha512, Array("abc".utf8)))
    }

    // RFC 4231 §4: test cases 1, 2, 3, 4, 6 and 7 (case 5 truncates the output).
    static let rfc4231: [(key: [UInt8], data: [UInt8], sha256: String, sha384: String, sha512: String)] = [
        (
            [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        ),
        (
            Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        ),
        (
            [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"
        ),
        (
            Array(1...25), [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"
        ),
        (
            [UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        ),
        (
            [UInt8](repeating: 0xaa, count: 131),
            Array(
                "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                    .utf8
            ),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"
        ),
    ]

    @Test("HMAC: RFC 4231", arguments: 0..<6)
    func hmacRFC4231(index: Int) {
        let v = Self.rfc4231[index]
        #expect(hex(HMAC.authenticate(.sha256, key: v.key, data: v.data)) == v.sha256)
        #expect(hex(HMAC.authenticate(.sha384, key: v.key, data: v.data)) == v.sha384)
        #expect(hex(HMAC.authenticate(.sha512, key: v.key, data: v.data)) == v.sha512)
        #expect(hex(HMAC.authenticate(.sha256, key: SecureBytes(v.key), data: v.data)) == v.sha256)
    }

    // RFC 2202 test case 2 for the legacy hmac-sha1 / hmac-md5 SSH MACs.
    @Test("HMAC: RFC 2202 SHA-1 and MD5")
    func hmacRFC2202() {
        let key = Array("Jefe".utf8)
        let data = Array("what do ya want for nothing?".utf8)
        #expect(hex(HMAC.authenticate(.sha1, key: key, data: data)) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        #expect(hex(HMAC.authenticate(.md5, key: key, data: data)) == "750c783e6ab0b503eaa86e310a5db738")
        // An empty key and empty data are valid.
        #expect(HMAC.authenticate(.sha256, key: [UInt8](), data: [UInt8]()).count == 32)
    }

    @Test("Random bytes")
    func random() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32)
        let b = SecureRandom.bytes(32)
        #expect(a.count == 32 && a != b)
        let secret = SecureBytes(count: 64)
        SecureRandom.fill(secret)
        #expect(secret.unsafeCopy != [UInt8](repeating: 0, count: 64))
        let words = (0..<8).map { _ in SecureRandom.uint32() }
        #expect(Set(words).count > 1)
    }
}
