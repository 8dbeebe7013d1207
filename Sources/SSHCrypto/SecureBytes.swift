internal import CSodium

/// Bytes that hold a secret: a passphrase, a private scalar, a derived key.
///
/// The storage is allocated once, never copied by the type itself, and wiped with
/// `sodium_memzero` when the last reference goes away. `description` never shows
/// the contents.
public final class SecureBytes: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: the buffer is written only during initialisation or through
    // `withUnsafeMutableBytes` by the single owner that created it.
    private let buffer: UnsafeMutableRawBufferPointer
    /// Frees the storage after it was wiped; tests put an inspector here.
    private let release: @Sendable (UnsafeMutableRawBufferPointer) -> Void

    /// Creates `count` zero bytes.
    public convenience init(count: Int) {
        self.init(count: count, release: { $0.deallocate() })
    }

    /// Creates `count` zero bytes whose storage is handed to `release`, wiped, instead of
    /// being freed. For tests that check the wipe; `release` must deallocate it.
    package init(count: Int, release: @escaping @Sendable (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(count >= 0)
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        self.buffer.initializeMemory(as: UInt8.self, repeating: 0)
        self.count = count
        self.release = release
    }

    /// Copies `bytes` into new secure storage.
    public convenience init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        self.init(count: bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: self.buffer[0..<self.count]).copyBytes(from: bytes)
    }

    /// Copies the UTF-8 of `string` (a passphrase given as an option); no intermediate copy
    /// is made, but the String itself cannot be wiped.
    public convenience init(utf8 string: String) {
        self.init(string.utf8)
    }

    deinit {
        sodium_memzero(self.buffer.baseAddress, self.buffer.count)
        self.release(self.buffer)
    }

    /// The number of bytes.
    public let count: Int

    /// Whether there are no bytes.
    public var isEmpty: Bool { self.count == 0 }

    /// Calls `body` with the bytes; the pointer must not escape.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: self.buffer[0..<self.count]))
    }

    /// Calls `body` with the mutable bytes; the pointer must not escape.
    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: self.buffer[0..<self.count]))
    }

    /// A plain copy of the bytes, for passing into code that takes `[UInt8]`.
    ///
    /// The copy is not wiped; keep its lifetime short.
    package var unsafeCopy: [UInt8] { Array(UnsafeRawBufferPointer(rebasing: self.buffer[0..<self.count])) }

    /// A new `SecureBytes` with the bytes in `range`.
    public func slice(_ range: Range<Int>) -> SecureBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= self.count)
        return SecureBytes(UnsafeRawBufferPointer(rebasing: self.buffer[range]))
    }

    /// Compares with another secret in constant time.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        guard self.count == other.count else { return false }
        if self.count == 0 { return true }
        return self.withUnsafeBytes { a in
            other.withUnsafeBytes { b in sodium_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }

    public var description: String { "SecureBytes(\(self.count) bytes)" }
}

/// Compares two byte strings in constant time (for MACs, tags and check values): the time
/// depends on the lengths only, never on where the bytes differ. Unequal lengths are unequal.
package func constantTimeEquals<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return withContiguousBytesForC(a) { p in
        withContiguousBytesForC(b) { q in sodium_memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 }
    }
}

/// Overwrites `bytes` with zeros in a way the optimiser cannot drop (`sodium_memzero`).
package func secureZero(_ bytes: UnsafeMutableRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    sodium_memzero(base, bytes.count)
}

/// Zeroes an array's bytes where they are (when it shares its storage with another array,
/// Swift copies it first and the other keeps the bytes: wipe the last owner) and empties it.
package func secureWipe(_ bytes: inout [UInt8]) {
    secureWipe(&bytes, inspectingWipedStorage: { _ in })
}

/// ``secureWipe(_:)`` that shows `inspect` the storage after the wipe and before the array
/// lets it go, for tests that check the wipe.
package func secureWipe(_ bytes: inout [UInt8], inspectingWipedStorage inspect: (UnsafeRawBufferPointer) -> Void) {
    bytes.withUnsafeMutableBytes {
        secureZero($0)
        inspect(UnsafeRawBufferPointer($0))
    }
    bytes.removeAll()
}
