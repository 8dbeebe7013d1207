internal import CSodium

/// One case of the differential check of the prepared-key path (`Ed25519PreparedKey`) against
/// libsodium's `crypto_sign_verify_detached`, built from arbitrary bytes: the libFuzzer target
/// `FuzzEd25519` and the long differential run feed it, and a disagreement is a crash there.
///
/// Input: byte 0 picks the case, bytes 1...32 are a seed, the rest is the message (its last
/// two bytes also pick a position and a small-order point). Cases: a valid signature; one bit
/// flipped in the signature, the message or the key; S + ℓ; R replaced by a point of small
/// order; the key plus a point of small order (then signed by hand, so that libsodium accepts
/// about half of the order-2 cases); a hand-made signature with the nonce taken from the input
/// (0 gives R = the identity); and key, signature and message taken raw from the input.
package enum Ed25519Differential {
    /// The encodings of points of small order (RFC 8032 §5.1.3 decodes each): the identity,
    /// the point of order 2, the two of order 4 and four of order 8.
    static let smallOrderPoints: [[UInt8]] = [
        [1] + [UInt8](repeating: 0, count: 31),
        [0xec] + [UInt8](repeating: 0xff, count: 30) + [0x7f],
        [UInt8](repeating: 0, count: 32),
        [UInt8](repeating: 0, count: 31) + [0x80],
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    ]

    /// The number of cases `check` distinguishes (byte 0 modulo this).
    static let caseCount = 12

    /// Runs one case. Returns nil when the prepared path and libsodium agree (or the key
    /// cannot be prepared, so the path is never used for it), otherwise what they said.
    package static func disagreement(_ data: [UInt8]) -> String? {
        guard sodium_init() >= 0 else { return nil }
        let choice = Int(data.first ?? 0) % Self.caseCount
        var seed = Array(data.dropFirst().prefix(32))
        seed += [UInt8](repeating: 0, count: 32 - seed.count)
        var message = Array(data.dropFirst(33))
        let position = Int(message.last ?? 0)
        let other = Int(message.dropLast().last ?? 0)

        var publicKey = [UInt8](repeating: 0, count: 32)
        var secretKey = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_seed_keypair(&publicKey, &secretKey, seed)
        var signature = Self.sign(message, secretKey: secretKey)

        switch choice {
        case 1: signature[other % 64] ^= 1 << (position % 8)
        case 2: if !message.isEmpty { message[other % message.count] ^= 1 << (position % 8) }
        case 3: publicKey[other % 32] ^= 1 << (position % 8)
        case 4: signature.replaceSubrange(32..<64, with: Self.addOrder(Array(signature[32..<64])))
        case 5: signature.replaceSubrange(0..<32, with: Self.smallOrderPoints[position % 8])
        case 6, 7:
            // A key of mixed order, A + T, and a signature made for it with A's scalar.
            var mixed = [UInt8](repeating: 0, count: 32)
            let torsion = Self.smallOrderPoints[choice == 6 ? 1 : position % 8]
            guard crypto_core_ed25519_add(&mixed, publicKey, torsion) == 0 else { return nil }
            publicKey = mixed
            signature = Self.handSign(message, seed: seed, publicKey: publicKey, nonce: Array(seed.reversed()))
        case 8:
            // A hand-made signature whose nonce comes from the input; a zero nonce gives R = 0.
            let nonce = position % 4 == 0 ? [UInt8](repeating: 0, count: 32) : Array(message.prefix(32))
            signature = Self.handSign(message, seed: seed, publicKey: publicKey, nonce: nonce)
        case 9:
            // Key, signature and message as given.
            publicKey = seed
            signature = Array(message.prefix(64))
            signature += [UInt8](repeating: 0, count: 64 - signature.count)
            message = Array(message.dropFirst(64))
        case 10: publicKey = Self.smallOrderPoints[position % 8]
        case 11: signature.replaceSubrange(32..<64, with: Self.subtractFromOrder(Array(signature[32..<64])))
        default: break
        }

        let oracle = Ed25519.libsodiumVerify(publicKey: publicKey, signature: signature, message: message)
        guard let prepared = Ed25519PreparedKey(publicKey: publicKey) else { return nil }
        let fast = prepared.acceptsWithoutLibsodium(signature: signature, message: message)
        guard fast != oracle else { return nil }
        return "case \(choice): prepared path \(fast), libsodium \(oracle); pk \(hexString(publicKey))"
            + " sig \(hexString(signature)) msg \(hexString(message))"
    }

    private static func sign(_ message: [UInt8], secretKey: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        let storage = message.isEmpty ? [0] : message
        _ = crypto_sign_detached(&signature, nil, storage, UInt64(message.count), secretKey)
        return signature
    }

    /// R = [r]B for r = `nonce` mod ℓ, S = r + h·a mod ℓ with h = SHA-512(R ‖ publicKey ‖ M):
    /// a signature by `seed`'s scalar for whatever point `publicKey` is.
    private static func handSign(_ message: [UInt8], seed: [UInt8], publicKey: [UInt8], nonce: [UInt8]) -> [UInt8] {
        var expanded = [UInt8](repeating: 0, count: 64)
        _ = crypto_hash_sha512(&expanded, seed, 32)
        var clamped = Array(expanded.prefix(32))
        clamped[0] &= 248
        clamped[31] &= 127
        clamped[31] |= 64
        let a = Self.reduce(clamped)
        let r = Self.reduce(nonce)
        var point = [UInt8](repeating: 0, count: 32)
        if crypto_scalarmult_ed25519_base_noclamp(&point, r) != 0 {
            point = Self.smallOrderPoints[0]
        }
        var digest = [UInt8](repeating: 0, count: 64)
        let input = point + publicKey + message
        _ = crypto_hash_sha512(&digest, input, UInt64(input.count))
        var h = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_reduce(&h, digest)
        var ha = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_mul(&ha, h, a)
        var s = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_add(&s, r, ha)
        return point + s
    }

    /// `bytes` (at most 64, little-endian) reduced modulo ℓ.
    private static func reduce(_ bytes: [UInt8]) -> [UInt8] {
        var wide = Array(bytes.prefix(64))
        wide += [UInt8](repeating: 0, count: 64 - wide.count)
        var out = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_reduce(&out, wide)
        return out
    }

    /// s + ℓ modulo 2^256: the same scalar, not canonically encoded.
    private static func addOrder(_ s: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var carry = 0
        for i in 0..<32 {
            let sum = Int(s[i]) + Int(Ed25519PreparedKey.groupOrder[i]) + carry
            out[i] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
        return out
    }

    /// ℓ − 1 − (s mod 2^252): scalars near the order, canonical.
    private static func subtractFromOrder(_ s: [UInt8]) -> [UInt8] {
        var small = s
        small[31] &= 0x0f
        var out = [UInt8](repeating: 0, count: 32)
        var borrow = 1
        for i in 0..<32 {
            let difference = Int(Ed25519PreparedKey.groupOrder[i]) - Int(small[i]) - borrow
            out[i] = UInt8(truncatingIfNeeded: difference)
            borrow = difference < 0 ? 1 : 0
        }
        return borrow == 0 ? out : small
    }
}

private func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        out.append(UInt8(hexDigit(high) << 4 | hexDigit(low)))
    }
    return out
}

private func hexDigit(_ c: UInt8) -> UInt8 {
    c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : c - UInt8(ascii: "a") + 10
}

private func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
}

extension Ed25519Differential {
    /// What a long differential run found.
    package struct RunSummary: Sendable {
        /// Cases compared, and how many of them libsodium accepted.
        package var cases = 0
        package var accepted = 0
        /// Descriptions of the cases where the prepared path and libsodium disagreed.
        package var disagreements: [String] = []
    }

    /// The long differential run: `count` cases over `keyCount` keys, each prepared once,
    /// with `messagesPerKey` messages signed once per key; each case takes one of those
    /// signatures and keeps it, or flips a bit of R, S or the message, adds ℓ to S, puts a
    /// point of small order or a random point for R, takes S near ℓ, pairs it with another
    /// message or key, or replaces it with random bytes. Each case is decided by
    /// `Ed25519PreparedKey.acceptsWithoutLibsodium` and by libsodium, and must agree.
    /// Deterministic for a given `seed`; `progress` is called every `progressEvery` cases.
    package static func run(
        count: Int,
        seed: UInt64,
        keyCount: Int = 256,
        messagesPerKey: Int = 16,
        progressEvery: Int = 1_000_000,
        progress: (RunSummary) -> Void = { _ in }
    ) -> RunSummary {
        precondition(sodium_init() >= 0)
        var random = SplitMix64(seed)
        struct Signed {
            var message: [UInt8]
            var signature: [UInt8]
        }
        var keys: [(publicKey: [UInt8], prepared: Ed25519PreparedKey, signed: [Signed])] = []
        while keys.count < keyCount {
            let seedBytes = random.bytes(32)
            var publicKey = [UInt8](repeating: 0, count: 32)
            var secretKey = [UInt8](repeating: 0, count: 64)
            _ = crypto_sign_seed_keypair(&publicKey, &secretKey, seedBytes)
            guard let prepared = Ed25519PreparedKey(publicKey: publicKey) else { continue }
            let signed = (0..<messagesPerKey).map { _ -> Signed in
                let message = random.bytes(Int(random.next() % 200))
                return Signed(message: message, signature: Self.sign(message, secretKey: secretKey))
            }
            keys.append((publicKey, prepared, signed))
        }
        var summary = RunSummary()
        for i in 0..<count {
            let k = Int(random.next() % UInt64(keys.count))
            let key = keys[k]
            let base = key.signed[Int(random.next() % UInt64(messagesPerKey))]
            var message = base.message
            var signature = base.signature
            let r = random.next()
            let position = Int(r >> 8 % 64)
            let bit = UInt8(1) << UInt8(r >> 16 % 8)
            switch r % 12 {
            case 0, 1: break
            case 2: signature[32 + position % 32] ^= bit
            case 3: signature[position % 32] ^= bit
            case 4: if !message.isEmpty { message[position % message.count] ^= bit } else { message = [bit] }
            case 5: signature.replaceSubrange(32..<64, with: Self.addOrder(Array(signature[32..<64])))
            case 6: signature.replaceSubrange(0..<32, with: Self.smallOrderPoints[position % 8])
            case 7: signature.replaceSubrange(32..<64, with: Self.subtractFromOrder(Array(signature[32..<64])))
            case 8: message = key.signed[(position + 1) % messagesPerKey].message
            case 9: signature = keys[(k + 1) % keys.count].signed[position % messagesPerKey].signature
            case 10: signature = random.bytes(64)
            default: signature.replaceSubrange(0..<32, with: random.bytes(32))
            }
            let oracle = Ed25519.libsodiumVerify(publicKey: key.publicKey, signature: signature, message: message)
            let fast = key.prepared.acceptsWithoutLibsodium(signature: signature, message: message)
            summary.cases += 1
            if oracle { summary.accepted += 1 }
            if fast != oracle {
                summary.disagreements.append(
                    "prepared path \(fast), libsodium \(oracle); pk \(hexString(key.publicKey))"
                        + " sig \(hexString(signature)) msg \(hexString(message))"
                )
            }
            if (i + 1) % progressEvery == 0 { progress(summary) }
        }
        return summary
    }
}

/// SplitMix64: a fast, seedable generator for reproducible runs (not for secrets).
struct SplitMix64 {
    private var state: UInt64

    init(_ seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9e37_79b9_7f4a_7c15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count { withUnsafeBytes(of: self.next()) { out += $0 } }
        return Array(out.prefix(count))
    }
}
