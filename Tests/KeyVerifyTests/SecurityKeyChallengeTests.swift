import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

@testable import KeyVerify

/// Challenges answered and logins decided for security keys, signed by a software authenticator.
@Suite("Security keys in challenges and serve decisions")
struct SecurityKeyChallengeTests {
    static let kinds = ["ed25519", "ecdsa", "webauthn"]

    func authenticator(_ kind: String) throws -> (SecurityKeySigner, origin: String?) {
        switch kind {
        case "ed25519": (SecurityKeySigner.ed25519(), nil)
        case "ecdsa": (try SecurityKeySigner.ecdsa(), nil)
        default: (try SecurityKeySigner.ecdsa(), "ssh:")
        }
    }

    func authorizedKeys(_ auth: SecurityKeySigner, options: String?) -> AuthorizedKeysFile {
        let line = (options.map { $0 + " " } ?? "") + auth.publicKeyText + " sk@example"
        return AuthorizedKeysFile(contents: Array((line + "\n").utf8), path: "authorized_keys")
    }

    /// The verification's error sentence, or nil when it succeeded.
    func verify(_ kind: String, flags: UInt8, options: String?) throws -> KeyVerifyError? {
        let (auth, origin) = try self.authenticator(kind)
        let dir = try TempDir()
        let verifier = try ChallengeVerifier(stateDirectory: dir.path("state"), audience: "verifier.example")
        let token = try verifier.issue()
        let response = try auth.sshsig(
            token.signedBytes,
            namespace: Challenge.namespace,
            flags: flags,
            counter: 5,
            webAuthnOrigin: origin
        )
        do {
            let result = try verifier.verify(
                token: token.text,
                response: response.armored,
                authorizedKeys: self.authorizedKeys(auth, options: options)
            )
            #expect(result.key == (try auth.publicKey))
            #expect(result.comment == "sk@example")
            return nil
        } catch let error as KeyVerifyError {
            return error
        }
    }

    @Test("challenge verify: presence unless no-touch-required, verification when verify-required", arguments: kinds)
    func challengePolicy(_ kind: String) throws {
        #expect(try self.verify(kind, flags: 0x01, options: nil) == nil)
        let untouched = try self.verify(kind, flags: 0x00, options: nil)
        #expect(untouched?.code == .notAuthorized)
        #expect(untouched?.message.contains("lacks user presence") == true)
        #expect(try self.verify(kind, flags: 0x00, options: "no-touch-required") == nil)
        let unverified = try self.verify(kind, flags: 0x01, options: "verify-required")
        #expect(unverified?.code == .notAuthorized)
        #expect(unverified?.message.contains("lacks user verification") == true)
        #expect(try self.verify(kind, flags: 0x05, options: "verify-required") == nil)
        #expect(try self.verify(kind, flags: 0x04, options: "no-touch-required,verify-required") == nil)
    }

    @Test("challenge verify: a signature for another application is a bad signature")
    func challengeWrongApplication() throws {
        let auth = SecurityKeySigner.ed25519()
        let other = SecurityKeySigner(key: auth.key, application: "ssh:other")
        let dir = try TempDir()
        let verifier = try ChallengeVerifier(stateDirectory: dir.path("state"), audience: "verifier.example")
        let token = try verifier.issue()
        let response = try other.sshsig(token.signedBytes, namespace: Challenge.namespace, keyBlob: auth.publicKeyBlob)
        #expect(throws: KeyVerifyError(.badSignature, "")) {
            try verifier.verify(
                token: token.text,
                response: response.armored,
                authorizedKeys: self.authorizedKeys(auth, options: nil)
            )
        }
    }

    @Test("serve decides a security key with its line's policy")
    func serveDecision() throws {
        let dir = try TempDir()
        let auth = SecurityKeySigner.ed25519()
        let key = try auth.publicKey
        let path = dir.path("authorized_keys")
        for (options, policy) in [
            (nil, SecurityKeyPolicy()),
            ("no-touch-required", SecurityKeyPolicy(requiresUserPresence: false)),
            ("verify-required", SecurityKeyPolicy(requiresUserVerification: true)),
        ] {
            try writeText(path, (options.map { $0 + " " } ?? "") + auth.publicKeyText + " sk\n")
            #expect(
                AuthorizedKeysServer.decide(key, from: "127.0.0.1", path: path)
                    == .acceptSecurityKey(comment: "sk", policy: policy)
            )
        }
    }
}
