package import SSHCrypto
package import SSHKeys

/// A security key signer inside the test process: an ordinary Ed25519 or P-256 key that signs
/// what PROTOCOL.u2f says an authenticator signs, with any flags, counter or WebAuthn fields
/// a test asks for. (``SoftAuthenticator`` is the shared library OpenSSH's tools load.)
package struct SecurityKeySigner: Sendable {
    package enum Key: Sendable {
        case ed25519(seed: SecureBytes, publicKey: [UInt8])
        case ecdsa(ECDSAKey)
    }
    package let key: Key
    package let application: String

    package init(key: Key, application: String) {
        self.key = key
        self.application = application
    }

    package static func ed25519(application: String = "ssh:") -> SecurityKeySigner {
        let (seed, publicKey) = Ed25519.generate()
        return SecurityKeySigner(key: .ed25519(seed: seed, publicKey: publicKey), application: application)
    }

    package static func ecdsa(application: String = "ssh:") throws -> SecurityKeySigner {
        SecurityKeySigner(key: .ecdsa(try ECDSAKey.generate(curve: .p256)), application: application)
    }

    /// The public key's wire blob (PROTOCOL.u2f): type, key, application.
    package var publicKeyBlob: [UInt8] {
        var w = SSHWireWriter()
        switch self.key {
        case .ed25519(_, let publicKey):
            w.writeString(SecurityKeyVerifier.ed25519Algorithm)
            w.writeString(publicKey)
        case .ecdsa(let key):
            w.writeString(SecurityKeyVerifier.ecdsaAlgorithm)
            w.writeString("nistp256")
            w.writeString(key.publicPoint)
        }
        w.writeString(self.application)
        return w.bytes
    }

    /// The public key as keysmith reads it.
    package var publicKey: SSHPublicKey {
        get throws { try SSHPublicKey(wireBlob: self.publicKeyBlob) }
    }

    /// The key's authorized_keys / allowed_signers text: `type base64`.
    package var publicKeyText: String {
        let type =
            if case .ed25519 = self.key { SecurityKeyVerifier.ed25519Algorithm } else {
                SecurityKeyVerifier.ecdsaAlgorithm
            }
        return "\(type) \(Base64.encode(self.publicKeyBlob))"
    }

    /// The clientData a browser would hand a WebAuthn authenticator for `challenge`.
    package static func clientData(challenge: [UInt8], origin: String) -> [UInt8] {
        SecurityKeyVerifier.webAuthnClientDataPreamble(challenge: challenge, origin: origin)
            + Array(",\"crossOrigin\":false}".utf8)
    }

    /// Signs `data`; `webAuthnOrigin` makes a `webauthn-sk-ecdsa-sha2-nistp256@openssh.com` signature.
    package func sign(
        _ data: [UInt8],
        flags: UInt8 = 0x01,
        counter: UInt32 = 1,
        webAuthnOrigin: String? = nil,
        clientData: [UInt8]? = nil,
        extensions: [UInt8] = []
    ) throws -> SSHSignature {
        var webAuthn: SSHSignature.SecurityKeyFields.WebAuthn?
        var messageHash = Digest.hash(.sha256, data)
        if let origin = webAuthnOrigin {
            let client = clientData ?? Self.clientData(challenge: data, origin: origin)
            webAuthn = .init(origin: origin, clientData: client, extensions: extensions)
            messageHash = Digest.hash(.sha256, client)
        }
        let fields = SSHSignature.SecurityKeyFields(flags: flags, counter: counter, webAuthn: webAuthn)
        let signed = SecurityKeyVerifier.signedData(
            application: Array(self.application.utf8),
            fields: fields,
            extensions: webAuthn?.extensions ?? [],
            messageHash: messageHash
        )
        switch self.key {
        case .ed25519(let seed, _):
            return SSHSignature(
                algorithm: SecurityKeyVerifier.ed25519Algorithm,
                rawSignature: try Ed25519.sign(seed: seed, message: signed),
                securityKey: fields
            )
        case .ecdsa(let key):
            let (r, s) = try key.sign(signed)
            var w = SSHWireWriter()
            w.writeMPInt(r)
            w.writeMPInt(s)
            let algorithm =
                webAuthn == nil ? SecurityKeyVerifier.ecdsaAlgorithm : SecurityKeyVerifier.webAuthnAlgorithm
            return SSHSignature(algorithm: algorithm, rawSignature: w.bytes, securityKey: fields)
        }
    }

    /// The fields when `signature` verifies for `data` under this key and `application`.
    package func verify(
        _ signature: SSHSignature,
        _ data: [UInt8],
        application: String? = nil
    ) -> SSHSignature.SecurityKeyFields? {
        let app = Array((application ?? self.application).utf8)
        switch self.key {
        case .ed25519(_, let publicKey):
            return SecurityKeyVerifier.verifyEd25519(
                publicKey: publicKey,
                application: app,
                signature: signature,
                data: data
            )
        case .ecdsa(let key):
            return SecurityKeyVerifier.verifyECDSA(
                publicPoint: key.publicPoint,
                application: app,
                signature: signature,
                data: data
            )
        }
    }
}

extension SecurityKeySigner {
    /// An SSHSIG signature (PROTOCOL.sshsig, SHA-512) of `message` by this authenticator, armoured
    /// as ssh-keygen writes it, with the bytes it signed; `keyBlob` replaces the key in the blob.
    package func sshsig(
        _ message: [UInt8],
        namespace: String,
        flags: UInt8 = 0x01,
        counter: UInt32 = 1,
        webAuthnOrigin: String? = nil,
        keyBlob: [UInt8]? = nil
    ) throws -> (armored: String, signed: [UInt8], signature: SSHSignature) {
        let hash = SSHSIGMessageHash(algorithm: .sha512, message: message)
        var signed = SSHWireWriter()
        signed.writeBytes(Array("SSHSIG".utf8))
        signed.writeString(namespace)
        signed.writeString([UInt8]())
        signed.writeString(hash.algorithm.rawValue)
        signed.writeString(hash.digest)
        let signature = try self.sign(signed.bytes, flags: flags, counter: counter, webAuthnOrigin: webAuthnOrigin)
        var w = SSHWireWriter()
        w.writeBytes(Array("SSHSIG".utf8))
        w.writeUInt32(1)
        w.writeString(keyBlob ?? self.publicKeyBlob)
        w.writeString(namespace)
        w.writeString([UInt8]())
        w.writeString(hash.algorithm.rawValue)
        w.writeString(signature.wireEncoding)
        let armored =
            "-----BEGIN SSH SIGNATURE-----\n" + Base64.encode(w.bytes, lineWidth: 70) + "-----END SSH SIGNATURE-----\n"
        return (armored, signed.bytes, signature)
    }
}
