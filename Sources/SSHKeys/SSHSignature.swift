import SSHCrypto

/// A signature in SSH wire form: an algorithm name and the signature bytes (RFC 4253 §6.6),
/// followed for a security key by what the authenticator asserted (PROTOCOL.u2f).
public struct SSHSignature: Sendable, Hashable {
    /// The signature algorithm: `ssh-ed25519`, `rsa-sha2-256`, `rsa-sha2-512`, `ssh-rsa`, `ecdsa-sha2-*`,
    /// `sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com` or
    /// `webauthn-sk-ecdsa-sha2-nistp256@openssh.com`.
    public let algorithm: String
    /// The algorithm-specific bytes (for ECDSA: mpint r, mpint s).
    public let rawSignature: [UInt8]
    /// The authenticator's flags and counter (and WebAuthn fields) of a security key signature;
    /// nil for every other algorithm.
    public let securityKey: SecurityKeyFields?

    /// A signature; a security key signature (`algorithm` one of ``securityKeyAlgorithms``)
    /// carries its authenticator's fields in `securityKey`.
    public init(algorithm: String, rawSignature: [UInt8], securityKey: SecurityKeyFields? = nil) {
        self.algorithm = algorithm
        self.rawSignature = rawSignature
        self.securityKey = securityKey
    }

    /// The algorithms whose signatures carry ``SecurityKeyFields``.
    public static let securityKeyAlgorithms = [
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    ]
    static let webAuthnAlgorithm = "webauthn-sk-ecdsa-sha2-nistp256@openssh.com"

    /// `string algorithm, string signature`; for a security key then `byte flags, uint32 counter`,
    /// and for WebAuthn `string origin, string clientData, string extensions` (PROTOCOL.u2f).
    public var wireEncoding: [UInt8] {
        var w = SSHWireWriter()
        w.writeString(self.algorithm)
        w.writeString(self.rawSignature)
        if let sk = self.securityKey {
            w.writeByte(sk.flags)
            w.writeUInt32(sk.counter)
            if let webAuthn = sk.webAuthn {
                w.writeString(webAuthn.origin)
                w.writeString(webAuthn.clientData)
                w.writeString(webAuthn.extensions)
            }
        }
        return w.bytes
    }

    /// Decodes ``wireEncoding`` with nothing after it.
    /// - Throws: `SSHKeyError` when a field is missing (a security key signature without its
    ///   flags or counter), or bytes follow the last field.
    public init(wireEncoding: some Collection<UInt8>) throws(SSHKeyError) {
        var r = SSHWireReader(Array(wireEncoding))
        self.algorithm = try r.readUTF8()
        self.rawSignature = Array(try r.readString())
        if Self.securityKeyAlgorithms.contains(self.algorithm) {
            // ssh-ed25519-sk.c / ssh-ecdsa-sk.c: sshbuf_get_u8 flags, sshbuf_get_u32 counter.
            let flags = try r.readByte()
            let counter = try r.readUInt32()
            var webAuthn: SecurityKeyFields.WebAuthn?
            if self.algorithm == Self.webAuthnAlgorithm {
                // The origin is read with sshbuf_get_cstring: no NUL inside.
                let origin = try r.readUTF8()
                guard !origin.utf8.contains(0) else {
                    throw SSHKeyError(.invalidFormat, "the WebAuthn origin contains a NUL byte")
                }
                webAuthn = .init(
                    origin: origin,
                    clientData: Array(try r.readString()),
                    extensions: Array(try r.readString())
                )
            }
            self.securityKey = SecurityKeyFields(flags: flags, counter: counter, webAuthn: webAuthn)
        } else {
            self.securityKey = nil
        }
        try r.expectEnd("the signature")
    }
}

extension SSHSignature {
    /// What a FIDO authenticator adds to its signature (PROTOCOL.u2f): flags, a counter, and for
    /// WebAuthn signatures the origin, the client data it hashed and its extensions.
    public struct SecurityKeyFields: Sendable, Hashable {
        /// The authenticator data flags: bit 0 user presence, bit 2 user verification,
        /// bit 6 attested data, bit 7 extension data.
        public var flags: UInt8
        /// The authenticator's signature counter.
        public var counter: UInt32
        /// The WebAuthn fields of a `webauthn-sk-ecdsa-sha2-nistp256@openssh.com` signature.
        public var webAuthn: WebAuthn?

        /// SSH_SK_USER_PRESENCE_REQD: the user touched the authenticator.
        public static let userPresenceFlag: UInt8 = 0x01
        /// SSH_SK_USER_VERIFICATION_REQD: the authenticator verified the user (PIN or biometric).
        public static let userVerificationFlag: UInt8 = 0x04

        public init(flags: UInt8, counter: UInt32, webAuthn: WebAuthn? = nil) {
            self.flags = flags
            self.counter = counter
            self.webAuthn = webAuthn
        }

        /// Whether the user presence flag is set.
        public var isUserPresent: Bool { self.flags & Self.userPresenceFlag != 0 }
        /// Whether the user verification flag is set.
        public var isUserVerified: Bool { self.flags & Self.userVerificationFlag != 0 }

        /// The WebAuthn fields: `string origin, string clientData, string extensions`.
        public struct WebAuthn: Sendable, Hashable {
            /// The origin the browser reported.
            public var origin: String
            /// The clientData JSON whose SHA-256 the authenticator signed.
            public var clientData: [UInt8]
            /// The authenticator extensions, signed as they are.
            public var extensions: [UInt8]

            public init(origin: String, clientData: [UInt8], extensions: [UInt8]) {
                self.origin = origin
                self.clientData = clientData
                self.extensions = extensions
            }
        }
    }
}

/// The hash an RSA signature uses.
public enum RSASignatureHash: Sendable {
    /// `rsa-sha2-256`.
    case sha256
    /// `rsa-sha2-512`.
    case sha512

    var algorithmName: String { self == .sha256 ? "rsa-sha2-256" : "rsa-sha2-512" }
    var hash: HashFunction { self == .sha256 ? .sha256 : .sha512 }
}

extension SSHPrivateKey {
    /// Signs `data`: Ed25519, ECDSA with its curve's hash, RSA with `rsaHash` (rsa-sha2-512 by default).
    public func signature(
        for data: some Collection<UInt8>,
        rsaHash: RSASignatureHash = .sha512
    ) throws(SSHKeyError) -> SSHSignature {
        switch self.backing {
        case .ed25519(let seed, _):
            let sig = try wrapCrypto("signing") { () throws(CryptoError) in try Ed25519.sign(seed: seed, message: data)
            }
            return SSHSignature(algorithm: "ssh-ed25519", rawSignature: sig)
        case .rsa(let key):
            let sig = try wrapCrypto("signing") { () throws(CryptoError) in try key.sign(data, hash: rsaHash.hash) }
            return SSHSignature(algorithm: rsaHash.algorithmName, rawSignature: sig)
        case .ecdsa(let key):
            let (r, s) = try wrapCrypto("signing") { () throws(CryptoError) in try key.sign(data) }
            var w = SSHWireWriter()
            w.writeMPInt(r)
            w.writeMPInt(s)
            return SSHSignature(algorithm: self.type.sshName, rawSignature: w.bytes)
        case .skEd25519, .skECDSA:
            throw SSHKeyError(
                .unsupported,
                "\(self.type.displayName) keys sign only on their security key, through a FIDO provider"
            )
        }
    }
}

/// What a valid signature proved beyond the key: for a security key, the flags and counter
/// its authenticator signed, so that a caller can apply a ``SecurityKeyPolicy``.
public struct SSHSignatureVerification: Sendable, Hashable {
    /// The authenticator's fields of a security key signature; nil for other keys.
    public let securityKey: SSHSignature.SecurityKeyFields?

    public init(securityKey: SSHSignature.SecurityKeyFields?) { self.securityKey = securityKey }
}

extension SSHPublicKey {
    /// Whether `signature` is a valid signature of `data` by this key. RSA accepts
    /// rsa-sha2-256, rsa-sha2-512 and (for old peers) ssh-rsa with SHA-1.
    public func isValidSignature(_ signature: SSHSignature, for data: some Collection<UInt8>) -> Bool {
        self.verify(signature, for: data) != nil
    }

    /// Checks `signature` over `data` as ``isValidSignature(_:for:)`` does; for a valid one,
    /// returns what it proved (a security key's flags and counter), nil otherwise.
    public func verify(_ signature: SSHSignature, for data: some Collection<UInt8>) -> SSHSignatureVerification? {
        switch self.backing {
        case .skEd25519(let publicKey, let application):
            return SecurityKeyVerifier.verifyEd25519(
                publicKey: publicKey,
                application: application,
                signature: signature,
                data: data
            ).map(SSHSignatureVerification.init(securityKey:))
        case .skECDSA(let key, let application):
            return SecurityKeyVerifier.verifyECDSA(
                key: key,
                application: application,
                signature: signature,
                data: data
            ).map(SSHSignatureVerification.init(securityKey:))
        case .certificate(let certificate):
            // A certificate signs as the key it certifies.
            return certificate.key.verify(signature, for: data)
        case .ed25519, .rsa, .ecdsa, .dsa:
            return self.isValidPlainSignature(signature, for: data) ? SSHSignatureVerification(securityKey: nil) : nil
        }
    }

    private func isValidPlainSignature(_ signature: SSHSignature, for data: some Collection<UInt8>) -> Bool {
        switch self.backing {
        case .ed25519(let pk):
            guard signature.algorithm == "ssh-ed25519", signature.rawSignature.count == 64 else { return false }
            return Ed25519.verify(publicKey: pk, signature: signature.rawSignature, message: data)
        case .rsa(let key):
            let hash: HashFunction
            switch signature.algorithm {
            case "rsa-sha2-256": hash = .sha256
            case "rsa-sha2-512": hash = .sha512
            case "ssh-rsa": hash = .sha1
            default: return false
            }
            return key.verify(signature.rawSignature, for: data, hash: hash)
        case .ecdsa(let key):
            guard signature.algorithm == self.type.sshName else { return false }
            var r = SSHWireReader(signature.rawSignature)
            guard let rr = try? r.readPositiveMPInt(), let ss = try? r.readPositiveMPInt(), r.isAtEnd else {
                return false
            }
            return key.verify(r: rr, s: ss, for: data)
        case .skEd25519, .skECDSA, .certificate, .dsa:
            return false
        }
    }
}
