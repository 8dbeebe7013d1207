/// The NIST curves that SSH uses.
public enum ECCurve: Sendable, Hashable, CaseIterable {
    case p256, p384, p521

    /// The SSH curve identifier: `nistp256`, `nistp384`, `nistp521`.
    public var sshIdentifier: String {
        switch self {
        case .p256: "nistp256"
        case .p384: "nistp384"
        case .p521: "nistp521"
        }
    }
    /// The field size in bits (256, 384, 521).
    public var bits: Int {
        switch self {
        case .p256: 256
        case .p384: 384
        case .p521: 521
        }
    }
    /// The hash ECDSA uses with this curve in SSH (RFC 5656 §6.2.1).
    public var hash: HashFunction {
        switch self {
        case .p256: .sha256
        case .p384: .sha384
        case .p521: .sha512
        }
    }
}

/// An ECDSA key on a NIST curve, public or private, backed by an OpenSSL `EVP_PKEY`.
package final class ECDSAKey: @unchecked Sendable {
    // @unchecked: the wrapped EVP_PKEY is never mutated after construction.

    /// Generates a key on `curve`.
    package static func generate(curve: ECCurve) throws(CryptoError) -> ECDSAKey { fatalError("unimplemented") }
    /// A public key from its uncompressed point (0x04 || X || Y); the point is checked to be on the curve.
    package convenience init(curve: ECCurve, publicPoint: some Collection<UInt8>) throws(CryptoError) { fatalError("unimplemented") }
    /// A private key from its point and scalar; checks that the scalar yields the point.
    package convenience init(curve: ECCurve, publicPoint: some Collection<UInt8>, privateScalar: SecureBytes) throws(CryptoError) { fatalError("unimplemented") }

    /// The curve.
    package var curve: ECCurve { fatalError("unimplemented") }
    /// Whether the key holds the private scalar.
    package var isPrivate: Bool { fatalError("unimplemented") }
    /// The uncompressed public point, 0x04 || X || Y.
    package var publicPoint: [UInt8] { fatalError("unimplemented") }
    /// The private scalar as an unsigned big-endian number without leading zeros, or nil.
    package func privateScalar() -> SecureBytes? { fatalError("unimplemented") }
    /// The public half.
    package var publicKey: ECDSAKey { fatalError("unimplemented") }

    /// Signs `message` hashed with the curve's hash; returns r and s as unsigned
    /// big-endian numbers without leading zeros.
    package func sign(_ message: some Collection<UInt8>) throws(CryptoError) -> (r: [UInt8], s: [UInt8]) { fatalError("unimplemented") }
    /// Whether (r, s) is a valid signature of `message` hashed with the curve's hash.
    package func verify(r: some Collection<UInt8>, s: some Collection<UInt8>, for message: some Collection<UInt8>) -> Bool { fatalError("unimplemented") }
}
