import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

@testable import SSHProtocol

/// Public key user authentication with security keys, signed by a software authenticator.
@Suite("SSHUserAuthServer with security keys")
struct SecurityKeyAuthTests {
    let sessionID = SecureRandom.bytes(32)

    /// A signed publickey request for `algorithm` by `auth`, with the authenticator's flags.
    func signedRequest(
        _ auth: SecurityKeySigner,
        algorithm: String,
        flags: UInt8,
        webAuthnOrigin: String? = nil,
        keyBlob: [UInt8]? = nil
    ) throws -> [UInt8] {
        let request = PublicKeyAuthRequest.signedRequest(
            user: Array("alice".utf8),
            service: Array("ssh-connection".utf8),
            algorithm: Array(algorithm.utf8),
            publicKeyBlob: keyBlob ?? auth.publicKeyBlob
        )
        let signed = PublicKeyAuthRequest.signedData(sessionID: self.sessionID, request: request)
        let signature = try auth.sign(signed, flags: flags, counter: 7, webAuthnOrigin: webAuthnOrigin)
        var w = SSHWireWriter()
        w.writeBytes(request)
        w.writeString(signature.wireEncoding)
        return w.bytes
    }

    func server(_ decision: SSHPublicKeyDecision) throws -> SSHUserAuthServer {
        let server = SSHUserAuthServer(sessionID: self.sessionID) { _, _ in decision }
        _ = try server.receive([UserAuthMessage.serviceRequest, 0, 0, 0, 12] + Array("ssh-userauth".utf8))
        return server
    }

    /// The reason of the refusal the latest message caused, or nil when it authenticated.
    func login(_ server: SSHUserAuthServer, _ request: [UInt8]) throws -> String? {
        let replies = try server.receive(request)
        if replies == [[UserAuthMessage.success]] { return nil }
        for case .keyRefused(_, _, _, let reason) in server.events { return reason }
        for case .badSignature in server.events { return "bad signature" }
        return "no event"
    }

    static let kinds = ["ed25519", "ecdsa", "webauthn"]

    func authenticator(_ kind: String) throws -> (SecurityKeySigner, algorithm: String, origin: String?) {
        switch kind {
        case "ed25519": (SecurityKeySigner.ed25519(), SecurityKeyVerifier.ed25519Algorithm, nil)
        case "ecdsa": (try SecurityKeySigner.ecdsa(), SecurityKeyVerifier.ecdsaAlgorithm, nil)
        default: (try SecurityKeySigner.ecdsa(), SecurityKeyVerifier.ecdsaAlgorithm, "ssh:")
        }
    }

    @Test("sshd's default: a touch logs in, no touch is refused", arguments: kinds)
    func presenceByDefault(_ kind: String) throws {
        let (auth, algorithm, origin) = try self.authenticator(kind)
        let server = try self.server(.accept(comment: "sk"))
        let untouched = try self.login(
            server,
            try self.signedRequest(auth, algorithm: algorithm, flags: 0, webAuthnOrigin: origin)
        )
        #expect(untouched?.contains("lacks user presence") == true, "\(untouched ?? "")")
        #expect(server.authenticated == nil)
        #expect(
            try self.login(
                server,
                try self.signedRequest(auth, algorithm: algorithm, flags: 0x01, webAuthnOrigin: origin)
            ) == nil
        )
        #expect(server.authenticated?.key == (try auth.publicKey))
        #expect(server.authenticated?.comment == "sk")
    }

    @Test(
        "no-touch-required and verify-required decide as in sshd",
        arguments: [UInt8(0x00), 0x01, 0x04, 0x05],
        [false, true]
    )
    func policies(_ flags: UInt8, _ verifyRequired: Bool) throws {
        for touchRequired in [true, false] {
            let policy = SecurityKeyPolicy(
                requiresUserPresence: touchRequired,
                requiresUserVerification: verifyRequired
            )
            let auth = SecurityKeySigner.ed25519()
            let server = try self.server(.acceptSecurityKey(comment: nil, policy: policy))
            let refusal = try self.login(
                server,
                try self.signedRequest(auth, algorithm: SecurityKeyVerifier.ed25519Algorithm, flags: flags)
            )
            let expected: String? =
                touchRequired && flags & 0x01 == 0
                ? "lacks user presence"
                : verifyRequired && flags & 0x04 == 0 ? "lacks user verification" : nil
            if let expected {
                #expect(refusal?.contains(expected) == true, "\(refusal ?? "")")
            } else {
                #expect(refusal == nil)
            }
        }
    }

    @Test("an ECDSA security key may answer through WebAuthn under either algorithm name")
    func webAuthnNames() throws {
        let auth = try SecurityKeySigner.ecdsa()
        for algorithm in [SecurityKeyVerifier.ecdsaAlgorithm, SecurityKeyVerifier.webAuthnAlgorithm] {
            let server = try self.server(.accept(comment: nil))
            #expect(
                try self.login(
                    server,
                    try self.signedRequest(auth, algorithm: algorithm, flags: 1, webAuthnOrigin: "ssh:")
                ) == nil
            )
            let plain = try self.server(.accept(comment: nil))
            #expect(try self.login(plain, try self.signedRequest(auth, algorithm: algorithm, flags: 1)) == nil)
        }
        // An Ed25519 security key has no WebAuthn form.
        let ed = SecurityKeySigner.ed25519()
        let server = try self.server(.accept(comment: nil))
        #expect(
            try self.login(
                server,
                try self.signedRequest(ed, algorithm: SecurityKeyVerifier.webAuthnAlgorithm, flags: 1)
            ) != nil
        )
    }

    @Test("a bad security key signature is refused before any policy")
    func badSignature() throws {
        let auth = SecurityKeySigner.ed25519()
        let other = SecurityKeySigner(key: auth.key, application: "ssh:other")
        // The request names auth's key (application ssh:) but the signature is for ssh:other.
        let request = try self.signedRequest(
            other,
            algorithm: SecurityKeyVerifier.ed25519Algorithm,
            flags: 1,
            keyBlob: auth.publicKeyBlob
        )
        let server = try self.server(.accept(comment: nil))
        let result = try self.login(server, request)
        #expect(result == "bad signature", "\(result ?? "authenticated")")
    }

    @Test("server-sig-algs lists the security key algorithms")
    func serverSignatureAlgorithms() {
        for name in SSHSignature.securityKeyAlgorithms {
            #expect(SSHTransport.signatureAlgorithms.contains(name))
        }
    }
}
