/// Something that signs as a key: a private key in memory, or a security key whose
/// authenticator signs (the caller supplies that through a provider).
public struct SSHKeySigner: Sendable {
    /// The key the signatures verify under.
    public let publicKey: SSHPublicKey
    private let body: @Sendable (_ data: [UInt8]) throws(SSHKeyError) -> SSHSignature

    /// A signer that calls `sign` for each signature.
    ///
    /// - Parameters:
    ///   - publicKey: the key the signatures verify under.
    ///   - sign: makes a signature of `data` in the key's algorithm (RSA: rsa-sha2-512).
    public init(
        publicKey: SSHPublicKey,
        sign: @escaping @Sendable (_ data: [UInt8]) throws(SSHKeyError) -> SSHSignature
    ) {
        self.publicKey = publicKey
        self.body = sign
    }

    /// A signer over a private key in memory; RSA signs with rsa-sha2-512.
    public init(_ key: SSHPrivateKey) {
        self.init(publicKey: key.publicKey) { (data) throws(SSHKeyError) in
            try key.signature(for: data, rsaHash: .sha512)
        }
    }

    /// Signs `data`.
    public func sign(_ data: [UInt8]) throws(SSHKeyError) -> SSHSignature { try self.body(data) }
}
