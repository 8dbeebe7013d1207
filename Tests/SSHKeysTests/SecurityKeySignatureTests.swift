import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

private let message = Array("the signed message".utf8)

@Suite("Security key signatures")
struct SecurityKeySignatureTests {
    static let kinds = ["ed25519", "ecdsa", "webauthn"]

    func authenticator(_ kind: String) throws -> (SecurityKeySigner, String?) {
        switch kind {
        case "ed25519": (SecurityKeySigner.ed25519(), nil)
        case "ecdsa": (try SecurityKeySigner.ecdsa(), nil)
        default: (try SecurityKeySigner.ecdsa(), "https://example.org")
        }
    }

    @Test("every flags byte verifies and is returned with the counter", arguments: kinds)
    func everyFlagsByte(_ kind: String) throws {
        let (auth, origin) = try self.authenticator(kind)
        for flags in UInt8.min...UInt8.max {
            // WebAuthn signatures must not claim attested data, and claim extension data
            // exactly when they carry extensions.
            if origin != nil && flags & 0xC0 != 0 { continue }
            let counter = UInt32(flags) &* 0x0101_0101
            let signature = try auth.sign(message, flags: flags, counter: counter, webAuthnOrigin: origin)
            let fields = try #require(auth.verify(signature, message), "flags \(flags)")
            #expect(fields.flags == flags)
            #expect(fields.counter == counter)
            #expect(fields.isUserPresent == (flags & 0x01 != 0))
            #expect(fields.isUserVerified == (flags & 0x04 != 0))
        }
    }

    @Test("the wire encoding round-trips, counter extremes included", arguments: kinds)
    func wireRoundTrip(_ kind: String) throws {
        let (auth, origin) = try self.authenticator(kind)
        for counter: UInt32 in [0, 1, 0x8000_0000, .max] {
            let signature = try auth.sign(message, flags: 0x05, counter: counter, webAuthnOrigin: origin)
            let decoded = try SSHSignature(wireEncoding: signature.wireEncoding)
            #expect(decoded == signature)
            #expect(decoded.securityKey?.counter == counter)
            #expect(auth.verify(decoded, message)?.counter == counter)
        }
    }

    @Test("a plain signature keeps its two-field encoding")
    func plainSignatureUnchanged() throws {
        let plain = SSHSignature(algorithm: "ssh-ed25519", rawSignature: Array(repeating: 7, count: 64))
        var w = SSHWireWriter()
        w.writeString("ssh-ed25519")
        w.writeString(plain.rawSignature)
        #expect(plain.wireEncoding == w.bytes)
        #expect(try SSHSignature(wireEncoding: w.bytes).securityKey == nil)
    }

    @Test("missing flags or counter, and trailing bytes, are refused", arguments: kinds)
    func truncatedAndTrailing(_ kind: String) throws {
        let (auth, origin) = try self.authenticator(kind)
        let signature = try auth.sign(message, webAuthnOrigin: origin)
        var w = SSHWireWriter()
        w.writeString(signature.algorithm)
        w.writeString(signature.rawSignature)
        let head = w.bytes
        #expect(throws: SSHKeyError(.truncated, "")) { try SSHSignature(wireEncoding: head) }  // no flags
        #expect(throws: SSHKeyError(.truncated, "")) { try SSHSignature(wireEncoding: head + [0x01]) }  // no counter
        #expect(throws: SSHKeyError(.truncated, "")) { try SSHSignature(wireEncoding: head + [0x01, 0, 0, 1]) }
        let whole = signature.wireEncoding
        #expect(throws: SSHKeyError(.invalidFormat, "")) { try SSHSignature(wireEncoding: whole + [0]) }
        if origin != nil {
            // The WebAuthn fields are required too.
            #expect(throws: SSHKeyError(.truncated, "")) {
                try SSHSignature(wireEncoding: head + [0x01, 0, 0, 0, 1])
            }
        }
    }

    @Test("a tampered message, flags byte or counter does not verify", arguments: kinds)
    func tampered(_ kind: String) throws {
        let (auth, origin) = try self.authenticator(kind)
        let signature = try auth.sign(message, flags: 0x01, counter: 9, webAuthnOrigin: origin)
        #expect(auth.verify(signature, message) != nil)
        #expect(auth.verify(signature, message + [0]) == nil)
        var fields = try #require(signature.securityKey)
        fields.flags = 0x05
        let moreFlags = SSHSignature(
            algorithm: signature.algorithm,
            rawSignature: signature.rawSignature,
            securityKey: fields
        )
        #expect(auth.verify(moreFlags, message) == nil)
        fields = try #require(signature.securityKey)
        fields.counter = 10
        let otherCounter = SSHSignature(
            algorithm: signature.algorithm,
            rawSignature: signature.rawSignature,
            securityKey: fields
        )
        #expect(auth.verify(otherCounter, message) == nil)
    }

    @Test("the application is signed: another one does not verify", arguments: kinds)
    func wrongApplication(_ kind: String) throws {
        let (auth, origin) = try self.authenticator(kind)
        let signature = try auth.sign(message, webAuthnOrigin: origin)
        #expect(auth.verify(signature, message, application: "ssh:other") == nil)
        #expect(auth.verify(signature, message, application: "") == nil)
    }

    @Test("a signature under another algorithm name does not verify")
    func wrongAlgorithmName() throws {
        let ed = SecurityKeySigner.ed25519()
        let ec = try SecurityKeySigner.ecdsa()
        let edSignature = try ed.sign(message)
        let ecSignature = try ec.sign(message)
        func renamed(_ s: SSHSignature, _ name: String) -> SSHSignature {
            SSHSignature(algorithm: name, rawSignature: s.rawSignature, securityKey: s.securityKey!)
        }
        for name in ["ssh-ed25519", SecurityKeyVerifier.ecdsaAlgorithm, SecurityKeyVerifier.webAuthnAlgorithm] {
            #expect(ed.verify(renamed(edSignature, name), message) == nil, "\(name)")
        }
        for name in [
            "ecdsa-sha2-nistp256", SecurityKeyVerifier.ed25519Algorithm, SecurityKeyVerifier.webAuthnAlgorithm,
        ] {
            #expect(ec.verify(renamed(ecSignature, name), message) == nil, "\(name)")
        }
        // A plain signature (no flags, no counter) over the same bytes is not a security key signature.
        let plain = SSHSignature(
            algorithm: SecurityKeyVerifier.ed25519Algorithm,
            rawSignature: edSignature.rawSignature
        )
        #expect(ed.verify(plain, message) == nil)
    }

    @Test("an Ed25519 signature of the wrong length does not verify")
    func ed25519Length() throws {
        let ed = SecurityKeySigner.ed25519()
        let signature = try ed.sign(message)
        for raw in [Array(signature.rawSignature.dropLast()), signature.rawSignature + [0]] {
            let odd = SSHSignature(
                algorithm: signature.algorithm,
                rawSignature: raw,
                securityKey: signature.securityKey!
            )
            #expect(ed.verify(odd, message) == nil)
        }
    }

    @Test("ECDSA: trailing bytes after s, and a point off the curve, are refused")
    func ecdsaShape() throws {
        let ec = try SecurityKeySigner.ecdsa()
        let signature = try ec.sign(message)
        let trailing = SSHSignature(
            algorithm: signature.algorithm,
            rawSignature: signature.rawSignature + [0],
            securityKey: signature.securityKey!
        )
        #expect(ec.verify(trailing, message) == nil)
        guard case .ecdsa(let key) = ec.key else { return }
        var offCurve = key.publicPoint
        offCurve[offCurve.count - 1] ^= 1
        #expect(
            SecurityKeyVerifier.verifyECDSA(
                publicPoint: offCurve,
                application: Array("ssh:".utf8),
                signature: signature,
                data: message
            ) == nil
        )
        #expect(
            SecurityKeyVerifier.verifyECDSA(
                publicPoint: key.publicPoint,
                application: Array("ssh:".utf8),
                signature: signature,
                data: message
            )
                != nil
        )
    }

    @Test("WebAuthn: the clientData must carry the expected type, challenge and origin")
    func webAuthnClientData() throws {
        let ec = try SecurityKeySigner.ecdsa()
        let origin = "https://example.org"
        let good = SecurityKeySigner.clientData(challenge: message, origin: origin)
        #expect(ec.verify(try ec.sign(message, webAuthnOrigin: origin, clientData: good), message) != nil)
        // Exactly the preamble, nothing after it, is enough for OpenSSH.
        let preamble = SecurityKeyVerifier.webAuthnClientDataPreamble(challenge: message, origin: origin)
        #expect(ec.verify(try ec.sign(message, webAuthnOrigin: origin, clientData: preamble), message) != nil)
        let wrong: [[UInt8]] = [
            SecurityKeySigner.clientData(challenge: message + [1], origin: origin),
            SecurityKeySigner.clientData(challenge: message, origin: "https://example.com"),
            Array(String(decoding: good, as: UTF8.self).replacingOccurrences("webauthn.get", "webauthn.create").utf8),
            Array(preamble.dropLast()),
            [],
        ]
        for clientData in wrong {
            let signature = try ec.sign(message, webAuthnOrigin: origin, clientData: clientData)
            #expect(ec.verify(signature, message) == nil, "\(String(decoding: clientData, as: UTF8.self))")
        }
        // The challenge is base64url without padding: bytes that make '+', '/' and '=' in base64.
        let challenge: [UInt8] = [0xFB, 0xFF, 0xBF]
        let urlSafe = SecurityKeyVerifier.webAuthnClientDataPreamble(challenge: challenge, origin: origin)
        #expect(String(decoding: urlSafe, as: UTF8.self).contains("\"challenge\":\"-_-_\""))
        #expect(ec.verify(try ec.sign(challenge, webAuthnOrigin: origin), challenge) != nil)
        #expect(ec.verify(try ec.sign([0xFB], webAuthnOrigin: origin), [0xFB]) != nil)
    }

    @Test("WebAuthn: a quote in the origin and inconsistent extension flags are refused")
    func webAuthnFlags() throws {
        let ec = try SecurityKeySigner.ecdsa()
        let origin = "https://example.org"
        #expect(ec.verify(try ec.sign(message, webAuthnOrigin: "https://a\".org"), message) == nil)
        #expect(ec.verify(try ec.sign(message, flags: 0x41, webAuthnOrigin: origin), message) == nil)
        #expect(ec.verify(try ec.sign(message, flags: 0x81, webAuthnOrigin: origin), message) == nil)
        #expect(
            ec.verify(try ec.sign(message, flags: 0x01, webAuthnOrigin: origin, extensions: [0xA0]), message) == nil
        )
        let withExtensions = try ec.sign(message, flags: 0x81, webAuthnOrigin: origin, extensions: [0xA0])
        #expect(ec.verify(withExtensions, message)?.webAuthn?.extensions == [0xA0])
        // The extensions are signed.
        var fields = try #require(withExtensions.securityKey)
        fields.webAuthn?.extensions = [0xA1]
        let changed = SSHSignature(
            algorithm: withExtensions.algorithm,
            rawSignature: withExtensions.rawSignature,
            securityKey: fields
        )
        #expect(ec.verify(changed, message) == nil)
    }

    @Test(
        "policy: presence unless no-touch-required, verification when verify-required",
        arguments: [UInt8(0x00), 0x01, 0x04, 0x05],
        [false, true]
    )
    func policy(_ flags: UInt8, _ verifyRequired: Bool) throws {
        let fields = SSHSignature.SecurityKeyFields(flags: flags, counter: 3)
        for touchRequired in [true, false] {
            var options = AuthorizedKeyOptions()
            options.requiresUserPresence = touchRequired
            options.requiresUserVerification = verifyRequired
            let policy = SecurityKeyPolicy(options)
            let missingPresence = touchRequired && flags & 0x01 == 0
            let missingVerification = verifyRequired && flags & 0x04 == 0
            if missingPresence || missingVerification {
                let error = #expect(throws: SSHKeyError(.notAllowed, "")) { try policy.check(fields) }
                let text = error?.message ?? ""
                #expect(text.contains(missingPresence ? "lacks user presence" : "lacks user verification"))
            } else {
                try policy.check(fields)
            }
        }
        // sshd's default for a line without options.
        #expect(SecurityKeyPolicy() == SecurityKeyPolicy(AuthorizedKeyOptions()))
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
