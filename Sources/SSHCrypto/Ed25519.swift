/// Ed25519 (RFC 8032) through libsodium.
package enum Ed25519 {
    /// A new key pair: the 32-byte seed and the 32-byte public key.
    package static func generate() -> (seed: SecureBytes, publicKey: [UInt8]) { fatalError("unimplemented") }
    /// The public key of a 32-byte seed.
    package static func publicKey(seed: SecureBytes) throws(CryptoError) -> [UInt8] { fatalError("unimplemented") }
    /// A 64-byte signature of `message`.
    package static func sign(seed: SecureBytes, message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] { fatalError("unimplemented") }
    /// Whether `signature` is valid for `message` under `publicKey`.
    package static func verify(publicKey: some Collection<UInt8>, signature: some Collection<UInt8>, message: some Collection<UInt8>) -> Bool { fatalError("unimplemented") }
}
