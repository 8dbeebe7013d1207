/// A point of edwards25519, −x² + y² = 1 + d·x²·y² over GF(2^255 − 19) (RFC 8032 §5.1), in
/// extended coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z and x·y = T/Z (RFC 8032 §5.1.4).
/// For verification only: variable time.
///
/// The addition and doubling formulas are Hisil–Wong–Carter–Dawson's for a = −1 ("add-2008-hwcd-3",
/// "dbl-2008-hwcd"); with d not a square they are complete, so they hold for every pair of
/// points, the identity and equal points included. Every coordinate they return is a product,
/// so carried (see `FieldElement`).
struct EdwardsPoint {
    var x: FieldElement
    var y: FieldElement
    var z: FieldElement
    var t: FieldElement

    static let identity = EdwardsPoint(x: .zero, y: .one, z: .one, t: .zero)

    /// RFC 8032 §5.1.3: the point a 32-byte encoding names, or nil when y ≥ p, when no x
    /// satisfies the curve equation, or when x = 0 and the sign bit is set.
    init?(encoding: [UInt8]) {
        guard encoding.count == 32 else { return nil }
        let sign = encoding[31] >> 7
        var yBytes = encoding
        yBytes[31] &= 0x7f
        let y = FieldElement(bytes: yBytes)
        // Step 1: a y that is not below p is not an encoding.
        guard y.bytes == yBytes else { return nil }
        // Step 2: x² = u / v with u = y² − 1, v = d·y² + 1; x = u·v³·(u·v⁷)^((p − 5) / 8).
        let y2 = y.squared()
        let u = y2 - .one
        let v = FieldElement.d * y2 + .one
        let v3 = v.squared() * v
        let v7 = v3.squared() * v
        var x = u * v3 * (u * v7).powPMinus5Over8()
        // Step 3: v·x² = u, or v·x² = −u and x·sqrt(−1) is the root; otherwise no root.
        let vx2 = v * x.squared()
        if FieldElement.equal(vx2, u) {
            // x is a root.
        } else if (vx2 + u).isZero {
            x = x * .sqrtMinusOne
        } else {
            return nil
        }
        // Step 4: the sign bit picks the root; x = 0 with the bit set is refused.
        if x.isZero && sign == 1 { return nil }
        if x.isNegative != (sign == 1) { x = -x }
        x = x * .one
        let yc = y * .one
        self.init(x: x, y: yc, z: .one, t: x * yc)
    }

    init(x: FieldElement, y: FieldElement, z: FieldElement, t: FieldElement) {
        self.x = x
        self.y = y
        self.z = z
        self.t = t
    }

    /// RFC 8032 §5.1.2: y reduced, little-endian, with x's sign in bit 255, as four words.
    var encodingWords: (UInt64, UInt64, UInt64, UInt64) {
        let zInverse = self.z.inverted()
        let affineX = self.x * zInverse
        let affineY = self.y * zInverse
        let words = affineY.canonicalWords
        return (words.0, words.1, words.2, words.3 | (affineX.isNegative ? 1 << 63 : 0))
    }

    /// RFC 8032 §5.1.2: the 32-byte encoding.
    var encoding: [UInt8] {
        let (w0, w1, w2, w3) = self.encodingWords
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: w0.littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: w1.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: w2.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: w3.littleEndian, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }

    /// Whether this is the neutral element (0, 1).
    var isIdentity: Bool { self.x.isZero && FieldElement.equal(self.y, self.z) }

    /// P + Q, both extended: 9 multiplications.
    static func + (p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
        let a = (p.y - p.x) * (q.y - q.x)
        let b = (p.y + p.x) * (q.y + q.x)
        let c = p.t * FieldElement.d2 * q.t
        let d = p.z * (q.z + q.z)
        let e = b - a
        let f = d - c
        let g = d + c
        let h = b + a
        return EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// 2P: 4 squarings and 4 multiplications. With E, F, G, H of "dbl-2008-hwcd" (a = −1) all
    /// negated, which leaves the four products unchanged.
    @inline(__always)
    func doubled() -> EdwardsPoint {
        let a = self.x.squared()
        let b = self.y.squared()
        let zz = self.z.squared()
        let c = zz + zz
        let h = a + b
        let e = h - (self.x + self.y).squared()
        let g = a - b
        let f = c + g
        return EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// self += Q for Q in affine Niels form (Z = 1): 7 multiplications.
    ///
    /// Not inlined: the verification loop calls it from four places, and four copies of seven
    /// inlined products would not fit the instruction cache.
    @inline(never)
    mutating func add(_ q: NielsPoint) {
        let a = (self.y - self.x) * q.yMinusX
        let b = (self.y + self.x) * q.yPlusX
        let c = self.t * q.xy2d
        let d = self.z + self.z
        let e = b - a
        let f = d - c
        let g = d + c
        let h = b + a
        self = EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// self −= Q: −Q = (−x, y) swaps y + x with y − x and negates 2d·x·y.
    @inline(never)
    mutating func subtract(_ q: NielsPoint) {
        let a = (self.y - self.x) * q.yPlusX
        let b = (self.y + self.x) * q.yMinusX
        let c = self.t * q.xy2d
        let d = self.z + self.z
        let e = b - a
        let f = d + c
        let g = d - c
        let h = b + a
        self = EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }
}

/// An affine point (Z = 1) kept as (y + x, y − x, 2d·x·y), what mixed addition reads.
struct NielsPoint {
    var yPlusX: FieldElement
    var yMinusX: FieldElement
    var xy2d: FieldElement
}

/// The multiples j·256^i·P, j = 1…8, i = 0…31, of one point P, in affine Niels form: with
/// scalars in signed radix-16 digits, k = Σ e_m·16^m, e_m ∈ [−8, 8], a scalar multiple is
/// Σ e_{2i}·256^i·P + 16·Σ e_{2i+1}·256^i·P, additions of table entries and 4 doublings.
///
/// 256 entries of 3 field elements of 40 bytes: 30,720 bytes.
final class FixedBaseTable: Sendable {
    static let positions = 32
    static let multiples = 8
    /// Entry 8i + (j − 1) is j·256^i·P.
    let entries: [NielsPoint]

    init(_ point: EdwardsPoint) {
        let count = Self.positions * Self.multiples
        var points: [EdwardsPoint] = []
        points.reserveCapacity(count)
        var base = point
        for i in 0..<Self.positions {
            var multiple = base
            points.append(multiple)
            for _ in 2...Self.multiples {
                multiple = multiple + base
                points.append(multiple)
            }
            if i < Self.positions - 1 {
                for _ in 0..<8 { base = base.doubled() }
            }
        }
        // One inversion for all: prefix[i] = z_0 ⋯ z_(i−1), then walk back from 1/(z_0 ⋯ z_(n−1)).
        var prefix: [FieldElement] = []
        prefix.reserveCapacity(count)
        var product = FieldElement.one
        for p in points {
            prefix.append(product)
            product = product * p.z
        }
        var inverse = product.inverted()
        var entries = [NielsPoint](
            repeating: NielsPoint(yPlusX: .zero, yMinusX: .zero, xy2d: .zero),
            count: count
        )
        for i in stride(from: count - 1, through: 0, by: -1) {
            let zInverse = inverse * prefix[i]
            inverse = inverse * points[i].z
            let x = points[i].x * zInverse
            let y = points[i].y * zInverse
            entries[i] = NielsPoint(yPlusX: (y + x) * .one, yMinusX: (y - x) * .one, xy2d: x * y * .d2)
        }
        self.entries = entries
    }

    /// The base point B of RFC 8032 §5.1: y = 4/5, x even; its encoding is 0x58 then 31 × 0x66.
    static let basePoint: FixedBaseTable = {
        guard let b = EdwardsPoint(encoding: [0x58] + [UInt8](repeating: 0x66, count: 31)) else {
            fatalError("the Ed25519 base point does not decode")
        }
        return FixedBaseTable(b)
    }()
}

/// The 64 signed radix-16 digits of a 32-byte little-endian scalar below 2^255:
/// k = Σ e_m·16^m with e_m ∈ [−8, 7], the last one in [0, 8].
struct SignedDigits {
    private var storage: SIMD64<Int8>

    /// All digits zero.
    init() { self.storage = SIMD64() }

    init(scalar: UnsafeRawBufferPointer) {
        precondition(scalar.count == 32)
        var e = SIMD64<Int8>()
        for i in 0..<32 {
            let byte = scalar[i]
            e[2 * i] = Int8(byte & 15)
            e[2 * i + 1] = Int8(byte >> 4)
        }
        var carry: Int8 = 0
        for m in 0..<63 {
            let digit = e[m] &+ carry
            carry = (digit &+ 8) >> 4
            e[m] = digit &- carry << 4
        }
        e[63] = e[63] &+ carry
        self.storage = e
    }

    @inline(__always)
    subscript(_ m: Int) -> Int8 { self.storage[m] }
}

extension EdwardsPoint {
    /// [s]B − [h]P from the fixed-base tables of B and P: at most 128 mixed additions and
    /// 4 doublings.
    static func combination(
        s: SignedDigits,
        base: FixedBaseTable,
        h: SignedDigits,
        point: FixedBaseTable
    ) -> EdwardsPoint {
        base.entries.withUnsafeBufferPointer { b in
            point.entries.withUnsafeBufferPointer { p in
                var acc = EdwardsPoint.identity
                for i in 0..<FixedBaseTable.positions {
                    acc.addMultiple(s[2 * i + 1], of: b, position: i)
                    acc.subtractMultiple(h[2 * i + 1], of: p, position: i)
                }
                acc = acc.doubled().doubled().doubled().doubled()
                for i in 0..<FixedBaseTable.positions {
                    acc.addMultiple(s[2 * i], of: b, position: i)
                    acc.subtractMultiple(h[2 * i], of: p, position: i)
                }
                return acc
            }
        }
    }

    /// self += digit·256^position·P.
    @inline(__always)
    mutating func addMultiple(_ digit: Int8, of table: UnsafeBufferPointer<NielsPoint>, position: Int) {
        if digit > 0 {
            self.add(table[position &* 8 &+ Int(digit) &- 1])
        } else if digit < 0 {
            self.subtract(table[position &* 8 &- Int(digit) &- 1])
        }
    }

    /// self −= digit·256^position·P.
    @inline(__always)
    mutating func subtractMultiple(_ digit: Int8, of table: UnsafeBufferPointer<NielsPoint>, position: Int) {
        if digit > 0 {
            self.subtract(table[position &* 8 &+ Int(digit) &- 1])
        } else if digit < 0 {
            self.add(table[position &* 8 &- Int(digit) &- 1])
        }
    }
}
