internal import CSodium

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// libsodium must be initialised once before use; Swift runs a global's initialiser once, thread-safely.
private let sodiumIsReady: Bool = sodium_init() >= 0

/// Whether verification may use prepared keys (`Ed25519PreparedKey`): yes unless the
/// environment sets `KEYSMITH_ED25519=libsodium`, which leaves every verification to libsodium.
/// Read once, at the first verification.
let preparedKeysEnabled = Ed25519.usesPreparedKeys(
    environmentValue: getenv("KEYSMITH_ED25519").map { String(cString: $0) }
)

/// Ed25519 (RFC 8032) through libsodium.
package enum Ed25519 {
    /// The length of a seed, a public key (32) and a signature (64).
    package static let seedSize = 32
    package static let publicKeySize = 32
    package static let signatureSize = 64

    /// A new key pair: the 32-byte seed and the 32-byte public key.
    package static func generate() -> (seed: SecureBytes, publicKey: [UInt8]) {
        precondition(sodiumIsReady, "libsodium failed to initialise")
        let seed = SecureBytes(count: Self.seedSize)
        seed.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        // A fresh 32-byte seed always yields a key pair.
        let (publicKey, _) = try! Self.expand(seed: seed)
        return (seed, publicKey)
    }

    /// The public key of a 32-byte seed.
    package static func publicKey(seed: SecureBytes) throws(CryptoError) -> [UInt8] {
        try Self.expand(seed: seed).publicKey
    }

    /// A 64-byte signature of `message`.
    package static func sign(seed: SecureBytes, message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        let (_, secretKey) = try Self.expand(seed: seed)
        let data = Array(message)
        // libsodium declares its pointers nonnull, even for an empty message.
        let storage = data.isEmpty ? [0] : data
        var signature = [UInt8](repeating: 0, count: Self.signatureSize)
        var length: UInt64 = 0
        let rc = secretKey.withUnsafeBytes { sk in
            signature.withUnsafeMutableBufferPointer { sig in
                storage.withUnsafeBufferPointer { m in
                    crypto_sign_detached(
                        sig.baseAddress!,
                        &length,
                        m.baseAddress!,
                        UInt64(data.count),
                        sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
            }
        }
        guard rc == 0, length == UInt64(Self.signatureSize) else {
            throw CryptoError(.libraryFailure, "crypto_sign_detached failed")
        }
        return signature
    }

    /// Whether `signature` is valid for `message` under `publicKey`, exactly as libsodium's
    /// `crypto_sign_verify_detached` decides.
    ///
    /// A key is prepared (`Ed25519KeyCache`) on its next use after a signature under it
    /// verified, and a valid signature under it is then accepted by `Ed25519PreparedKey`
    /// without libsodium; anything that
    /// path does not accept is decided by libsodium. With `KEYSMITH_ED25519=libsodium` in the
    /// environment, libsodium decides every signature.
    package static func verify(
        publicKey: some Collection<UInt8>,
        signature: some Collection<UInt8>,
        message: some Collection<UInt8>
    ) -> Bool {
        Self.verify(publicKey: publicKey, signature: signature, message: message, cache: .shared).valid
    }

    /// Whether `KEYSMITH_ED25519` set to `environmentValue` lets verification use prepared keys:
    /// anything but `libsodium` does.
    static func usesPreparedKeys(environmentValue: String?) -> Bool { environmentValue != "libsodium" }

    /// `verify`, through `cache` (unless `preparedKeys` is false), and whether the prepared
    /// key's path accepted the signature.
    static func verify(
        publicKey: some Collection<UInt8>,
        signature: some Collection<UInt8>,
        message: some Collection<UInt8>,
        cache: Ed25519KeyCache,
        preparedKeys: Bool = preparedKeysEnabled
    ) -> (valid: Bool, withoutLibsodium: Bool) {
        let pk = Array(publicKey)
        let sig = Array(signature)
        guard sodiumIsReady, pk.count == Self.publicKeySize, sig.count == Self.signatureSize else {
            return (false, false)
        }
        if preparedKeys, let prepared = cache.preparedKey(for: pk),
            prepared.acceptsWithoutLibsodium(signature: sig, message: message)
        {
            return (true, true)
        }
        let valid = Self.libsodiumVerify(publicKey: pk, signature: sig, message: message)
        // Only a key that verified something takes a place in the cache.
        if valid && preparedKeys { cache.recordVerified(pk) }
        return (valid, false)
    }

    /// libsodium's `crypto_sign_verify_detached`, for keys and signatures of the right length.
    static func libsodiumVerify(publicKey pk: [UInt8], signature sig: [UInt8], message: some Collection<UInt8>) -> Bool
    {
        guard sodiumIsReady, pk.count == Self.publicKeySize, sig.count == Self.signatureSize else { return false }
        let data = Array(message)
        let storage = data.isEmpty ? [0] : data
        let rc = pk.withUnsafeBufferPointer { p in
            sig.withUnsafeBufferPointer { s in
                storage.withUnsafeBufferPointer { m in
                    crypto_sign_verify_detached(s.baseAddress!, m.baseAddress!, UInt64(data.count), p.baseAddress!)
                }
            }
        }
        return rc == 0
    }

    /// libsodium's 64-byte secret key (seed || public key) and the public key of `seed`.
    private static func expand(seed: SecureBytes) throws(CryptoError) -> (publicKey: [UInt8], secretKey: SecureBytes) {
        guard sodiumIsReady else { throw CryptoError(.libraryFailure, "libsodium failed to initialise") }
        guard seed.count == Self.seedSize else {
            throw CryptoError(.invalidKey, "an Ed25519 seed is 32 bytes, not \(seed.count)")
        }
        var publicKey = [UInt8](repeating: 0, count: Self.publicKeySize)
        let secretKey = SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        let rc = secretKey.withUnsafeMutableBytes { sk in
            seed.withUnsafeBytes { s in
                publicKey.withUnsafeMutableBufferPointer { pk in
                    crypto_sign_seed_keypair(
                        pk.baseAddress!,
                        sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        s.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
            }
        }
        guard rc == 0 else { throw CryptoError(.libraryFailure, "crypto_sign_seed_keypair failed") }
        return (publicKey, secretKey)
    }
}
