internal import CSodium

/// Randomness from the operating system's CSPRNG (libsodium's `randombytes_buf`).
package enum SecureRandom {
    /// libsodium must be initialised before use; a static's initialiser runs once, thread-safely.
    private static let sodiumIsReady: Bool = sodium_init() >= 0

    /// `count` random bytes.
    package static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0)
        precondition(Self.sodiumIsReady, "libsodium failed to initialise")
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 {
            out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        }
        return out
    }

    /// A random `UInt32`.
    package static func uint32() -> UInt32 {
        precondition(Self.sodiumIsReady, "libsodium failed to initialise")
        return randombytes_random()
    }

    /// Fills `secret` with random bytes.
    package static func fill(_ secret: SecureBytes) {
        precondition(Self.sodiumIsReady, "libsodium failed to initialise")
        secret.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 { randombytes_buf(base, raw.count) }
        }
    }
}
