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

/// Multiples of one point P in affine Niels form, for scalars in signed radix-2^w digits,
/// k = Σ e_m·2^(w·m) with |e_m| ≤ 2^(w−1): entry `multiples·i + (j − 1)` is j·2^(shift·i)·P for
/// j = 1…`multiples`, i = 0…`positions` − 1.
///
/// Two layouts (`Layout`): a public key's table is radix 16 with every other digit position
/// (shift 8), so Σ e_m·16^m·P = Σ e_(2i)·256^i·P + 16·Σ e_(2i+1)·256^i·P, table additions
/// and 4 doublings; 256 entries of 120 bytes (3 field elements of 40), 30,720 bytes. The base
/// point's table, one for the process, is radix 64 with every position (shift 6): 43 × 32
/// entries, 165,120 bytes, and 43 additions for a scalar instead of 64.
final class FixedBaseTable: Sendable {
    /// A table's shape.
    struct Layout {
        /// Bits per digit.
        let width: Int
        /// Bits between positions: `width`, or twice it for the every-other-position layout.
        let shift: Int
        let positions: Int
        var multiples: Int { 1 << (self.width - 1) }

        /// A public key's table: radix 16, even and odd digits sharing positions.
        static let publicKey = Layout(width: 4, shift: 8, positions: 32)
        /// The base point's table: radix 64, one position per digit (⌈253 / 6⌉ = 43).
        static let basePoint = Layout(width: 6, shift: 6, positions: 43)
    }

    let layout: Layout
    let entries: [NielsPoint]

    init(_ point: EdwardsPoint, layout: Layout) {
        self.layout = layout
        let count = layout.positions * layout.multiples
        var points: [EdwardsPoint] = []
        points.reserveCapacity(count)
        var base = point
        for i in 0..<layout.positions {
            var multiple = base
            points.append(multiple)
            for _ in 1..<layout.multiples {
                multiple = multiple + base
                points.append(multiple)
            }
            if i < layout.positions - 1 {
                for _ in 0..<layout.shift { base = base.doubled() }
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
    static let basePointEncoding: [UInt8] = [0x58] + [UInt8](repeating: 0x66, count: 31)

    /// B's table, built on first use (a few milliseconds).
    static let basePoint: FixedBaseTable = {
        guard let b = EdwardsPoint(encoding: basePointEncoding) else {
            fatalError("the Ed25519 base point does not decode")
        }
        return FixedBaseTable(b, layout: .basePoint)
    }()
}

/// The signed radix-2^w digits of a 32-byte little-endian scalar below 2^253 (S and h are
/// below ℓ): k = Σ e_m·2^(w·m) with e_m ∈ [−2^(w−1), 2^(w−1)), the last one in [0, 2].
struct SignedDigits {
    private var storage: SIMD64<Int8>

    /// All digits zero.
    init() { self.storage = SIMD64() }

    /// The digits of width `width` (4 or 6): ⌈256 / w⌉ of them.
    init(scalar: UnsafeRawBufferPointer, width: Int) {
        precondition(scalar.count == 32 && (width == 4 || width == 6) && scalar[31] < 0x20)
        let words = (
            UInt64(littleEndian: scalar.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            UInt64(littleEndian: scalar.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            UInt64(littleEndian: scalar.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            UInt64(littleEndian: scalar.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        )
        func word(_ i: Int) -> UInt64 {
            switch i {
            case 0: words.0
            case 1: words.1
            case 2: words.2
            case 3: words.3
            default: 0
            }
        }
        let count = (256 + width - 1) / width
        let mask: UInt64 = (1 << UInt64(width)) - 1
        let half = Int8(1 << (width - 1))
        var e = SIMD64<Int8>()
        var carry: Int8 = 0
        for m in 0..<count {
            let bit = m * width
            let offset = bit % 64
            var bits = word(bit / 64) >> UInt64(offset)
            if offset + width > 64 { bits |= word(bit / 64 + 1) << UInt64(64 - offset) }
            let digit = Int8(bits & mask) &+ carry
            if m == count - 1 {
                e[m] = digit
            } else {
                carry = (digit &+ half) >> Int8(width)
                e[m] = digit &- carry << Int8(width)
            }
        }
        self.storage = e
    }

    @inline(__always)
    subscript(_ m: Int) -> Int8 { self.storage[m] }
}

extension EdwardsPoint {
    /// [s]B − [h]P, s in radix-64 digits and h in radix-16 digits: at most 43 + 64 mixed
    /// additions and 4 doublings.
    static func combination(s: SignedDigits, h: SignedDigits, point: FixedBaseTable) -> EdwardsPoint {
        var acc = Self.negatedMultiple(h: h, point: point)
        let base = FixedBaseTable.basePoint
        base.entries.withUnsafeBufferPointer { b in
            for i in 0..<base.layout.positions {
                acc.addMultiple(s[i], of: b, at: i &* base.layout.multiples)
            }
        }
        return acc
    }

    /// −[h]P from P's table (`Layout.publicKey`), h in radix-16 digits.
    static func negatedMultiple(h: SignedDigits, point: FixedBaseTable) -> EdwardsPoint {
        precondition(point.layout.width == 4 && point.layout.shift == 8)
        return point.entries.withUnsafeBufferPointer { p in
            var acc = EdwardsPoint.identity
            for i in 0..<point.layout.positions {
                acc.subtractMultiple(h[2 * i + 1], of: p, at: i &* 8)
            }
            acc = acc.doubled().doubled().doubled().doubled()
            for i in 0..<point.layout.positions {
                acc.subtractMultiple(h[2 * i], of: p, at: i &* 8)
            }
            return acc
        }
    }

    /// self += digit·Q, where table[row + j − 1] is j·Q.
    @inline(__always)
    mutating func addMultiple(_ digit: Int8, of table: UnsafeBufferPointer<NielsPoint>, at row: Int) {
        if digit > 0 {
            self.add(table[row &+ Int(digit) &- 1])
        } else if digit < 0 {
            self.subtract(table[row &- Int(digit) &- 1])
        }
    }

    /// self −= digit·Q, where table[row + j − 1] is j·Q.
    @inline(__always)
    mutating func subtractMultiple(_ digit: Int8, of table: UnsafeBufferPointer<NielsPoint>, at row: Int) {
        if digit > 0 {
            self.subtract(table[row &+ Int(digit) &- 1])
        } else if digit < 0 {
            self.add(table[row &- Int(digit) &- 1])
        }
    }
}
