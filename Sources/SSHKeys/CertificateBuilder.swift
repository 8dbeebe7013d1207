import SSHCrypto

/// The fields of a certificate to be signed, and the signing, as ssh-keygen's `do_ca_sign`
/// and sshkey.c `sshkey_certify_custom` make a certificate (PROTOCOL.certkeys).
///
/// The encoding, in order:
///
///     string    "<type>-cert-v01@openssh.com"
///     string    nonce (32 random bytes)
///     ...       the certified key's public fields, after its type name
///     uint64    serial
///     uint32    type (1 user, 2 host)
///     string    key id
///     string    valid principals (a string per principal)
///     uint64    valid after
///     uint64    valid before
///     string    critical options (name string, data string pairs)
///     string    extensions (likewise)
///     string    reserved (empty)
///     string    signature key (the CA's public key blob)
///     string    signature (over everything above)
public struct CertificateBuilder: Sendable {
    /// The key to certify: any plain key type but DSA.
    public let key: SSHPublicKey
    public var kind: SSHCertificate.Kind = .user
    public var serial: UInt64 = 0
    public var keyID: String
    /// The principals; empty means the certificate is valid for any.
    public var principals: [String] = []
    /// Seconds since the epoch; 0 and `UInt64.max` are "always" and "forever".
    public var validAfter: UInt64 = 0
    public var validBefore: UInt64 = .max
    /// In the order they are encoded; ``CertificateOptions`` gives them in ssh-keygen's order.
    public var criticalOptions: [SSHCertificate.Field] = []
    public var extensions: [SSHCertificate.Field] = []

    /// The size of the nonce ssh-keygen writes.
    public static let nonceCount = 32

    /// Starts a certificate of `key` with the given key ID.
    ///
    /// - Throws: `SSHKeyError` (`.unsupported`) for a certificate or a DSA key, which
    ///   keysmith does not certify.
    public init(key: SSHPublicKey, keyID: String) throws(SSHKeyError) {
        guard !key.type.isCertificate else {
            throw SSHKeyError(
                .unsupported,
                "a \(key.type.sshName) key is already a certificate and cannot be certified"
            )
        }
        guard key.type != .dsa else {
            throw SSHKeyError(.unsupported, "DSA keys cannot be certified: OpenSSH no longer accepts them")
        }
        self.key = key
        self.keyID = keyID
    }

    /// Everything the CA signs, for the given nonce and CA key (sshkey_certify_custom).
    ///
    /// - Throws: `SSHKeyError` for a principal that is empty or holds a NUL byte, more than
    ///   256 principals, a key ID with a NUL byte, or a CA key that cannot sign certificates.
    public func signedData(nonce: [UInt8], caKey: SSHPublicKey) throws(SSHKeyError) -> [UInt8] {
        try Self.checkCAKey(caKey)
        guard self.principals.count <= SSHCertificate.maximumPrincipals else {
            throw SSHKeyError(
                .invalidParameter,
                "too many principals: a certificate names at most \(SSHCertificate.maximumPrincipals)"
            )
        }
        for principal in self.principals {
            guard !principal.isEmpty else { throw SSHKeyError(.invalidParameter, "a principal name is empty") }
            guard !principal.utf8.contains(0) else {
                throw SSHKeyError(.invalidParameter, "a principal name holds a NUL byte")
            }
        }
        guard !self.keyID.utf8.contains(0) else {
            throw SSHKeyError(.invalidParameter, "the key ID holds a NUL byte")
        }
        var w = SSHWireWriter(capacity: 1024)
        w.writeString(SSHKeyType.certificate(self.key.type).sshName)
        w.writeString(nonce)
        // The certified key's fields: its blob after the type name.
        var r = SSHWireReader(self.key.wireBlob)
        _ = try r.readString()
        w.writeBytes(r.bytes)
        Self.writeUInt64(self.serial, to: &w)
        w.writeUInt32(self.kind.rawValue)
        w.writeString(self.keyID)
        var principals = SSHWireWriter()
        for principal in self.principals { principals.writeString(principal) }
        w.writeString(principals.bytes)
        Self.writeUInt64(self.validAfter, to: &w)
        Self.writeUInt64(self.validBefore, to: &w)
        w.writeString(Self.encode(self.criticalOptions))
        w.writeString(Self.encode(self.extensions))
        w.writeString([UInt8]())  // reserved
        w.writeString(caKey.wireBlob)
        return w.bytes
    }

    /// Signs the certificate with `signer` (the CA) and returns it, read back as OpenSSH
    /// reads it (so the CA signature has been verified).
    ///
    /// - Parameters:
    ///   - signer: the CA key's signer; its public key becomes the signature key.
    ///   - algorithm: the signature algorithm the signer must have used, when one was asked
    ///     for (ssh-keygen `-t`); the signature is refused when it differs.
    ///   - nonce: the nonce; 32 random bytes unless given (tests give one).
    /// - Throws: `SSHKeyError` as ``signedData(nonce:caKey:)``, or when signing fails.
    public func sign(
        with signer: SSHKeySigner,
        algorithm: String? = nil,
        nonce: [UInt8]? = nil
    ) throws(SSHKeyError) -> SSHPublicKey {
        let nonce = nonce ?? SecureRandom.bytes(Self.nonceCount)
        let tbs = try self.signedData(nonce: nonce, caKey: signer.publicKey)
        let signature = try signer.sign(tbs)
        if let algorithm, signature.algorithm != algorithm {
            throw SSHKeyError(
                .unsupported,
                "the CA signed with \(signature.algorithm), not the \(algorithm) that was asked for"
            )
        }
        var w = SSHWireWriter(capacity: tbs.count + 512)
        w.writeBytes(tbs)
        w.writeString(signature.wireEncoding)
        do throws(SSHKeyError) {
            return try SSHPublicKey(wireBlob: w.bytes)
        } catch {
            throw SSHKeyError(.cryptoFailure, "the certificate just signed does not verify: \(error.message)")
        }
    }

    /// The signature algorithm ssh-keygen signs a certificate with for `caKey`: `requested`
    /// (`-t`) when it is an algorithm of the CA's key type, else the key's own algorithm
    /// (rsa-sha2-512 for RSA).
    ///
    /// - Throws: `SSHKeyError` (`.invalidParameter`) when `requested` is no algorithm of
    ///   the CA key's type, or the CA key cannot sign certificates.
    public static func signatureAlgorithm(
        for caKey: SSHPublicKey,
        requested: String?
    ) throws(SSHKeyError) -> String {
        try checkCAKey(caKey)
        let allowed = caKey.type == .rsa ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [caKey.type.sshName]
        guard let requested else { return allowed[0] }
        guard allowed.contains(requested) else {
            throw SSHKeyError(
                .invalidParameter,
                "the CA key is \(caKey.type.sshName), which cannot sign with \(requested) (use "
                    + allowed.joined(separator: " or ") + ")"
            )
        }
        return requested
    }

    /// sshkey_type_is_valid_ca: a plain key, and not DSA (which keysmith never uses).
    private static func checkCAKey(_ caKey: SSHPublicKey) throws(SSHKeyError) {
        guard !caKey.type.isCertificate else {
            throw SSHKeyError(.unsupported, "a certificate cannot be a certificate authority; use the CA's own key")
        }
        guard caKey.type != .dsa else {
            throw SSHKeyError(.unsupported, "a DSA key cannot sign certificates: OpenSSH no longer accepts DSA")
        }
    }

    private static func writeUInt64(_ v: UInt64, to w: inout SSHWireWriter) {
        w.writeUInt32(UInt32(truncatingIfNeeded: v >> 32))
        w.writeUInt32(UInt32(truncatingIfNeeded: v))
    }

    /// A section of name/data pairs.
    private static func encode(_ fields: [SSHCertificate.Field]) -> [UInt8] {
        var w = SSHWireWriter()
        for field in fields {
            w.writeString(field.name)
            w.writeString(field.data)
        }
        return w.bytes
    }
}

extension SSHKeySigner {
    /// A signer over a CA's private key in memory that signs with `algorithm`
    /// (``CertificateBuilder/signatureAlgorithm(for:requested:)``): for RSA `rsa-sha2-512`,
    /// `rsa-sha2-256` or `ssh-rsa` (SHA-1, as ssh-keygen `-t ssh-rsa` still signs).
    ///
    /// - Throws: `SSHKeyError` when `algorithm` is not one of the key's, or the key is a
    ///   security key (its authenticator signs; see ``init(publicKey:sign:)``).
    public init(certificateAuthority key: SSHPrivateKey, algorithm: String) throws(SSHKeyError) {
        guard key.securityKey == nil else {
            throw SSHKeyError(.unsupported, "a security key signs on its authenticator, not in memory")
        }
        let checked = try CertificateBuilder.signatureAlgorithm(for: key.publicKey, requested: algorithm)
        switch (key.backing, checked) {
        case (.rsa(let rsa), "ssh-rsa"):
            self.init(publicKey: key.publicKey) { (data) throws(SSHKeyError) in
                let sig = try wrapCrypto("signing") { () throws(CryptoError) in try rsa.sign(data, hash: .sha1) }
                return SSHSignature(algorithm: "ssh-rsa", rawSignature: sig)
            }
        case (_, "rsa-sha2-256"):
            self.init(publicKey: key.publicKey) { (data) throws(SSHKeyError) in
                try key.signature(for: data, rsaHash: .sha256)
            }
        default:
            self.init(key)
        }
    }
}
