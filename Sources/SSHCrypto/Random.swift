/// Randomness from the operating system's CSPRNG (libsodium's `randombytes_buf`).
package enum SecureRandom {
    /// `count` random bytes.
    package static func bytes(_ count: Int) -> [UInt8] { fatalError("unimplemented") }
    /// A random `UInt32`.
    package static func uint32() -> UInt32 { fatalError("unimplemented") }
    /// Fills `secret` with random bytes.
    package static func fill(_ secret: SecureBytes) { fatalError("unimplemented") }
}
