/// X25519 (RFC 7748) through libsodium, for curve25519-sha256 key exchange (RFC 8731).
package enum X25519 {
    /// A new key pair: a 32-byte private scalar and the 32-byte public value.
    package static func generate() -> (privateKey: SecureBytes, publicKey: [UInt8]) { fatalError("unimplemented") }
    /// The 32-byte shared secret X25519(privateKey, peerPublicKey).
    /// - Throws: `.invalidKey` for a peer value that is not 32 bytes or gives an all-zero secret.
    package static func sharedSecret(
        privateKey: SecureBytes,
        peerPublicKey: some Collection<UInt8>
    ) throws(CryptoError) -> SecureBytes { fatalError("unimplemented") }
}

/// An ephemeral ECDH key on a NIST curve (RFC 5656 §4), backed by OpenSSL.
package final class ECDHKey {
    /// Generates a key on `curve`.
    package init(curve: ECCurve) throws(CryptoError) { fatalError("unimplemented") }
    /// The curve.
    package var curve: ECCurve { fatalError("unimplemented") }
    /// Our public point, uncompressed (0x04 || X || Y).
    package var publicPoint: [UInt8] { fatalError("unimplemented") }
    /// The shared secret: the X coordinate of d·Q as a fixed-length big-endian number.
    /// - Throws: `.invalidKey` when `peerPoint` is not an uncompressed point on the curve.
    package func sharedSecret(peerPoint: some Collection<UInt8>) throws(CryptoError) -> SecureBytes {
        fatalError("unimplemented")
    }
}

/// A finite-field Diffie-Hellman group: a safe prime p and generator g.
package final class DHGroup: @unchecked Sendable {
    // @unchecked: immutable after construction.
    /// diffie-hellman-group14 (RFC 3526 §3, 2048-bit MODP, g = 2).
    package static var group14: DHGroup { fatalError("unimplemented") }
    /// diffie-hellman-group16 (RFC 3526 §5, 4096-bit MODP, g = 2).
    package static var group16: DHGroup { fatalError("unimplemented") }
    /// diffie-hellman-group18 (RFC 3526 §7, 8192-bit MODP, g = 2).
    package static var group18: DHGroup { fatalError("unimplemented") }
    /// A group sent by a server in diffie-hellman-group-exchange (RFC 4419).
    /// - Throws: `.invalidParameter` when p is outside 2048...8192 bits, even, or g is not in (1, p-1).
    package init(prime: some Collection<UInt8>, generator: some Collection<UInt8>) throws(CryptoError) {
        fatalError("unimplemented")
    }
    /// p as an unsigned big-endian number.
    package var prime: [UInt8] { fatalError("unimplemented") }
    /// g as an unsigned big-endian number.
    package var generator: [UInt8] { fatalError("unimplemented") }
    /// The size of p in bits.
    package var bits: Int { fatalError("unimplemented") }
}

/// An ephemeral DH key pair in a group.
package final class DHKeyPair {
    /// Picks a random private exponent x (at least twice the group's security strength
    /// in bits, as OpenSSH's dh_gen_key) and computes e = g^x mod p.
    package init(group: DHGroup) throws(CryptoError) { fatalError("unimplemented") }
    /// e = g^x mod p, unsigned big-endian.
    package var publicValue: [UInt8] { fatalError("unimplemented") }
    /// K = f^x mod p, unsigned big-endian without leading zeros.
    /// - Throws: `.invalidKey` unless 1 < f < p-1 (RFC 4253 §8, OpenSSH's dh_pub_is_valid).
    package func sharedSecret(peerPublicValue: some Collection<UInt8>) throws(CryptoError) -> SecureBytes {
        fatalError("unimplemented")
    }
}
