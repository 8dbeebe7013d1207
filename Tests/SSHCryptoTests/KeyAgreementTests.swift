import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHCrypto

@Suite("X25519")
struct X25519Tests {
    // RFC 7748 §6.1.
    static let alicePrivate = [UInt8](hex: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    static let alicePublic = [UInt8](hex: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    static let bobPrivate = [UInt8](hex: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    static let bobPublic = [UInt8](hex: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    static let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    /// The base point, u = 9.
    static let basePoint = [9] + [UInt8](repeating: 0, count: 31)

    @Test("RFC 7748 §6.1")
    func rfc7748() throws {
        let alice = SecureBytes(Self.alicePrivate)
        let bob = SecureBytes(Self.bobPrivate)
        #expect(
            try X25519.sharedSecret(privateKey: alice, peerPublicKey: Self.basePoint).unsafeCopy == Self.alicePublic
        )
        #expect(try X25519.sharedSecret(privateKey: bob, peerPublicKey: Self.basePoint).unsafeCopy == Self.bobPublic)
        #expect(
            hex(try X25519.sharedSecret(privateKey: alice, peerPublicKey: Self.bobPublic).unsafeCopy) == Self.shared
        )
        #expect(
            hex(try X25519.sharedSecret(privateKey: bob, peerPublicKey: Self.alicePublic).unsafeCopy) == Self.shared
        )
    }

    @Test("generated keys agree")
    func agreement() throws {
        let a = X25519.generate()
        let b = X25519.generate()
        #expect(a.privateKey.count == 32 && a.publicKey.count == 32)
        #expect(a.publicKey != b.publicKey)
        // The public value is X25519(k, 9).
        #expect(
            try X25519.sharedSecret(privateKey: a.privateKey, peerPublicKey: Self.basePoint).unsafeCopy == a.publicKey
        )
        let ab = try X25519.sharedSecret(privateKey: a.privateKey, peerPublicKey: b.publicKey)
        let ba = try X25519.sharedSecret(privateKey: b.privateKey, peerPublicKey: a.publicKey)
        #expect(ab.constantTimeEquals(ba))
    }

    /// Points of small order give the all-zero secret (RFC 7748 §6.1, RFC 8731 §3): 0, 1,
    /// and p = 2^255 - 19 itself (non-canonical zero).
    static let smallOrder: [[UInt8]] = [
        [UInt8](repeating: 0, count: 32),
        [1] + [UInt8](repeating: 0, count: 31),
        [0xed] + [UInt8](repeating: 0xff, count: 30) + [0x7f],
    ]

    @Test("small-order points and wrong lengths are refused", arguments: smallOrder)
    func rejects(_ point: [UInt8]) throws {
        let key = X25519.generate().privateKey
        #expect(throws: CryptoError(.invalidKey, "")) { try X25519.sharedSecret(privateKey: key, peerPublicKey: point) }
        let peer = X25519.generate().publicKey
        #expect(throws: CryptoError(.invalidKey, "")) {
            try X25519.sharedSecret(privateKey: key, peerPublicKey: peer.dropLast())
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try X25519.sharedSecret(privateKey: key, peerPublicKey: peer + [0])
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try X25519.sharedSecret(privateKey: SecureBytes(count: 31), peerPublicKey: peer)
        }
    }
}

@Suite("ECDH")
struct ECDHTests {
    @Test("two keys agree on a fixed-length secret", arguments: ECCurve.allCases)
    func agreement(_ curve: ECCurve) throws {
        let a = try ECDHKey(curve: curve)
        let b = try ECDHKey(curve: curve)
        #expect(a.curve == curve)
        #expect(a.publicPoint.count == curve.uncompressedPointSize && a.publicPoint.first == 0x04)
        #expect(a.publicPoint != b.publicPoint)
        let ab = try a.sharedSecret(peerPoint: b.publicPoint)
        let ba = try b.sharedSecret(peerPoint: a.publicPoint)
        #expect(ab.count == (curve.bits + 7) / 8)
        #expect(ab.constantTimeEquals(ba))
    }

    /// The peer is made by `openssl genpkey`; openssl derives with our public point, we with its.
    @Test("agrees with openssl pkeyutl -derive", arguments: ECCurve.allCases)
    func openSSLDerive(_ curve: ECCurve) throws {
        let dir = try TempDir()
        let name = ["p256": "P-256", "p384": "P-384", "p521": "P-521"]["\(curve)"]!
        try InteropTool.openssl(
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:\(name)",
            "-out",
            dir.path("peer.pem")
        )
        let peerSPKI = Array(try InteropTool.openssl("pkey", "-in", dir.path("peer.pem"), "-pubout", "-outform", "DER"))
        // An EC SubjectPublicKeyInfo ends with the uncompressed point; what precedes it
        // names the curve, so swapping the point in makes ours.
        let peerPoint = Array(peerSPKI.suffix(curve.uncompressedPointSize))
        #expect(peerPoint.first == 0x04)
        let ours = try ECDHKey(curve: curve)
        let ourSPKI = peerSPKI.dropLast(curve.uncompressedPointSize) + ours.publicPoint
        try Data(ourSPKI).write(to: URL(fileURLWithPath: dir.path("ours.der")))

        let theirs = Array(
            try InteropTool.openssl(
                "pkeyutl",
                "-derive",
                "-inkey",
                dir.path("peer.pem"),
                "-peerkey",
                dir.path("ours.der"),
                "-peerform",
                "DER"
            )
        )
        let secret = try ours.sharedSecret(peerPoint: peerPoint)
        #expect(theirs.count == (curve.bits + 7) / 8)
        #expect(secret.unsafeCopy == theirs)
    }

    @Test("bad peer points are refused", arguments: ECCurve.allCases)
    func rejects(_ curve: ECCurve) throws {
        let key = try ECDHKey(curve: curve)
        let peer = try ECDHKey(curve: curve).publicPoint
        var offCurve = peer
        offCurve[offCurve.count - 1] ^= 1
        let fieldSize = (curve.bits + 7) / 8
        let compressed = [0x02 | (peer.last! & 1)] + peer[1...fieldSize]
        let wrongTag = [0x06] + peer.dropFirst()
        let zeros = [0x04] + [UInt8](repeating: 0, count: 2 * fieldSize)
        let otherCurve = try ECDHKey(curve: curve == .p256 ? .p384 : .p256).publicPoint
        for bad in [offCurve, compressed, wrongTag, zeros, otherCurve, [0x00], [], Array(peer.dropLast())] {
            #expect(throws: CryptoError(.invalidKey, "")) { try key.sharedSecret(peerPoint: bad) }
        }
    }
}

@Suite("Diffie-Hellman groups")
struct DHTests {
    static let groups: [(DHGroup, Int)] = [(.group14, 2048), (.group16, 4096), (.group18, 8192)]

    /// The RFC 3526 primes agree with OpenSSL's built-in MODP groups.
    @Test("MODP primes match openssl's modp_N", arguments: groups)
    func primes(_ group: DHGroup, _ bits: Int) throws {
        let params = try InteropTool.openssl(
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            "group:modp_\(bits)"
        )
        let parsed = try runProcess(Tool.openssl, ["asn1parse"], input: params).checked("openssl asn1parse").stdout
        // DHParameter ::= SEQUENCE { prime INTEGER, base INTEGER } (PKCS #3).
        let integers = parsed.split(separator: "\n").filter { $0.contains("prim: INTEGER") }
            .map { String($0.split(separator: ":").last!) }
        #expect(integers.count == 2)
        #expect(integers.first == hex(group.prime).uppercased())
        #expect(integers.last == "02")
        #expect(group.generator == [2])
        #expect(group.bits == bits)
        // RFC 3526: the top and bottom 64 bits of each prime are all ones.
        #expect(group.prime.prefix(8).allSatisfy { $0 == 0xff } && group.prime.suffix(8).allSatisfy { $0 == 0xff })
    }

    @Test("two key pairs agree", arguments: groups)
    func agreement(_ group: DHGroup, _ bits: Int) throws {
        let a = try DHKeyPair(group: group)
        let b = try DHKeyPair(group: group, strength: 512)
        #expect(a.publicValue.count <= bits / 8 && a.publicValue.first != 0)
        #expect(a.publicValue != b.publicValue)
        // OpenSSH's dh_gen_key: 2 × max(256, need) bits, need being the kex hash's size here.
        #expect(a.privateExponentBits == 512)
        #expect(b.privateExponentBits == 1024)
        let ab = try a.sharedSecret(peerPublicValue: b.publicValue)
        let ba = try b.sharedSecret(peerPublicValue: a.publicValue)
        #expect(ab.constantTimeEquals(ba))
        #expect(ab.count <= bits / 8 && ab.count > bits / 8 - 8)
        #expect(ab.unsafeCopy.first != 0)
    }

    @Test("bad peer values are refused", arguments: groups)
    func rejects(_ group: DHGroup, _ bits: Int) throws {
        let key = try DHKeyPair(group: group)
        let p = group.prime
        var pMinusOne = p
        pMinusOne[pMinusOne.count - 1] -= 1
        var pPlusOne = p
        pPlusOne[pPlusOne.count - 1] = 0  // p ends in 0xff…ff, so p+1 carries far; any value above p will do.
        pPlusOne.insert(1, at: 0)
        // 2 and 7 are in range but have fewer than four bits set, which OpenSSH refuses too.
        for bad in [[], [0], [1], [0, 0, 1], [2], [7], [0x80, 0, 0, 1], pMinusOne, p, pPlusOne] {
            #expect(throws: CryptoError(.invalidKey, "")) { try key.sharedSecret(peerPublicValue: bad) }
        }
        #expect(try key.sharedSecret(peerPublicValue: [0x0f]).count > 0)
        // p-2 is the largest value allowed, and has many bits set.
        var pMinusTwo = p
        pMinusTwo[pMinusTwo.count - 1] -= 2
        #expect(try key.sharedSecret(peerPublicValue: pMinusTwo).count > 0)
        // Leading zero bytes do not change the number.
        let peer = try DHKeyPair(group: group).publicValue
        #expect(
            try key.sharedSecret(peerPublicValue: [0, 0] + peer).constantTimeEquals(
                key.sharedSecret(peerPublicValue: peer)
            )
        )
    }

    @Test("group-exchange groups are checked")
    func groupExchange() throws {
        let p14 = DHGroup.group14.prime
        let p18 = DHGroup.group18.prime
        let gex = try DHGroup(prime: p14, generator: [5])
        #expect(gex.bits == 2048 && gex.prime == p14 && gex.generator == [5])
        let a = try DHKeyPair(group: gex)
        let b = try DHKeyPair(group: gex)
        #expect(
            try a.sharedSecret(peerPublicValue: b.publicValue).constantTimeEquals(
                b.sharedSecret(peerPublicValue: a.publicValue)
            )
        )
        #expect(try DHGroup(prime: [0, 0] + p18, generator: [0, 2]).bits == 8192)

        var pMinusOne = p14
        pMinusOne[pMinusOne.count - 1] -= 1
        var even = p14
        even[even.count - 1] = 0xfe
        let cases: [([UInt8], [UInt8])] = [
            (Array(p14.prefix(128)), [2]),  // 1024 bits
            ([0x7f] + Array(p14.dropFirst()), [2]),  // 2047 bits
            ([1] + p18, [2]),  // 8193 bits
            (even, [2]),
            (p14, []), (p14, [0]), (p14, [1]), (p14, pMinusOne), (p14, p14), ([], [2]),
        ]
        for (prime, generator) in cases {
            #expect(throws: CryptoError(.invalidParameter, "")) { try DHGroup(prime: prime, generator: generator) }
        }
    }
}
