import Testing

@testable import SSHCrypto

@Suite("ECDSA")
struct ECDSATests {
    @Test("sign and verify", arguments: ECCurve.allCases)
    func signVerify(_ curve: ECCurve) throws {
        let key = try ECDSAKey.generate(curve: curve)
        #expect(key.curve == curve)
        #expect(key.isPrivate)
        #expect(key.publicPoint.count == 1 + 2 * ((curve.bits + 7) / 8))
        #expect(key.publicPoint.first == 0x04)
        let message = Array("keysmith ECDSA".utf8)
        let (r, s) = try key.sign(message)
        #expect(!r.isEmpty && r.first != 0)
        #expect(!s.isEmpty && s.first != 0)
        #expect(key.verify(r: r, s: s, for: message))
        #expect(key.publicKey.verify(r: r, s: s, for: message))
        #expect(!key.verify(r: r, s: s, for: Array("keysmith ECDSa".utf8)))
        #expect(!key.verify(r: s, s: r, for: message))
        #expect(!key.verify(r: [], s: s, for: message))
        #expect(!key.verify(r: [UInt8](repeating: 0xff, count: 200), s: s, for: message))
        let other = try ECDSAKey.generate(curve: curve)
        #expect(!other.verify(r: r, s: s, for: message))
    }

    @Test("import round trip", arguments: ECCurve.allCases)
    func importExport(_ curve: ECCurve) throws {
        let key = try ECDSAKey.generate(curve: curve)
        let scalar = try #require(key.privateScalar())
        let imported = try ECDSAKey(curve: curve, publicPoint: key.publicPoint, privateScalar: scalar)
        #expect(imported.isPrivate)
        #expect(imported.publicPoint == key.publicPoint)
        #expect(try #require(imported.privateScalar()).constantTimeEquals(scalar))
        let message = Array("imported".utf8)
        let (r, s) = try imported.sign(message)
        #expect(key.verify(r: r, s: s, for: message))

        let publicOnly = try ECDSAKey(curve: curve, publicPoint: key.publicPoint)
        #expect(!publicOnly.isPrivate)
        #expect(publicOnly.privateScalar() == nil)
        #expect(publicOnly.verify(r: r, s: s, for: message))
        #expect(throws: CryptoError(.invalidKey, "")) { try publicOnly.sign(message) }
        #expect(!key.publicKey.isPrivate)
        #expect(key.publicKey.publicPoint == key.publicPoint)
    }

    @Test("bad points and scalars are rejected", arguments: ECCurve.allCases)
    func rejects(_ curve: ECCurve) throws {
        let key = try ECDSAKey.generate(curve: curve)
        let other = try ECDSAKey.generate(curve: curve)
        var offCurve = key.publicPoint
        offCurve[offCurve.count - 1] ^= 1
        #expect(throws: CryptoError(.invalidKey, "")) { try ECDSAKey(curve: curve, publicPoint: offCurve) }
        // A compressed point is on the curve, but SSH carries only uncompressed ones.
        let fieldSize = (curve.bits + 7) / 8
        let compressed = [0x02 | (key.publicPoint.last! & 1)] + key.publicPoint[1...fieldSize]
        #expect(throws: CryptoError(.invalidKey, "")) { try ECDSAKey(curve: curve, publicPoint: compressed) }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try ECDSAKey(curve: curve, publicPoint: key.publicPoint.dropLast())
        }
        let wrongCurve: ECCurve = curve == .p256 ? .p384 : .p256
        #expect(throws: CryptoError(.invalidKey, "")) { try ECDSAKey(curve: wrongCurve, publicPoint: key.publicPoint) }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try ECDSAKey(curve: curve, publicPoint: key.publicPoint, privateScalar: try #require(other.privateScalar()))
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try ECDSAKey(curve: curve, publicPoint: key.publicPoint, privateScalar: SecureBytes([0]))
        }
        #expect(throws: CryptoError(.invalidKey, "")) {
            try ECDSAKey(
                curve: curve,
                publicPoint: key.publicPoint,
                privateScalar: SecureBytes([UInt8](repeating: 0xff, count: fieldSize))
            )
        }
    }

    @Test("r and s of a DER signature, as a FIDO token answers ES256")
    func signatureComponents() throws {
        // SEQUENCE { INTEGER 5, INTEGER 0x0080 }: the sign-padding zero is dropped.
        let parsed = try ECDSAKey.signatureComponents(der: [0x30, 0x07, 0x02, 0x01, 0x05, 0x02, 0x02, 0x00, 0x80])
        #expect(parsed.r == [0x05])
        #expect(parsed.s == [0x80])

        let key = try ECDSAKey.generate(curve: .p256)
        let message = Array("from DER".utf8)
        let (r, s) = try key.sign(message)
        let der = try ECDSASignature(r: r, s: s).der()
        let components = try ECDSAKey.signatureComponents(der: der)
        #expect(components.r == r && components.s == s)

        #expect(throws: CryptoError(.malformedInput, "")) { try ECDSAKey.signatureComponents(der: der + [0]) }
        #expect(throws: CryptoError(.malformedInput, "")) { try ECDSAKey.signatureComponents(der: [0x30, 0x00]) }
        #expect(throws: CryptoError(.malformedInput, "")) { try ECDSAKey.signatureComponents(der: []) }
    }
}
