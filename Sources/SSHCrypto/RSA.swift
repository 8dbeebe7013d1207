/// An RSA key, public or private, backed by an OpenSSL `EVP_PKEY`.
///
/// Numbers cross this API as unsigned big-endian byte strings without leading zeros.
package final class RSAKey: @unchecked Sendable {
    // @unchecked: the wrapped EVP_PKEY is never mutated after construction.

    /// Generates a key of `bits` bits with e = 65537.
    /// - Throws: `.invalidParameter` outside 1024...16384.
    package static func generate(bits: Int) throws(CryptoError) -> RSAKey { fatalError("unimplemented") }

    /// A public key from its modulus and exponent.
    package convenience init(n: some Collection<UInt8>, e: some Collection<UInt8>) throws(CryptoError) { fatalError("unimplemented") }

    /// A private key from the components that OpenSSH stores (CRT exponents are derived).
    /// Checks the key's consistency.
    package convenience init(n: some Collection<UInt8>, e: some Collection<UInt8>, d: SecureBytes, iqmp: SecureBytes, p: SecureBytes, q: SecureBytes) throws(CryptoError) { fatalError("unimplemented") }

    /// Whether the key holds private components.
    package var isPrivate: Bool { fatalError("unimplemented") }
    /// The modulus size in bits.
    package var bits: Int { fatalError("unimplemented") }
    /// The modulus.
    package var n: [UInt8] { fatalError("unimplemented") }
    /// The public exponent.
    package var e: [UInt8] { fatalError("unimplemented") }
    /// The private components (d, iqmp = q⁻¹ mod p, p, q), or nil for a public key.
    package func privateComponents() -> (d: SecureBytes, iqmp: SecureBytes, p: SecureBytes, q: SecureBytes)? { fatalError("unimplemented") }
    /// The public half.
    package var publicKey: RSAKey { fatalError("unimplemented") }

    /// A PKCS#1 v1.5 signature of `message` hashed with `hash` (sha1, sha256 or sha512),
    /// as long as the modulus.
    package func sign(_ message: some Collection<UInt8>, hash: HashFunction) throws(CryptoError) -> [UInt8] { fatalError("unimplemented") }
    /// Whether `signature` is a valid PKCS#1 v1.5 signature of `message`.
    package func verify(_ signature: some Collection<UInt8>, for message: some Collection<UInt8>, hash: HashFunction) -> Bool { fatalError("unimplemented") }
}
