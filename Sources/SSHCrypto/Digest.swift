internal import COpenSSL
internal import CSodium

/// Hash functions used by SSH formats and the protocol.
public enum HashFunction: Sendable, Hashable {
    case md5, sha1, sha256, sha384, sha512

    /// The digest length in bytes.
    public var digestSize: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    /// OpenSSL's implementation; the returned `EVP_MD` is static and never freed.
    var openSSLMessageDigest: OpaquePointer {
        let md: OpaquePointer? =
            switch self {
            case .md5: EVP_md5()
            case .sha1: EVP_sha1()
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        guard let md else { fatalError("OpenSSL has no \(self) digest") }
        return md
    }
}

/// One-shot and incremental hashing.
///
/// Hashing in-memory data cannot fail short of OpenSSL being unusable (out of memory,
/// or a FIPS-only configuration refusing MD5); that traps rather than making every
/// caller handle an error it cannot act on.
package enum Digest {
    /// Inputs up to this many bytes are hashed by libsodium (see `hash`).
    static let shortInputLimit = 16 * 1024

    /// The digest of `data`.
    package static func hash(_ function: HashFunction, _ data: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: function.digestSize)
        // OpenSSL's first digest loads its configuration and providers, which costs more
        // than a millisecond; libsodium's SHA-2 needs no initialisation. For short inputs
        // (key blobs, challenge data) that start-up dominates, so they go to libsodium;
        // long inputs keep OpenSSL's faster assembly.
        if data.count <= Self.shortInputLimit, function == .sha256 || function == .sha512 {
            let status = withContiguousBytesForC(data) { input in
                out.withUnsafeMutableBufferPointer { output -> Int32 in
                    let bytes = input.bindMemory(to: UInt8.self)
                    guard let digest = output.baseAddress, let message = bytes.baseAddress else { return -1 }
                    return function == .sha256
                        ? crypto_hash_sha256(digest, message, UInt64(bytes.count))
                        : crypto_hash_sha512(digest, message, UInt64(bytes.count))
                }
            }
            guard status == 0 else { fatalError("crypto_hash_\(function) failed") }
            return out
        }
        var length: UInt32 = 0
        let ok = withContiguousBytesForC(data) { input in
            out.withUnsafeMutableBufferPointer { output in
                EVP_Digest(
                    input.baseAddress,
                    input.count,
                    output.baseAddress,
                    &length,
                    function.openSSLMessageDigest,
                    nil
                )
            }
        }
        guard ok == 1, Int(length) == function.digestSize else {
            fatalError("\(openSSLError(.libraryFailure, "EVP_Digest(\(function)) failed"))")
        }
        return out
    }
}

/// An incremental hash: `update` any number of times, then `finalize`.
///
/// A value type: copying a context and updating the copies independently works
/// (the OpenSSL state is duplicated on the first write to a shared copy), so a
/// running hash can be forked, e.g. to finalise a prefix and keep going.
package struct DigestContext {
    /// Owns one `EVP_MD_CTX`.
    private final class Storage {
        let pointer: OpaquePointer

        init(_ function: HashFunction) {
            guard let ctx = EVP_MD_CTX_new() else {
                fatalError("\(openSSLError(.libraryFailure, "EVP_MD_CTX_new failed"))")
            }
            self.pointer = ctx
            guard EVP_DigestInit_ex(ctx, function.openSSLMessageDigest, nil) == 1 else {
                fatalError("\(openSSLError(.libraryFailure, "EVP_DigestInit_ex(\(function)) failed"))")
            }
        }

        init(copying other: Storage) {
            guard let ctx = EVP_MD_CTX_new() else {
                fatalError("\(openSSLError(.libraryFailure, "EVP_MD_CTX_new failed"))")
            }
            self.pointer = ctx
            guard EVP_MD_CTX_copy_ex(ctx, other.pointer) == 1 else {
                fatalError("\(openSSLError(.libraryFailure, "EVP_MD_CTX_copy_ex failed"))")
            }
        }

        deinit { EVP_MD_CTX_free(self.pointer) }
    }

    /// The hash function.
    package let function: HashFunction
    private var storage: Storage

    /// A context with nothing hashed yet.
    package init(_ function: HashFunction) {
        self.function = function
        self.storage = Storage(function)
    }

    private mutating func uniqueStorage() -> Storage {
        if !isKnownUniquelyReferenced(&self.storage) {
            self.storage = Storage(copying: self.storage)
        }
        return self.storage
    }

    /// Hashes `data` after everything hashed so far.
    package mutating func update(_ data: some Collection<UInt8>) {
        let ctx = self.uniqueStorage().pointer
        let ok = withContiguousBytesForC(data) { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
        guard ok == 1 else { fatalError("\(openSSLError(.libraryFailure, "EVP_DigestUpdate failed"))") }
    }

    /// Hashes the bytes of a secret after everything hashed so far.
    package mutating func update(_ secret: SecureBytes) {
        let ctx = self.uniqueStorage().pointer
        let ok = secret.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress ?? nonNullEmptyInput, $0.count) }
        guard ok == 1 else { fatalError("\(openSSLError(.libraryFailure, "EVP_DigestUpdate failed"))") }
    }

    /// The digest of everything hashed, straight into secure storage (a derived key).
    package consuming func finalizeSecure() -> SecureBytes {
        let ctx = self.uniqueStorage().pointer
        let out = SecureBytes(count: self.function.digestSize)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBytes {
            EVP_DigestFinal_ex(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
        }
        guard ok == 1, Int(length) == self.function.digestSize else {
            fatalError("\(openSSLError(.libraryFailure, "EVP_DigestFinal_ex failed"))")
        }
        return out
    }

    /// The digest of everything hashed. The context is consumed; copy it first to keep hashing.
    package consuming func finalize() -> [UInt8] {
        // A copy that shares the storage must keep its state, so finish on a private duplicate.
        let ctx = self.uniqueStorage().pointer
        var out = [UInt8](repeating: 0, count: self.function.digestSize)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) }
        guard ok == 1, Int(length) == self.function.digestSize else {
            fatalError("\(openSSLError(.libraryFailure, "EVP_DigestFinal_ex failed"))")
        }
        return out
    }
}

/// A valid pointer for zero-length input: OpenSSL calls may reject a null buffer even with length 0.
// nonisolated(unsafe): one byte, allocated once, never written or freed.
nonisolated(unsafe) let nonNullEmptyInput = UnsafeRawPointer(
    UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
)

/// Calls `body` with `data`'s bytes contiguous in memory, copying only when they are not.
/// The base address is never null.
func withContiguousBytesForC<R, E: Error>(
    _ data: some Collection<UInt8>,
    _ body: (UnsafeRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    // The standard library's accessors are `rethrows`, which erases `E`; carry it through a Result.
    func call(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<R, E> {
        Result { () throws(E) -> R in
            try body(
                UnsafeRawBufferPointer(
                    start: UnsafeRawPointer(buffer.baseAddress) ?? nonNullEmptyInput,
                    count: buffer.count
                )
            )
        }
    }
    if let direct = data.withContiguousStorageIfAvailable(call) { return try direct.get() }
    return try Array(data).withUnsafeBufferPointer(call).get()
}
