package import SSHCrypto

/// Reads the SSH wire encoding (RFC 4251 §5) from a byte slice.
package struct SSHWireReader {
    package private(set) var bytes: ArraySlice<UInt8>

    package init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    package init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    /// Whether every byte has been read.
    package var isAtEnd: Bool { self.bytes.isEmpty }
    /// How many bytes are left.
    package var remaining: Int { self.bytes.count }

    /// RFC 4251 §5: a byte.
    package mutating func readByte() throws(SSHKeyError) -> UInt8 {
        guard let b = self.bytes.first else { throw SSHKeyError(.truncated, "the data ends early") }
        self.bytes = self.bytes.dropFirst()
        return b
    }

    /// RFC 4251 §5: uint32, big-endian.
    package mutating func readUInt32() throws(SSHKeyError) -> UInt32 {
        guard self.bytes.count >= 4 else { throw SSHKeyError(.truncated, "the data ends early") }
        let i = self.bytes.startIndex
        let v =
            UInt32(self.bytes[i]) << 24 | UInt32(self.bytes[i + 1]) << 16 | UInt32(self.bytes[i + 2]) << 8
            | UInt32(self.bytes[i + 3])
        self.bytes = self.bytes.dropFirst(4)
        return v
    }

    /// RFC 4251 §5: a uint32 length, then that many bytes.
    package mutating func readString() throws(SSHKeyError) -> ArraySlice<UInt8> {
        let length = try self.readUInt32()
        guard let count = Int(exactly: length), count <= self.bytes.count else {
            throw SSHKeyError(.truncated, "a length field points past the end of the data")
        }
        defer { self.bytes = self.bytes.dropFirst(count) }
        return self.bytes.prefix(count)
    }

    /// A string that must be valid UTF-8 text (names, comments).
    package mutating func readUTF8() throws(SSHKeyError) -> String {
        let raw = try self.readString()
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw SSHKeyError(.invalidFormat, "a text field is not valid UTF-8")
        }
        return s
    }

    /// RFC 4251 §5: an mpint that must be non-negative; returns its magnitude
    /// without leading zeros. Rejects negative numbers and needless leading zeros.
    package mutating func readPositiveMPInt() throws(SSHKeyError) -> ArraySlice<UInt8> {
        let raw = try self.readString()
        guard let first = raw.first else { return raw }
        if first & 0x80 != 0 { throw SSHKeyError(.invalidFormat, "a number is negative") }
        if first == 0 {
            let rest = raw.dropFirst()
            guard let second = rest.first, second & 0x80 != 0 else {
                throw SSHKeyError(.invalidFormat, "a number has a needless leading zero")
            }
            return rest
        }
        return raw
    }

    /// Reads exactly `count` bytes.
    package mutating func readBytes(_ count: Int) throws(SSHKeyError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= self.bytes.count else { throw SSHKeyError(.truncated, "the data ends early") }
        defer { self.bytes = self.bytes.dropFirst(count) }
        return self.bytes.prefix(count)
    }

    /// Throws unless every byte was read.
    package func expectEnd(_ what: String) throws(SSHKeyError) {
        guard self.bytes.isEmpty else { throw SSHKeyError(.invalidFormat, "\(what) has trailing data") }
    }
}

/// Writes the SSH wire encoding (RFC 4251 §5).
///
/// Writers also assemble secrets (private key sections, passwords, the shared secret), so
/// the buffer never reallocates behind our back: it grows by explicit copies that wipe
/// the old storage, and ``wipe()`` zeroes it with `sodium_memzero`.
package struct SSHWireWriter {
    package private(set) var bytes: [UInt8] = []

    package init(capacity: Int = 256) { self.bytes.reserveCapacity(capacity) }

    /// Makes room for `extra` more bytes, wiping the storage it moves away from.
    private mutating func reserve(_ extra: Int) {
        let needed = self.bytes.count + extra
        guard needed > self.bytes.capacity else { return }
        var bigger: [UInt8] = []
        bigger.reserveCapacity(max(needed, 2 * self.bytes.capacity))
        bigger.append(contentsOf: self.bytes)
        secureWipe(&self.bytes)
        self.bytes = bigger
    }

    package mutating func writeByte(_ b: UInt8) {
        self.reserve(1)
        self.bytes.append(b)
    }

    package mutating func writeUInt32(_ v: UInt32) {
        self.reserve(4)
        self.bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        self.bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        self.bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        self.bytes.append(UInt8(truncatingIfNeeded: v))
    }

    package mutating func writeString(_ s: some Collection<UInt8>) {
        self.writeUInt32(UInt32(s.count))
        self.writeBytes(s)
    }

    package mutating func writeString(_ s: String) { self.writeString(Array(s.utf8)) }

    package mutating func writeString(_ s: SecureBytes) {
        self.writeUInt32(UInt32(s.count))
        s.withUnsafeBytes { self.writeBytes($0) }
    }

    /// RFC 4251 §5 mpint from an unsigned big-endian magnitude: leading zeros
    /// stripped, a zero byte prepended when the top bit is set.
    package mutating func writeMPInt(_ magnitude: some Collection<UInt8>) {
        let trimmed = magnitude.drop { $0 == 0 }
        if let first = trimmed.first, first & 0x80 != 0 {
            self.writeUInt32(UInt32(trimmed.count + 1))
            self.writeByte(0)
        } else {
            self.writeUInt32(UInt32(trimmed.count))
        }
        self.writeBytes(trimmed)
    }

    package mutating func writeMPInt(_ magnitude: SecureBytes) {
        magnitude.withUnsafeBytes { self.writeMPInt($0) }
    }

    package mutating func writeBytes(_ b: some Collection<UInt8>) {
        self.reserve(b.count)
        self.bytes.append(contentsOf: b)
    }

    /// Moves the bytes into `SecureBytes` and wipes this writer's buffer.
    package mutating func takeSecure() -> SecureBytes {
        let out = SecureBytes(self.bytes)
        self.wipe()
        return out
    }

    /// Overwrites the buffer with zeros and empties it. A copy of ``bytes`` taken earlier
    /// keeps its own storage: take the bytes with ``take()`` and wipe them there instead.
    package mutating func wipe() {
        secureWipe(&self.bytes)
    }

    /// The bytes, moved out: the writer keeps no reference, so the caller's array is the
    /// only owner and its ``secureWipe(_:)`` reaches the real storage.
    package mutating func take() -> [UInt8] {
        defer { self.bytes = [] }
        return self.bytes
    }
}
