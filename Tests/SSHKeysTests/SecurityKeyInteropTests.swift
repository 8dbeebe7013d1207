import Foundation
import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// An SSHSIG signature by `auth`, armoured as ssh-keygen writes it, and the bytes it signed.
private func sshsig(
    _ auth: SecurityKeySigner,
    _ message: [UInt8],
    flags: UInt8,
    counter: UInt32,
    webAuthnOrigin: String? = nil,
    keyBlob: [UInt8]? = nil
) throws -> (armored: String, signed: [UInt8], signature: SSHSignature) {
    let made = try auth.sshsig(
        message,
        namespace: "file",
        flags: flags,
        counter: counter,
        webAuthnOrigin: webAuthnOrigin,
        keyBlob: keyBlob
    )
    // The helper's own PROTOCOL.sshsig bytes are keysmith's.
    let hash = SSHSIGMessageHash(algorithm: .sha512, message: message)
    #expect(made.signed == SSHSIGSignature.signedData(namespace: "file", reserved: [], messageHash: hash))
    return made
}

/// Signatures in security key formats, made in Swift by a software authenticator, checked by
/// the installed `ssh-keygen -Y verify` and `-Y check-novalidate`: verifying needs only the public key.
@Suite("Security key signatures against ssh-keygen")
struct SecurityKeyInteropTests {
    static let cases: [(kind: String, flags: UInt8)] = [
        ("ed25519", 0x01), ("ed25519", 0x00), ("ed25519", 0x05),
        ("ecdsa", 0x01), ("ecdsa", 0x00), ("ecdsa", 0x05),
        ("webauthn", 0x01), ("webauthn", 0x00), ("webauthn", 0x05),
    ]

    @Test("ssh-keygen -Y verify and check-novalidate agree with keysmith", arguments: cases)
    func keygenAgrees(_ kind: String, _ flags: UInt8) throws {
        let auth = kind == "ed25519" ? SecurityKeySigner.ed25519() : try SecurityKeySigner.ecdsa()
        let origin = kind == "webauthn" ? "https://example.org" : nil
        let message = Array("a message\n".utf8)
        let dir = try TempDir()
        let keyType = kind == "ed25519" ? SecurityKeyVerifier.ed25519Algorithm : SecurityKeyVerifier.ecdsaAlgorithm
        try dir.write("as", "me \(keyType) \(Base64.encode(auth.publicKeyBlob))\n")

        func keygen(_ armored: String) throws -> (verify: ProcessResult, novalidate: ProcessResult) {
            try dir.write("msg.sig", armored)
            let verify = try runProcess(
                Tool.sshKeygen,
                ["-Y", "verify", "-f", dir.path("as"), "-I", "me", "-n", "file", "-s", dir.path("msg.sig")],
                input: Data(message)
            )
            let novalidate = try runProcess(
                Tool.sshKeygen,
                ["-Y", "check-novalidate", "-n", "file", "-s", dir.path("msg.sig")],
                input: Data(message)
            )
            return (verify, novalidate)
        }

        let good = try sshsig(auth, message, flags: flags, counter: 42, webAuthnOrigin: origin)
        let fields = try #require(auth.verify(good.signature, good.signed))
        #expect(fields.flags == flags && fields.counter == 42)
        // keysmith reads the key from the blob and returns what the authenticator signed.
        let parsed = try SSHSIGSignature(armored: good.armored)
        #expect(parsed.publicKey.type == (kind == "ed25519" ? .skEd25519 : .skECDSA))
        #expect(parsed.publicKey.application == "ssh:")
        #expect(try parsed.verify(message, namespace: "file").securityKey == fields)
        #expect(parsed.armored == good.armored)
        let accepted = try keygen(good.armored)
        // ssh-keygen applies no presence policy to SSHSIG: a signature without the
        // user presence flag verifies as well as one with it.
        #expect(accepted.verify.status == 0, "\(accepted.verify)")
        let label = kind == "ed25519" ? "ED25519-SK" : "ECDSA-SK"
        #expect(accepted.verify.stdout.contains("Good \"file\" signature for me with \(label) key SHA256:"))
        #expect(accepted.novalidate.status == 0, "\(accepted.novalidate)")

        // A signature for another application than the key's, and the same signature under
        // another counter, are refused by both.
        let other = SecurityKeySigner(key: auth.key, application: "ssh:other")
        let wrongApp = try sshsig(
            other,
            message,
            flags: flags,
            counter: 42,
            webAuthnOrigin: origin,
            keyBlob: auth.publicKeyBlob
        )
        #expect(auth.verify(wrongApp.signature, wrongApp.signed) == nil)
        #expect(throws: SSHKeyError(.signatureInvalid, "")) {
            try SSHSIGSignature(armored: wrongApp.armored).verify(message, namespace: "file")
        }
        let refused = try keygen(wrongApp.armored)
        #expect(refused.verify.status != 0, "\(refused.verify)")
        #expect(refused.novalidate.status != 0, "\(refused.novalidate)")

        var changed = try #require(good.signature.securityKey)
        changed.counter = 43
        let moved = SSHSignature(
            algorithm: good.signature.algorithm,
            rawSignature: good.signature.rawSignature,
            securityKey: changed
        )
        #expect(auth.verify(moved, good.signed) == nil)
        let movedArmor = good.armored.replacingBase64(of: good.signature.wireEncoding, with: moved.wireEncoding)
        #expect(throws: SSHKeyError(.signatureInvalid, "")) {
            try SSHSIGSignature(armored: try #require(movedArmor)).verify(message, namespace: "file")
        }
        let movedResult = try keygen(try #require(movedArmor))
        #expect(movedResult.verify.status != 0, "\(movedResult.verify)")
        #expect(movedResult.novalidate.status != 0, "\(movedResult.novalidate)")
    }
}

extension String {
    /// The armoured signature with one field of its blob swapped for another of the same length.
    fileprivate func replacingBase64(of old: [UInt8], with new: [UInt8]) -> String? {
        guard old.count == new.count else { return nil }
        let lines = self.split(separator: "\n").map(String.init)
        guard lines.count >= 3, var blob = Base64.decode(lines[1..<(lines.count - 1)].joined()) else { return nil }
        guard let start = blob.firstRange(of: old) else { return nil }
        blob.replaceSubrange(start, with: new)
        return SSHSIGSignature.beginArmor + Base64.encode(blob, lineWidth: 70) + SSHSIGSignature.endArmor + "\n"
    }
}
