package import SSHCrypto

/// An SSH private key: Ed25519, RSA or ECDSA, or a security key's credential
/// (sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com), with its comment.
///
/// Not `Hashable`, `Codable` or printable: ``description`` names the algorithm only.
public struct SSHPrivateKey: Sendable, CustomStringConvertible {
    package enum Backing: Sendable {
        /// The 32-byte seed (RFC 8032's private key) and the public key.
        case ed25519(seed: SecureBytes, publicKey: [UInt8])
        case rsa(RSAKey)
        case ecdsa(ECDSAKey)
        /// A security key: its Ed25519 public key and what the file keeps for the authenticator.
        case skEd25519(publicKey: [UInt8], SecurityKeyCredential)
        /// A security key: its P-256 public key and what the file keeps for the authenticator.
        case skECDSA(ECDSAKey, SecurityKeyCredential)
    }

    package let backing: Backing
    /// The public half.
    public let publicKey: SSHPublicKey
    /// The comment stored with the key (often `user@host`).
    public var comment: String

    package init(backing: Backing, comment: String) {
        self.backing = backing
        self.comment = comment
        switch backing {
        case .ed25519(_, let pk): self.publicKey = SSHPublicKey(backing: .ed25519(pk))
        case .rsa(let key): self.publicKey = SSHPublicKey(backing: .rsa(key.publicKey))
        case .ecdsa(let key): self.publicKey = SSHPublicKey(backing: .ecdsa(key.publicKey))
        case .skEd25519(let pk, let credential):
            self.publicKey = SSHPublicKey(backing: .skEd25519(publicKey: pk, application: credential.application))
        case .skECDSA(let key, let credential):
            self.publicKey = SSHPublicKey(backing: .skECDSA(key, application: credential.application))
        }
    }

    /// A security key's private key: its public key (an sk type) and the credential the
    /// authenticator returned for it.
    ///
    /// - Throws: `.invalidParameter` when `publicKey` is not a security key's, or its
    ///   application differs from the credential's.
    public init(
        securityKey publicKey: SSHPublicKey,
        credential: SecurityKeyCredential,
        comment: String = ""
    ) throws(SSHKeyError) {
        switch publicKey.backing {
        case .skEd25519(let pk, let application) where application == credential.application:
            self.init(backing: .skEd25519(publicKey: pk, credential), comment: comment)
        case .skECDSA(let key, let application) where application == credential.application:
            self.init(backing: .skECDSA(key, credential), comment: comment)
        default:
            throw SSHKeyError(
                .invalidParameter,
                "a security key needs an sk public key with the credential's application"
            )
        }
    }

    /// A security key's private key from what its authenticator answered at enrolment.
    ///
    /// - Parameters:
    ///   - type: `.skEd25519` or `.skECDSA`.
    ///   - publicKey: the 32-byte Ed25519 key, or the 65-byte uncompressed P-256 point.
    ///   - credential: the application, flags and key handle to keep.
    ///   - comment: the comment to store with the key.
    /// - Throws: `.invalidParameter` for another type, `.invalidFormat` for a bad public key.
    public init(
        securityKey type: SSHKeyType,
        publicKey: [UInt8],
        credential: SecurityKeyCredential,
        comment: String = ""
    ) throws(SSHKeyError) {
        switch type {
        case .skEd25519:
            guard publicKey.count == 32 else {
                throw SSHKeyError(.invalidFormat, "an Ed25519 public key must be 32 bytes")
            }
            self.init(backing: .skEd25519(publicKey: publicKey, credential), comment: comment)
        case .skECDSA:
            let key = try wrapCrypto("reading the ECDSA-SK public key") { () throws(CryptoError) in
                try ECDSAKey(curve: .p256, publicPoint: publicKey)
            }
            self.init(backing: .skECDSA(key, credential), comment: comment)
        default:
            throw SSHKeyError(.invalidParameter, "\(type.sshName) is not a security key type")
        }
    }

    /// What the file keeps for the authenticator, for a security key; nil for other keys.
    public var securityKey: SecurityKeyCredential? {
        switch self.backing {
        case .skEd25519(_, let credential), .skECDSA(_, let credential): credential
        case .ed25519, .rsa, .ecdsa: nil
        }
    }

    /// The default RSA modulus size, as ssh-keygen's.
    public static let defaultRSABits = 3072

    /// Generates a new key.
    ///
    /// - Parameters:
    ///   - type: the key type; for ECDSA the curve.
    ///   - rsaBits: the modulus size for RSA keys, 1024...16384.
    ///   - comment: the comment to store with the key.
    /// - Throws: `SSHKeyError` with `.invalidParameter` for an RSA size out of range.
    public init(
        generating type: SSHKeyType,
        rsaBits: Int = SSHPrivateKey.defaultRSABits,
        comment: String = ""
    ) throws(SSHKeyError) {
        switch type {
        case .ed25519:
            let (seed, pk) = Ed25519.generate()
            self.init(backing: .ed25519(seed: seed, publicKey: pk), comment: comment)
        case .rsa:
            try SSHPublicKey.checkRSABits(rsaBits)
            let key = try wrapCrypto("generating the RSA key") { () throws(CryptoError) in
                try RSAKey.generate(bits: rsaBits)
            }
            self.init(backing: .rsa(key), comment: comment)
        case .ecdsa(let curve):
            let key = try wrapCrypto("generating the ECDSA key") { () throws(CryptoError) in
                try ECDSAKey.generate(curve: curve)
            }
            self.init(backing: .ecdsa(key), comment: comment)
        case .skEd25519, .skECDSA:
            throw SSHKeyError(.unsupported, "\(type.sshName) keys are made by a security key, not from software")
        case .dsa:
            throw SSHKeyError(.unsupported, "DSA keys are not generated: OpenSSH no longer accepts them")
        case .certificate:
            throw SSHKeyError(.unsupported, "certificates are signed by a certificate authority, not generated")
        }
    }

    /// The key type.
    public var type: SSHKeyType { self.publicKey.type }

    public var description: String { "SSHPrivateKey(\(self.type.sshName))" }

    /// The key's private fields as OpenSSH serialises them in key files and to agents
    /// (sshkey_private_serialize): the type name, then per type
    /// - ssh-ed25519: string pk, string seed||pk
    /// - ssh-rsa: mpint n, e, d, iqmp, p, q
    /// - ecdsa-sha2-*: string curve, string Q, mpint d
    /// - sk-ssh-ed25519@openssh.com: string pk, string application, byte flags,
    ///   string key_handle, string reserved
    /// - sk-ecdsa-sha2-nistp256@openssh.com: string curve, string Q, and the same four
    package func writePrivateFields(to w: inout SSHWireWriter) {
        w.writeString(self.type.sshName)
        self.writePrivateBody(certified: false, to: &w)
    }

    /// The key certified by `certificate` as sshkey_private_serialize writes it for an agent:
    /// the certificate's type name, string certificate, then the private fields less the
    /// public ones the certificate already holds (OpenSSH 9.x's serialize_private functions):
    /// - ssh-ed25519: string pk, string seed||pk (Ed25519 keeps its public key)
    /// - ssh-rsa: mpint d, iqmp, p, q
    /// - ecdsa-sha2-*: mpint d
    /// - sk-ssh-ed25519@openssh.com: string pk, then the security key's four fields
    /// - sk-ecdsa-sha2-nistp256@openssh.com: the security key's four fields
    /// - Precondition: `certificate.key` is this key's public key.
    package func writePrivateFields(certifiedBy certificate: SSHCertificate, to w: inout SSHWireWriter) {
        w.writeString(SSHKeyType.certificate(self.type).sshName)
        w.writeString(certificate.blob)
        self.writePrivateBody(certified: true, to: &w)
    }

    /// The fields after the type name (and certificate); a certified key leaves out the
    /// public fields the certificate holds, but for Ed25519's.
    private func writePrivateBody(certified: Bool, to w: inout SSHWireWriter) {
        switch self.backing {
        case .ed25519(let seed, let pk):
            w.writeString(pk)
            w.writeUInt32(64)
            seed.withUnsafeBytes { w.writeBytes($0) }
            w.writeBytes(pk)
        case .rsa(let key):
            // A private RSAKey always has its components.
            let c = key.privateComponents()!
            if !certified {
                w.writeMPInt(key.n)
                w.writeMPInt(key.e)
            }
            w.writeMPInt(c.d)
            w.writeMPInt(c.iqmp)
            w.writeMPInt(c.p)
            w.writeMPInt(c.q)
        case .ecdsa(let key):
            if !certified {
                w.writeString(key.curve.sshIdentifier)
                w.writeString(key.publicPoint)
            }
            w.writeMPInt(key.privateScalar()!)
        case .skEd25519(let pk, let credential):
            w.writeString(pk)
            credential.write(to: &w)
        case .skECDSA(let key, let credential):
            if !certified {
                w.writeString(key.curve.sshIdentifier)
                w.writeString(key.publicPoint)
            }
            credential.write(to: &w)
        }
    }

    /// Reads the private fields written by ``writePrivateFields(to:)`` and checks
    /// that the private half yields the public half.
    package static func readPrivateFields(
        from r: inout SSHWireReader,
        comment: String = ""
    ) throws(SSHKeyError) -> SSHPrivateKey {
        let name = try r.readString()
        guard let type = SSHKeyType(sshName: name) else {
            throw SSHKeyError(.unsupported, "unsupported key type \"\(printable(name))\"")
        }
        switch type {
        case .ed25519:
            let pk = try r.readString()
            let sk = try r.readString()
            guard pk.count == 32, sk.count == 64 else {
                throw SSHKeyError(.invalidFormat, "the Ed25519 private key has the wrong length")
            }
            let seed = SecureBytes(sk.prefix(32))
            let derived = try wrapCrypto("reading the Ed25519 key") { () throws(CryptoError) in
                try Ed25519.publicKey(seed: seed)
            }
            guard derived.elementsEqual(pk), sk.suffix(32).elementsEqual(pk) else {
                throw SSHKeyError(.keyMismatch, "the Ed25519 private key does not match its public key")
            }
            return SSHPrivateKey(backing: .ed25519(seed: seed, publicKey: Array(pk)), comment: comment)
        case .rsa:
            let n = try r.readPositiveMPInt()
            let e = try r.readPositiveMPInt()
            let d = SecureBytes(try r.readPositiveMPInt())
            let iqmp = SecureBytes(try r.readPositiveMPInt())
            let p = SecureBytes(try r.readPositiveMPInt())
            let q = SecureBytes(try r.readPositiveMPInt())
            let key: RSAKey
            do {
                key = try RSAKey(n: n, e: e, d: d, iqmp: iqmp, p: p, q: q)
            } catch {
                throw SSHKeyError(.keyMismatch, "the RSA private key is inconsistent: \(error.message)")
            }
            try SSHPublicKey.checkRSABits(key.bits)
            return SSHPrivateKey(backing: .rsa(key), comment: comment)
        case .ecdsa(let curve):
            let id = try r.readString()
            guard id.elementsEqual(curve.sshIdentifier.utf8) else {
                throw SSHKeyError(.invalidFormat, "the ECDSA curve does not match the key type")
            }
            let q = try r.readString()
            let d = SecureBytes(try r.readPositiveMPInt())
            let key: ECDSAKey
            do {
                key = try ECDSAKey(curve: curve, publicPoint: q, privateScalar: d)
            } catch {
                throw SSHKeyError(.keyMismatch, "the ECDSA private key is inconsistent: \(error.message)")
            }
            return SSHPrivateKey(backing: .ecdsa(key), comment: comment)
        case .skEd25519:
            // ssh-ed25519-sk.c: the Ed25519 public key, then sshkey_private_deserialize_sk.
            let pk = try r.readString()
            guard pk.count == 32 else {
                throw SSHKeyError(.invalidFormat, "an Ed25519 public key must be 32 bytes")
            }
            let credential = try SecurityKeyCredential.read(from: &r)
            return SSHPrivateKey(backing: .skEd25519(publicKey: Array(pk), credential), comment: comment)
        case .skECDSA:
            // ssh-ecdsa-sk.c: the ECDSA public key (nistp256 only), then sshkey_private_deserialize_sk.
            let id = try r.readString()
            guard id.elementsEqual(ECCurve.p256.sshIdentifier.utf8) else {
                throw SSHKeyError(.invalidFormat, "the ECDSA curve does not match the key type")
            }
            let q = try r.readString()
            let key: ECDSAKey
            do {
                key = try ECDSAKey(curve: .p256, publicPoint: q)
            } catch {
                throw SSHKeyError(.invalidFormat, "the ECDSA-SK public key is invalid: \(error.message)")
            }
            let credential = try SecurityKeyCredential.read(from: &r)
            return SSHPrivateKey(backing: .skECDSA(key, credential), comment: comment)
        case .dsa, .certificate:
            throw SSHKeyError(.unsupported, "\(type.sshName) private keys are not supported")
        }
    }
}

/// Runs a crypto call and turns its error into an `SSHKeyError` naming `what`.
package func wrapCrypto<T>(_ what: String, _ body: () throws(CryptoError) -> T) throws(SSHKeyError) -> T {
    do {
        return try body()
    } catch {
        let code: SSHKeyError.Code =
            switch error.code {
            case .invalidParameter: .invalidParameter
            case .unsupported: .unsupported
            case .passphraseRequired: .passphraseRequired
            case .decryptionFailed: .wrongPassphrase
            case .invalidKey, .malformedInput: .invalidFormat
            default: .cryptoFailure
            }
        throw SSHKeyError(code, "\(what) failed: \(error.message)")
    }
}
