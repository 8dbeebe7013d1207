/// An element of GF(p), p = 2^255 − 19, the field of edwards25519 (RFC 8032 §5.1), for
/// signature verification only: variable time, public data.
///
/// Five unsigned limbs in radix 2^51: the value is `l0 + l1·2^51 + l2·2^102 + l3·2^153 +
/// l4·2^204`, not necessarily reduced below p. Bounds, which every caller keeps:
///
/// - `*` and `squared()` take limbs below 2^55 and return "carried" limbs: below 2^51,
///   except `l1` below 2^52.
/// - `+` of two carried elements gives limbs below 2^53.
/// - `a - b` adds 4p before subtracting, so `b` must have limbs below 2^53 − 76; with `a`
///   below 2^54 the result is below 2^55.
///
/// A product of two limbs below 2^55, one of them times 19, is below 2^115; five of them fit
/// a `UInt128` with room to spare.
struct FieldElement {
    var l0: UInt64
    var l1: UInt64
    var l2: UInt64
    var l3: UInt64
    var l4: UInt64

    static let mask: UInt64 = (1 << 51) - 1

    @inline(__always)
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64) {
        self.l0 = l0
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
        self.l4 = l4
    }

    static let zero = FieldElement(0, 0, 0, 0, 0)
    static let one = FieldElement(1, 0, 0, 0, 0)

    /// A small non-negative integer.
    init(small value: UInt64) {
        precondition(value <= Self.mask)
        self.init(value, 0, 0, 0, 0)
    }

    /// RFC 8032 §5.1.2: 32 bytes little-endian, the top bit ignored. The value may be p or more.
    init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32)
        let w0 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let w1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let w2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let w3 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        self.init(
            w0 & Self.mask,
            (w0 >> 51 | w1 << 13) & Self.mask,
            (w1 >> 38 | w2 << 26) & Self.mask,
            (w2 >> 25 | w3 << 39) & Self.mask,
            (w3 >> 12) & Self.mask
        )
    }

    /// `init(bytes:)` over an array of 32 bytes.
    init(bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { FieldElement(bytes: $0) }
    }

    /// The value reduced below p, as four little-endian 64-bit words (the top bit clear).
    var canonicalWords: (UInt64, UInt64, UInt64, UInt64) {
        // One carry pass leaves a value below 2^255 + 2^10 < 2p.
        var h0 = self.l0
        var h1 = self.l1 &+ (h0 >> 51)
        h0 &= Self.mask
        var h2 = self.l2 &+ (h1 >> 51)
        h1 &= Self.mask
        var h3 = self.l3 &+ (h2 >> 51)
        h2 &= Self.mask
        var h4 = self.l4 &+ (h3 >> 51)
        h3 &= Self.mask
        h0 &+= 19 &* (h4 >> 51)
        h4 &= Self.mask
        // q = ⌊(h + 19) / 2^255⌋ is 1 exactly when h ≥ p; then h − p = h + 19 − 2^255.
        var q = (h0 &+ 19) >> 51
        q = (h1 &+ q) >> 51
        q = (h2 &+ q) >> 51
        q = (h3 &+ q) >> 51
        q = (h4 &+ q) >> 51
        h0 &+= 19 &* q
        h1 &+= h0 >> 51
        h0 &= Self.mask
        h2 &+= h1 >> 51
        h1 &= Self.mask
        h3 &+= h2 >> 51
        h2 &= Self.mask
        h4 &+= h3 >> 51
        h3 &= Self.mask
        h4 &= Self.mask
        return (h0 | h1 << 51, h1 >> 13 | h2 << 38, h2 >> 26 | h3 << 25, h3 >> 39 | h4 << 12)
    }

    /// RFC 8032 §5.1.2: the value reduced below p, 32 bytes little-endian.
    var bytes: [UInt8] {
        let (w0, w1, w2, w3) = self.canonicalWords
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: w0.littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: w1.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: w2.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: w3.littleEndian, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }

    /// Whether the value is 0 mod p.
    var isZero: Bool {
        let (w0, w1, w2, w3) = self.canonicalWords
        return (w0 | w1 | w2 | w3) == 0
    }

    /// RFC 8032 §5.1.2: x is "negative" when its reduced value is odd.
    var isNegative: Bool { self.canonicalWords.0 & 1 == 1 }

    /// Equality mod p.
    static func equal(_ a: FieldElement, _ b: FieldElement) -> Bool {
        let x = a.canonicalWords
        let y = b.canonicalWords
        return x.0 == y.0 && x.1 == y.1 && x.2 == y.2 && x.3 == y.3
    }

    @inline(__always)
    static func + (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(a.l0 &+ b.l0, a.l1 &+ b.l1, a.l2 &+ b.l2, a.l3 &+ b.l3, a.l4 &+ b.l4)
    }

    /// 4p in limbs: 4·(2^51 − 19), then 4·(2^51 − 1) four times.
    private static let fourP0: UInt64 = 4 &* ((1 << 51) &- 19)
    private static let fourP: UInt64 = 4 &* ((1 << 51) &- 1)

    @inline(__always)
    static func - (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(
            (a.l0 &+ fourP0) &- b.l0,
            (a.l1 &+ fourP) &- b.l1,
            (a.l2 &+ fourP) &- b.l2,
            (a.l3 &+ fourP) &- b.l3,
            (a.l4 &+ fourP) &- b.l4
        )
    }

    @inline(__always)
    static prefix func - (a: FieldElement) -> FieldElement { .zero - a }

    @inline(__always)
    private static func wide(_ a: UInt64, _ b: UInt64) -> UInt128 {
        UInt128(truncatingIfNeeded: a) &* UInt128(truncatingIfNeeded: b)
    }

    /// Carries five wide column sums into limbs; 2^255 ≡ 19 folds the top carry into l0.
    @inline(__always)
    private static func carry(
        _ r0: UInt128,
        _ r1: UInt128,
        _ r2: UInt128,
        _ r3: UInt128,
        _ r4: UInt128
    )
        -> FieldElement
    {
        var r1 = r1
        var r2 = r2
        var r3 = r3
        var r4 = r4
        r1 &+= r0 >> 51
        let h0 = UInt64(truncatingIfNeeded: r0) & mask
        r2 &+= r1 >> 51
        let h1 = UInt64(truncatingIfNeeded: r1) & mask
        r3 &+= r2 >> 51
        let h2 = UInt64(truncatingIfNeeded: r2) & mask
        r4 &+= r3 >> 51
        let h3 = UInt64(truncatingIfNeeded: r3) & mask
        let h4 = UInt64(truncatingIfNeeded: r4) & mask
        // r4 >> 51 is below 2^66; times 19 it still fits a UInt128.
        let t0 = UInt128(truncatingIfNeeded: h0) &+ (r4 >> 51) &* 19
        let l0 = UInt64(truncatingIfNeeded: t0) & mask
        let l1 = h1 &+ UInt64(truncatingIfNeeded: t0 >> 51)
        return FieldElement(l0, l1, h2, h3, h4)
    }

    /// Schoolbook product; a column past limb 4 wraps around times 19 (2^255 ≡ 19).
    @inline(__always)
    static func * (a: FieldElement, b: FieldElement) -> FieldElement {
        let b1x19 = b.l1 &* 19
        let b2x19 = b.l2 &* 19
        let b3x19 = b.l3 &* 19
        let b4x19 = b.l4 &* 19
        let r0 = wide(a.l0, b.l0) &+ wide(a.l1, b4x19) &+ wide(a.l2, b3x19) &+ wide(a.l3, b2x19) &+ wide(a.l4, b1x19)
        let r1 = wide(a.l0, b.l1) &+ wide(a.l1, b.l0) &+ wide(a.l2, b4x19) &+ wide(a.l3, b3x19) &+ wide(a.l4, b2x19)
        let r2 = wide(a.l0, b.l2) &+ wide(a.l1, b.l1) &+ wide(a.l2, b.l0) &+ wide(a.l3, b4x19) &+ wide(a.l4, b3x19)
        let r3 = wide(a.l0, b.l3) &+ wide(a.l1, b.l2) &+ wide(a.l2, b.l1) &+ wide(a.l3, b.l0) &+ wide(a.l4, b4x19)
        let r4 = wide(a.l0, b.l4) &+ wide(a.l1, b.l3) &+ wide(a.l2, b.l2) &+ wide(a.l3, b.l1) &+ wide(a.l4, b.l0)
        return carry(r0, r1, r2, r3, r4)
    }

    /// The square: the product with the symmetric terms computed once and doubled.
    @inline(__always)
    func squared() -> FieldElement {
        let d0 = self.l0 &* 2
        let d1 = self.l1 &* 2
        let d2x19 = self.l2 &* 38
        let d3x19 = self.l3 &* 38
        let a3x19 = self.l3 &* 19
        let a4x19 = self.l4 &* 19
        let r0 = Self.wide(self.l0, self.l0) &+ Self.wide(d1, a4x19) &+ Self.wide(d2x19, self.l3)
        let r1 = Self.wide(d0, self.l1) &+ Self.wide(d2x19, self.l4) &+ Self.wide(self.l3, a3x19)
        let r2 = Self.wide(d0, self.l2) &+ Self.wide(self.l1, self.l1) &+ Self.wide(d3x19, self.l4)
        let r3 = Self.wide(d0, self.l3) &+ Self.wide(d1, self.l2) &+ Self.wide(self.l4, a4x19)
        let r4 = Self.wide(d0, self.l4) &+ Self.wide(d1, self.l3) &+ Self.wide(self.l2, self.l2)
        return Self.carry(r0, r1, r2, r3, r4)
    }

    /// `count` squarings in a row: self^(2^count).
    @inline(__always)
    func squared(times count: Int) -> FieldElement {
        var x = self
        for _ in 0..<count { x = x.squared() }
        return x
    }

    /// self^(2^250 − 1) and self^11, the common part of inversion and square roots.
    private func power2To250Minus1() -> (FieldElement, FieldElement) {
        let z2 = self.squared()  // z^2
        let z9 = z2.squared(times: 2) * self  // z^8 · z
        let z11 = z9 * z2
        let z5 = z11.squared() * z9  // z^22 · z^9 = z^(2^5 − 1)
        let z10 = z5.squared(times: 5) * z5  // z^(2^10 − 1)
        let z20 = z10.squared(times: 10) * z10
        let z40 = z20.squared(times: 20) * z20
        let z50 = z40.squared(times: 10) * z10
        let z100 = z50.squared(times: 50) * z50
        let z200 = z100.squared(times: 100) * z100
        let z250 = z200.squared(times: 50) * z50  // z^(2^250 − 1)
        return (z250, z11)
    }

    /// The inverse by Fermat: self^(p − 2) = self^(2^255 − 21); 0 for 0.
    func inverted() -> FieldElement {
        let (z250, z11) = self.power2To250Minus1()
        return z250.squared(times: 5) * z11  // 2^255 − 32 + 11
    }

    /// self^((p − 5) / 8) = self^(2^252 − 3), for square roots (RFC 8032 §5.1.3).
    func powPMinus5Over8() -> FieldElement {
        let (z250, _) = self.power2To250Minus1()
        return z250.squared(times: 2) * self  // 2^252 − 4 + 1
    }
}

extension FieldElement {
    /// d = −121665 / 121666 (RFC 8032 §5.1).
    static let d: FieldElement = -(FieldElement(small: 121665) * FieldElement(small: 121666).inverted()) * .one
    /// 2d, for the addition formulas.
    static let d2: FieldElement = {
        let x = d + d
        return x * .one
    }()
    /// A square root of −1: 2^((p − 1) / 4) (RFC 8032 §5.1.3), (p − 1) / 4 = 2^253 − 5.
    static let sqrtMinusOne: FieldElement = {
        let two = FieldElement(small: 2)
        let (z250, _) = two.power2To250Minus1()
        return z250.squared(times: 3) * two.squared() * two  // 2^253 − 8 + 3
    }()
}
