import CSodium
import Dispatch
import KeysmithTestSupport
import Synchronization
import Testing

@testable import SSHCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The prepared-key path of Ed25519 verification against libsodium's
/// `crypto_sign_verify_detached`, the oracle: the path may only accept what libsodium
/// accepts, and must accept every valid signature under a key it prepared.
///
/// `KEYSMITH_ED25519_ROUNDS=N` multiplies the random cases (default 1; a debug build runs
/// the default in seconds, a release build `swift test -c release` takes a large N).
@Suite("Ed25519 prepared keys")
struct Ed25519PreparedKeyTests {
    static let rounds: Int = {
        guard let text = getenv("KEYSMITH_ED25519_ROUNDS"), let n = Int(String(cString: text)), n > 0 else { return 1 }
        return n
    }()

    /// Compares one case with libsodium; returns a description when they disagree in a way
    /// that matters: the path accepting what libsodium refuses, or (with `mustAccept`) the
    /// path not accepting a signature libsodium accepts.
    static func compare(
        _ prepared: Ed25519PreparedKey?,
        _ publicKey: [UInt8],
        _ signature: [UInt8],
        _ message: [UInt8],
        mustAccept: Bool = false,
        _ what: String
    ) -> String? {
        let oracle = Ed25519.libsodiumVerify(publicKey: publicKey, signature: signature, message: message)
        let fast = prepared?.acceptsWithoutLibsodium(signature: signature, message: message) ?? false
        if fast && !oracle {
            return
                "\(what): accepted without libsodium, which refuses it; pk \(publicKey.hex) sig \(signature.hex) msg \(message.hex)"
        }
        if mustAccept && !(fast && oracle) {
            return
                "\(what): fast \(fast), libsodium \(oracle); pk \(publicKey.hex) sig \(signature.hex) msg \(message.hex)"
        }
        return nil
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// A random scalar below ℓ, its public point [a]B (libsodium), a key that signs nothing itself.
    static func scalarKey() -> (scalar: [UInt8], publicKey: [UInt8]) {
        var a = [UInt8](repeating: 0, count: 32)
        var pk = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_random(&a)
        #expect(crypto_scalarmult_ed25519_base_noclamp(&pk, a) == 0)
        return (a, pk)
    }

    /// h = SHA-512(R ‖ A ‖ M) mod ℓ, by libsodium.
    static func challenge(_ r: [UInt8], _ publicKey: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 64)
        let input = r + publicKey + message
        crypto_hash_sha512(&digest, input, UInt64(input.count))
        var h = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_reduce(&h, digest)
        return h
    }

    /// R ‖ S with R given and S = h·a (mod ℓ): the equation [S]B − [h]A = R holds when R = 0.
    static func signatureWithR(_ r: [UInt8], scalar a: [UInt8], publicKey: [UInt8], message: [UInt8]) -> [UInt8] {
        let h = Self.challenge(r, publicKey, message)
        var s = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_mul(&s, h, a)
        return r + s
    }

    /// Adds ℓ to a little-endian 256-bit scalar.
    static func plusOrder(_ s: [UInt8]) -> [UInt8] {
        var out = s
        var carry = 0
        for i in 0..<32 {
            let sum = Int(s[i]) + Int(Ed25519PreparedKey.groupOrder[i]) + carry
            out[i] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return out
    }

    /// The eight points of small order (the identity, (0, −1), the two of order 4, the four of
    /// order 8) and non-canonical spellings of them, which libsodium lists as small order too.
    static let smallOrderEncodings: [[UInt8]] = [
        [UInt8](hex: "0100000000000000000000000000000000000000000000000000000000000000"),
        [UInt8](hex: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        [UInt8](hex: "0000000000000000000000000000000000000000000000000000000000000000"),
        [UInt8](hex: "0000000000000000000000000000000000000000000000000000000000000080"),
        [UInt8](hex: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        [UInt8](hex: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
        [UInt8](hex: "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        [UInt8](hex: "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    ]
    static let nonCanonicalSmallOrder: [[UInt8]] = [
        [UInt8](hex: "0100000000000000000000000000000000000000000000000000000000000080"),  // x = 0, sign set
        [UInt8](hex: "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // y = p
        [UInt8](hex: "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // y = p + 1
        [UInt8](hex: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),  // (0, −1), sign set
    ]

    // MARK: Arithmetic

    @Test("the constants: d, sqrt(−1), the base point")
    func constants() throws {
        // RFC 8032 §5.1: d = 37095705934669439343138083508754565189542113879843219016388785533085940283555.
        #expect(
            FieldElement.d.bytes == [UInt8](hex: "a3785913ca4deb75abd841414d0a700098e879777940c78c73fe6f2bee6c0352")
        )
        let minusOne = FieldElement.zero - .one
        #expect(FieldElement.equal(FieldElement.sqrtMinusOne.squared(), minusOne))
        let encoding = [UInt8](hex: "5866666666666666666666666666666666666666666666666666666666666666")
        #expect(encoding == FixedBaseTable.basePointEncoding)
        let point = EdwardsPoint(encoding: encoding)
        #expect(point?.encoding == encoding)
        // [ℓ]B = 0 through both layouts of table.
        let b = try #require(point)
        let keyTable = FixedBaseTable(b, layout: .publicKey)
        let order4 = Ed25519PreparedKey.groupOrder.withUnsafeBytes { SignedDigits(scalar: $0, width: 4) }
        let order6 = Ed25519PreparedKey.groupOrder.withUnsafeBytes { SignedDigits(scalar: $0, width: 6) }
        #expect(EdwardsPoint.combination(s: order6, h: SignedDigits(), point: keyTable).isIdentity)
        #expect(EdwardsPoint.negatedMultiple(h: order4, point: keyTable).isIdentity)
        #expect(EdwardsPoint.combination(s: order6, h: order4, point: keyTable).isIdentity)
    }

    @Test("scalar multiples by both tables agree with libsodium's")
    func scalarMultiples() throws {
        let b = try #require(EdwardsPoint(encoding: FixedBaseTable.basePointEncoding))
        let keyTable = FixedBaseTable(b, layout: .publicKey)
        for _ in 0..<(20 * Self.rounds) {
            var k = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_random(&k)
            var expected = [UInt8](repeating: 0, count: 32)
            #expect(crypto_scalarmult_ed25519_base_noclamp(&expected, k) == 0)
            // [k]B by B's radix-64 table.
            let k6 = k.withUnsafeBytes { SignedDigits(scalar: $0, width: 6) }
            #expect(EdwardsPoint.combination(s: k6, h: SignedDigits(), point: keyTable).encoding == expected)
            // −[k]B by a key's radix-16 table is [ℓ − k]B.
            var negated = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_negate(&negated, k)
            var expectedNegated = [UInt8](repeating: 0, count: 32)
            #expect(crypto_scalarmult_ed25519_base_noclamp(&expectedNegated, negated) == 0)
            let k4 = k.withUnsafeBytes { SignedDigits(scalar: $0, width: 4) }
            #expect(EdwardsPoint.negatedMultiple(h: k4, point: keyTable).encoding == expectedNegated)
            // Decoding and encoding again is the identity on valid encodings.
            #expect(EdwardsPoint(encoding: expected)?.encoding == expected)
        }
    }

    @Test("field elements reduce to the canonical encoding at and around p")
    func canonicalEncoding() {
        // p − 1, p, p + 1, 2^255 − 1 as limbs: the top bit is not part of the value.
        let m = FieldElement.mask
        let pMinusOne = FieldElement(m - 19, m, m, m, m)
        #expect(pMinusOne.bytes == [UInt8](hex: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
        #expect(FieldElement(m - 18, m, m, m, m).isZero)
        #expect(FieldElement(m - 17, m, m, m, m).bytes == FieldElement.one.bytes)
        #expect(FieldElement(m, m, m, m, m).bytes == FieldElement(small: 18).bytes)
        // Unreduced limbs from a subtraction.
        #expect((FieldElement.one - FieldElement.one).isZero)
        #expect((FieldElement.zero - pMinusOne).bytes == FieldElement.one.bytes)
    }

    // MARK: RFC 8032

    @Test("RFC 8032 §7.1 vectors are accepted without libsodium")
    func rfcVectors() throws {
        for vector in Ed25519Tests.vectors {
            let pk = [UInt8](hex: vector.publicKey)
            let sig = [UInt8](hex: vector.signature)
            let message = [UInt8](hex: vector.message)
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            #expect(prepared.acceptsWithoutLibsodium(signature: sig, message: message))
            var wrong = sig
            wrong[0] ^= 1
            #expect(!prepared.acceptsWithoutLibsodium(signature: wrong, message: message))
        }
    }

    // MARK: Differential against libsodium

    @Test("valid signatures, and every one-bit change of R, S, A and the message")
    func bitFlips() throws {
        var failures: [String] = []
        for round in 0..<Self.rounds {
            let (seed, pk) = Ed25519.generate()
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            let message = Self.randomBytes(round % 3 == 0 ? 0 : 1 + round % 40)
            let sig = try Ed25519.sign(seed: seed, message: message)
            if let f = Self.compare(prepared, pk, sig, message, mustAccept: true, "valid") { failures.append(f) }
            for bit in 0..<512 {
                var flipped = sig
                flipped[bit / 8] ^= 1 << (bit % 8)
                if let f = Self.compare(prepared, pk, flipped, message, "signature bit \(bit)") { failures.append(f) }
            }
            for bit in 0..<(message.count * 8) {
                var flipped = message
                flipped[bit / 8] ^= 1 << (bit % 8)
                if let f = Self.compare(prepared, pk, sig, flipped, "message bit \(bit)") { failures.append(f) }
            }
            // A changed public key is a different key: prepared afresh when it can be. Every bit
            // in the first round; a sample later, since each preparation builds a table.
            let keyBits = round == 0 ? Array(0..<256) : (0..<8).map { _ in Int.random(in: 0..<256) }
            for bit in keyBits {
                var flipped = pk
                flipped[bit / 8] ^= 1 << (bit % 8)
                let other = Ed25519PreparedKey(publicKey: flipped)
                if let f = Self.compare(other, flipped, sig, message, "public key bit \(bit)") { failures.append(f) }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    @Test("many keys and messages: every valid signature accepted, every random one refused")
    func randomKeys() throws {
        var failures: [String] = []
        for _ in 0..<(20 * Self.rounds) {
            let (seed, pk) = Ed25519.generate()
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            for _ in 0..<5 {
                let message = Self.randomBytes(Int.random(in: 0..<300))
                let sig = try Ed25519.sign(seed: seed, message: message)
                if let f = Self.compare(prepared, pk, sig, message, mustAccept: true, "valid") { failures.append(f) }
                if let f = Self.compare(prepared, pk, Self.randomBytes(64), message, "random signature") {
                    failures.append(f)
                }
                // The same signature under another message.
                if let f = Self.compare(prepared, pk, sig, message + [0], "message extended") { failures.append(f) }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    @Test("S + ℓ and S ≥ ℓ are refused although the equation holds; ℓ − 1 is canonical")
    func nonCanonicalS() throws {
        var failures: [String] = []
        for _ in 0..<(20 * Self.rounds) {
            let (seed, pk) = Ed25519.generate()
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            let message = Self.randomBytes(32)
            let sig = try Ed25519.sign(seed: seed, message: message)
            let bumped = Array(sig[0..<32]) + Self.plusOrder(Array(sig[32..<64]))
            #expect(!Ed25519.libsodiumVerify(publicKey: pk, signature: bumped, message: message))
            if let f = Self.compare(prepared, pk, bumped, message, "S + ℓ") { failures.append(f) }
            #expect(!prepared.acceptsWithoutLibsodium(signature: bumped, message: message))
        }
        let order = Ed25519PreparedKey.groupOrder
        var orderMinusOne = order
        orderMinusOne[0] -= 1
        var orderPlusOne = order
        orderPlusOne[0] += 1
        let high = [UInt8](repeating: 0xff, count: 32)
        for (s, canonical) in [(order, false), (orderMinusOne, true), (orderPlusOne, false), (high, false)] {
            #expect(s.withUnsafeBytes { Ed25519PreparedKey.isCanonicalScalar($0) } == canonical)
            let (seed, pk) = Ed25519.generate()
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            let sig = try Ed25519.sign(seed: seed, message: [1])
            if let f = Self.compare(prepared, pk, Array(sig[0..<32]) + s, [1], "S edge") { failures.append(f) }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    @Test("R of small order is left to libsodium, even when the equation holds")
    func smallOrderR() throws {
        for encoding in Self.smallOrderEncodings {
            let point = try #require(EdwardsPoint(encoding: encoding), "\(encoding.hex)")
            #expect(point.doubled().doubled().doubled().isIdentity, "\(encoding.hex) is not of small order")
        }
        var failures: [String] = []
        for _ in 0..<(4 * Self.rounds) {
            let (a, pk) = Self.scalarKey()
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            let message = Self.randomBytes(16)
            for r in Self.smallOrderEncodings + Self.nonCanonicalSmallOrder {
                // S = h·a: [S]B − [h]A = 0, so with R = 0 only the small-order rule refuses it.
                let sig = Self.signatureWithR(r, scalar: a, publicKey: pk, message: message)
                if let f = Self.compare(prepared, pk, sig, message, "small-order R \(r.hex)") { failures.append(f) }
                #expect(!prepared.acceptsWithoutLibsodium(signature: sig, message: message))
                let random = r + Self.randomBytes(31) + [0]
                if let f = Self.compare(prepared, pk, random, message, "small-order R, random S") { failures.append(f) }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    @Test("a forged R = [S]B, the h·A term left out, is refused")
    func forgedWithoutKeyTerm() throws {
        var failures: [String] = []
        for _ in 0..<(20 * Self.rounds) {
            let (_, pk) = Ed25519.generate()
            let prepared = try #require(Ed25519PreparedKey(publicKey: pk))
            var s = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_random(&s)
            var r = [UInt8](repeating: 0, count: 32)
            #expect(crypto_scalarmult_ed25519_base_noclamp(&r, s) == 0)
            let message = Self.randomBytes(20)
            if let f = Self.compare(prepared, pk, r + s, message, "R = [S]B") { failures.append(f) }
            #expect(!prepared.acceptsWithoutLibsodium(signature: r + s, message: message))
            // And signed with a scalar key: the path must accept that one.
            let (a, pkA) = Self.scalarKey()
            let preparedA = try #require(Ed25519PreparedKey(publicKey: pkA))
            var nonce = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_random(&nonce)
            var rA = [UInt8](repeating: 0, count: 32)
            #expect(crypto_scalarmult_ed25519_base_noclamp(&rA, nonce) == 0)
            let h = Self.challenge(rA, pkA, message)
            var ha = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_mul(&ha, h, a)
            var sA = [UInt8](repeating: 0, count: 32)
            crypto_core_ed25519_scalar_add(&sA, nonce, ha)
            if let f = Self.compare(preparedA, pkA, rA + sA, message, mustAccept: true, "R = [r]B, S = r + h·a") {
                failures.append(f)
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    @Test("keys of small order, of mixed order, not canonical or not on the curve are never prepared")
    func unpreparableKeys() throws {
        for encoding in Self.smallOrderEncodings + Self.nonCanonicalSmallOrder {
            #expect(Ed25519PreparedKey(publicKey: encoding) == nil, "\(encoding.hex)")
        }
        // y ≥ p: the 19 values p … 2^255 − 1, with and without the sign bit.
        let small = [UInt8](hex: "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        for y in 0..<19 {
            var encoding = small
            encoding[0] = 0xed + UInt8(y)
            #expect(Ed25519PreparedKey(publicKey: encoding) == nil, "\(encoding.hex)")
            encoding[31] |= 0x80
            #expect(Ed25519PreparedKey(publicKey: encoding) == nil, "\(encoding.hex)")
        }
        // A point plus a point of order 8: of mixed order, which libsodium's verify takes as it is.
        var failures: [String] = []
        for _ in 0..<(4 * Self.rounds) {
            let (a, pk) = Self.scalarKey()
            var mixed = [UInt8](repeating: 0, count: 32)
            #expect(crypto_core_ed25519_add(&mixed, pk, Self.smallOrderEncodings[4]) == 0)
            #expect(Ed25519PreparedKey(publicKey: mixed) == nil)
            let message = Self.randomBytes(8)
            let sig = Self.signatureWithR(
                [UInt8](hex: "0100000000000000000000000000000000000000000000000000000000000000"),
                scalar: a,
                publicKey: mixed,
                message: message
            )
            let (valid, _) = Ed25519.verify(
                publicKey: mixed,
                signature: sig,
                message: message,
                cache: Ed25519KeyCache(capacity: 4)
            )
            #expect(valid == Ed25519.libsodiumVerify(publicKey: mixed, signature: sig, message: message))
            // Random 32 bytes: about half are not on the curve.
            let random = Self.randomBytes(32)
            if let prepared = Ed25519PreparedKey(publicKey: random) {
                #expect(crypto_core_ed25519_is_valid_point(random) == 1)
                if let f = Self.compare(prepared, random, Self.randomBytes(64), message, "random key") {
                    failures.append(f)
                }
            } else {
                #expect(EdwardsPoint(encoding: random) == nil || crypto_core_ed25519_is_valid_point(random) != 1)
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    // MARK: The cache

    @Test("Ed25519.verify prepares a key on its second use and then accepts without libsodium")
    func cacheTakesTheFastPath() throws {
        let cache = Ed25519KeyCache(capacity: 2)
        let (seed, pk) = Ed25519.generate()
        let message = Array("challenge".utf8)
        let sig = try Ed25519.sign(seed: seed, message: message)
        let first = Ed25519.verify(publicKey: pk, signature: sig, message: message, cache: cache)
        #expect(first.valid && !first.withoutLibsodium)
        #expect(!cache.isPrepared(pk))
        let second = Ed25519.verify(publicKey: pk, signature: sig, message: message, cache: cache)
        #expect(second.valid && second.withoutLibsodium)
        #expect(cache.isPrepared(pk))
        var bad = sig
        bad[40] ^= 4
        let refused = Ed25519.verify(publicKey: pk, signature: bad, message: message, cache: cache)
        #expect(!refused.valid && !refused.withoutLibsodium)
        // Two more keys that verify: the least recently used one goes.
        for _ in 0..<2 {
            let (otherSeed, other) = Ed25519.generate()
            let otherSig = try Ed25519.sign(seed: otherSeed, message: message)
            #expect(Ed25519.verify(publicKey: other, signature: otherSig, message: message, cache: cache).valid)
        }
        #expect(cache.count == 2)
        #expect(!cache.isPrepared(pk))
    }

    @Test("a key whose signatures never verified takes no place in the cache and is never prepared")
    func failedVerificationsAreNotCached() throws {
        let cache = Ed25519KeyCache(capacity: 2)
        let (seed, pk) = Ed25519.generate()
        let message = Array("challenge".utf8)
        var bad = try Ed25519.sign(seed: seed, message: message)
        bad[40] ^= 4
        // Two prepared real keys, then many uses of unknown keys with bad signatures.
        let real = try (0..<2).map { _ -> (pk: [UInt8], sig: [UInt8]) in
            let (s, p) = Ed25519.generate()
            return (p, try Ed25519.sign(seed: s, message: message))
        }
        for r in real {
            for _ in 0..<2 { _ = Ed25519.verify(publicKey: r.pk, signature: r.sig, message: message, cache: cache) }
            #expect(cache.isPrepared(r.pk))
        }
        for _ in 0..<3 {
            #expect(!Ed25519.verify(publicKey: pk, signature: bad, message: message, cache: cache).valid)
            let stranger = Ed25519.generate().publicKey
            #expect(!Ed25519.verify(publicKey: stranger, signature: bad, message: message, cache: cache).valid)
        }
        #expect(!cache.isPrepared(pk))
        #expect(cache.count == 2)
        for r in real { #expect(cache.isPrepared(r.pk)) }
    }

    @Test("KEYSMITH_ED25519=libsodium leaves every verification to libsodium")
    func libsodiumOnlySwitch() throws {
        #expect(!Ed25519.usesPreparedKeys(environmentValue: "libsodium"))
        #expect(Ed25519.usesPreparedKeys(environmentValue: nil))
        #expect(Ed25519.usesPreparedKeys(environmentValue: "prepared"))
        let cache = Ed25519KeyCache(capacity: 2)
        let (seed, pk) = Ed25519.generate()
        let message = Array("challenge".utf8)
        let sig = try Ed25519.sign(seed: seed, message: message)
        for _ in 0..<3 {
            let result = Ed25519.verify(
                publicKey: pk,
                signature: sig,
                message: message,
                cache: cache,
                preparedKeys: false
            )
            #expect(result.valid && !result.withoutLibsodium)
        }
        #expect(cache.count == 0)
    }

    @Test("the differential harness of FuzzEd25519 finds the two paths agreeing on every kind of case")
    func differentialHarness() {
        var failures: [String] = []
        var g = SystemRandomNumberGenerator()
        for round in 0..<(240 * Self.rounds) {
            var input = [UInt8(round % Ed25519Differential.caseCount)]
            input += (0..<(33 + round % 90)).map { _ in UInt8.random(in: 0...255, using: &g) }
            if let failure = Ed25519Differential.disagreement(input) { failures.append(failure) }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.first ?? "")")
    }

    @Test("the long differential run, briefly: no disagreement, and valid and invalid cases both")
    func longRunBriefly() {
        let summary = Ed25519Differential.run(count: 600 * Self.rounds, seed: 3, keyCount: 8, messagesPerKey: 4)
        #expect(summary.disagreements.isEmpty, "\(summary.disagreements.first ?? "")")
        #expect(summary.cases == 600 * Self.rounds)
        #expect(summary.accepted > summary.cases / 10 && summary.accepted < summary.cases / 2)
    }

    @Test("many threads verifying through one cache agree with libsodium")
    func concurrentVerification() throws {
        let cache = Ed25519KeyCache(capacity: 3)
        let cases: [(pk: [UInt8], sig: [UInt8], message: [UInt8], valid: Bool)] = try (0..<4).flatMap { i in
            let (seed, pk) = Ed25519.generate()
            let message = Array("message \(i)".utf8)
            let sig = try Ed25519.sign(seed: seed, message: message)
            var bad = sig
            bad[63] ^= 1
            return [(pk, sig, message, true), (pk, bad, message, false)]
        }
        let mismatches = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for j in 0..<40 {
                let c = cases[j % cases.count]
                if Ed25519.verify(publicKey: c.pk, signature: c.sig, message: c.message, cache: cache).valid != c.valid
                {
                    mismatches.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
        #expect(mismatches.load(ordering: .relaxed) == 0)
        #expect(cache.count <= 3)
    }
}

extension [UInt8] {
    fileprivate var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: self.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}
