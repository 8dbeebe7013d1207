import Foundation
import Testing

@testable import SSHCrypto

/// What a released `SecureBytes` handed to its deallocator.
private final class Released: @unchecked Sendable {
    // @unchecked: written once by the deinit of a value this test owns, read after it.
    var bytes: [UInt8]? = nil
}

@Suite("SecureBytes and constant-time comparison")
struct SecureBytesTests {
    @Test("the storage is zero when it is freed (seen by the deallocator hook), at several sizes")
    func wipedOnRelease() {
        for count in [1, 16, 1000] {
            let released = Released()
            do {
                let secret = SecureBytes(count: count) { storage in
                    released.bytes = Array(storage)
                    storage.deallocate()
                }
                secret.withUnsafeMutableBytes { p in
                    for i in p.indices { p[i] = UInt8(truncatingIfNeeded: 0xA5 &+ i) | 1 }
                }
                // The bytes were there while it lived (so a zero result below means a wipe).
                #expect(secret.unsafeCopy.allSatisfy { $0 != 0 })
                #expect(released.bytes == nil)
            }
            #expect(released.bytes?.count == count)
            #expect(released.bytes?.allSatisfy { $0 == 0 } == true, "count \(count)")
        }
    }

    @Test("copies, slices and UTF-8 text keep the bytes; description shows none of them")
    func contents() {
        let a = SecureBytes(utf8: "correct horse ✓")
        #expect(a.unsafeCopy == Array("correct horse ✓".utf8))
        #expect(a.slice(8..<13).unsafeCopy == Array("horse".utf8))
        #expect(SecureBytes([1, 2, 3][1...]).unsafeCopy == [2, 3])
        #expect(SecureBytes(count: 0).isEmpty)
        #expect("\(a)" == "SecureBytes(\(a.count) bytes)")
    }

    @Test("secureWipe zeroes the array's own storage when it is the only owner")
    func secureWipeArray() {
        var bytes = [UInt8](repeating: 0x5A, count: 64)
        let address = bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        var wiped: [UInt8] = []
        var sameStorage = false
        secureWipe(&bytes) { storage in
            sameStorage = UInt(bitPattern: storage.baseAddress) == address
            wiped = Array(storage)
        }
        // The secret's own storage, not a copy, held 64 zeros when the array let it go.
        #expect(sameStorage)
        #expect(wiped == [UInt8](repeating: 0, count: 64))
        #expect(bytes.isEmpty)
    }

    @Test("constantTimeEquals: equal, one byte different anywhere, other lengths, empty, slices, non-contiguous")
    func constantTime() {
        let base = (0..<37).map { UInt8($0 * 7 & 0xFF) }
        #expect(constantTimeEquals(base, base))
        #expect(constantTimeEquals(base, Array(base)))
        for i in base.indices {
            for flip: UInt8 in [1, 0x80] {
                var other = base
                other[i] ^= flip
                #expect(!constantTimeEquals(base, other), "byte \(i) bit \(flip)")
            }
        }
        #expect(!constantTimeEquals(base, base.dropLast()))
        #expect(!constantTimeEquals(base.dropLast(), base))
        #expect(!constantTimeEquals(base, base + [0]))
        #expect(!constantTimeEquals([UInt8](), [0]))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
        // Slices whose indices do not start at zero, and a collection with no contiguous storage.
        #expect(constantTimeEquals(base[5..<20], base[5..<20]))
        #expect(constantTimeEquals(base[5..<20], Array(base[5..<20])))
        #expect(!constantTimeEquals(base[5..<20], base[6..<21]))
        #expect(constantTimeEquals(base.lazy.map { $0 }, base))
        #expect(!constantTimeEquals("abc".utf8, "abd".utf8))

        let s = SecureBytes(base)
        #expect(s.constantTimeEquals(SecureBytes(base)))
        #expect(!s.constantTimeEquals(SecureBytes(base.dropLast())))
        #expect(!s.constantTimeEquals(SecureBytes(base.reversed())))
        #expect(SecureBytes(count: 0).constantTimeEquals(SecureBytes(count: 0)))
    }

    @Test("finalizeSecure gives the same digest as finalize")
    func secureDigest() {
        var a = DigestContext(.sha256)
        a.update(Array("abc".utf8))
        let b = a
        #expect(a.finalizeSecure().unsafeCopy == b.finalize())
        #expect(
            hexString(Digest.hash(.sha256, Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
    }

    private func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
