internal import CSodium
import Synchronization

/// libsodium must be initialised before `crypto_core_ed25519_*`; `sodium_init` may be called again.
private let sodiumIsReadyForPreparedKeys: Bool = sodium_init() >= 0

/// An Ed25519 public key prepared for many verifications: the point A decoded once and a
/// fixed-base table of its multiples (30,720 bytes, see `FixedBaseTable`), so that
/// [S]B − [h]A costs table additions only, about a third of a general double-scalar
/// multiplication.
///
/// It only ever accepts. `acceptsWithoutLibsodium` returns true only for a signature that
/// libsodium's `crypto_sign_verify_detached` accepts too; false means "not decided here",
/// and the caller asks libsodium (see `Ed25519.verify`). A key libsodium would refuse, or one
/// that is not of prime order, is never prepared.
package final class Ed25519PreparedKey: Sendable {
    /// The 32-byte encoding.
    package let publicKey: [UInt8]
    private let table: FixedBaseTable

    /// Prepares `publicKey`, or nil when it is not a canonical encoding of a point of order ℓ
    /// (libsodium's `crypto_core_ed25519_is_valid_point` must agree, too).
    package init?(publicKey: [UInt8]) {
        guard sodiumIsReadyForPreparedKeys, publicKey.count == Ed25519.publicKeySize else { return nil }
        guard publicKey.withUnsafeBufferPointer({ crypto_core_ed25519_is_valid_point($0.baseAddress!) }) == 1 else {
            return nil
        }
        guard let point = EdwardsPoint(encoding: publicKey), !point.isIdentity, point.encoding == publicKey else {
            return nil
        }
        let table = FixedBaseTable(point, layout: .publicKey)
        // [ℓ]A must be the identity: A has prime order ℓ, no small-order component.
        let orderDigits = Self.groupOrder.withUnsafeBytes { SignedDigits(scalar: $0, width: 4) }
        guard EdwardsPoint.negatedMultiple(h: orderDigits, point: table).isIdentity else { return nil }
        self.publicKey = publicKey
        self.table = table
    }

    /// ℓ = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1), little-endian.
    static let groupOrder: [UInt8] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]

    /// ℓ as four little-endian words, most significant last.
    private static let orderWords: (UInt64, UInt64, UInt64, UInt64) = (
        0x5812_631a_5cf5_d3ed, 0x14de_f9de_a2f7_9cd6, 0, 0x1000_0000_0000_0000
    )

    /// Whether the little-endian scalar is below ℓ.
    static func isCanonicalScalar(_ s: UnsafeRawBufferPointer) -> Bool {
        let w0 = UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let w1 = UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let w2 = UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        let w3 = UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        let l = Self.orderWords
        if w3 != l.3 { return w3 < l.3 }
        if w2 != l.2 { return w2 < l.2 }
        if w1 != l.1 { return w1 < l.1 }
        return w0 < l.0
    }

    /// True when `signature` (R ‖ S, 64 bytes) is valid for `message` under this key, by the
    /// rules of libsodium 1.0.18's `crypto_sign_verify_detached`: S < ℓ, R not of small order,
    /// and the encoding of [S]B − [h]A equal to R's 32 bytes, h = SHA-512(R ‖ A ‖ M) mod ℓ
    /// (RFC 8032 §5.1.7 without the cofactor). False when it is not, or when this path does
    /// not decide: then ask libsodium.
    package func acceptsWithoutLibsodium(signature: [UInt8], message: some Collection<UInt8>) -> Bool {
        guard signature.count == Ed25519.signatureSize else { return false }
        return signature.withUnsafeBytes { sig in
            let r = UnsafeRawBufferPointer(rebasing: sig[0..<32])
            let s = UnsafeRawBufferPointer(rebasing: sig[32..<64])
            guard Self.isCanonicalScalar(s) else { return false }
            // h = SHA-512(R ‖ A ‖ M) mod ℓ.
            var digest = (SIMD64<UInt8>())
            var h = (SIMD32<UInt8>())
            var state = crypto_hash_sha512_state()
            crypto_hash_sha512_init(&state)
            crypto_hash_sha512_update(&state, r.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            self.publicKey.withUnsafeBufferPointer { _ = crypto_hash_sha512_update(&state, $0.baseAddress!, 32) }
            withContiguousBytesForC(message) { m in
                _ = crypto_hash_sha512_update(
                    &state,
                    m.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    UInt64(m.count)
                )
            }
            withUnsafeMutableBytes(of: &digest) { d in
                _ = crypto_hash_sha512_final(&state, d.baseAddress!.assumingMemoryBound(to: UInt8.self))
                withUnsafeMutableBytes(of: &h) { out in
                    crypto_core_ed25519_scalar_reduce(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        d.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
            }
            let sDigits = SignedDigits(scalar: s, width: 6)
            let hDigits = withUnsafeBytes(of: &h) { SignedDigits(scalar: $0, width: 4) }
            let check = EdwardsPoint.combination(s: sDigits, h: hDigits, point: self.table)
            let (c0, c1, c2, c3) = check.encodingWords
            guard c0 == UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                c1 == UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                c2 == UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                c3 == UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            else { return false }
            // libsodium refuses an R of small order; [8]R = 0 says so. Such a signature is left to it.
            guard !check.doubled().doubled().doubled().isIdentity else { return false }
            return true
        }
    }
}

/// The Ed25519 public keys that lately verified a signature, and for those used again their
/// prepared form; thread-safe. A key enters only once a signature under it verified
/// (`recordVerified`, 32 bytes), so keys that never signed anything valid (an unknown key
/// sent by anyone) take no place and push no real key out; its next use prepares it (about
/// two verifications' worth of work), and later ones use the table. At most `capacity` keys
/// are kept, the least recently used evicted first: with the default 256, at most
/// 256 × 30,720 bytes = 7.5 MiB of tables.
package final class Ed25519KeyCache: Sendable {
    /// The cache `Ed25519.verify` uses.
    package static let shared = Ed25519KeyCache(capacity: 256)

    private struct KeyBytes: Hashable {
        var w0, w1, w2, w3: UInt64

        init(_ bytes: [UInt8]) {
            (self.w0, self.w1, self.w2, self.w3) = bytes.withUnsafeBytes { raw in
                (
                    raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                )
            }
        }
    }

    private enum Status {
        case verifiedOnce, preparing, unpreparable
        case prepared(Ed25519PreparedKey)
    }

    private struct Entry {
        var status: Status
        var lastUse: UInt64
    }

    private struct State {
        var entries: [KeyBytes: Entry] = [:]
        var clock: UInt64 = 0
    }

    private enum Lookup {
        case none, prepare
        case prepared(Ed25519PreparedKey)
    }

    /// The most keys kept.
    package let capacity: Int
    private let state = Mutex(State())

    package init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The prepared form of `publicKey` (32 bytes) when it has one, preparing it when a
    /// signature under it verified before; nil for a key not recorded (`recordVerified`),
    /// while another thread prepares it, or when it cannot be prepared. Records nothing.
    package func preparedKey(for publicKey: [UInt8]) -> Ed25519PreparedKey? {
        guard publicKey.count == Ed25519.publicKeySize else { return nil }
        let key = KeyBytes(publicKey)
        let lookup = self.state.withLock { state -> Lookup in
            guard var entry = state.entries[key] else { return .none }
            state.clock &+= 1
            entry.lastUse = state.clock
            let lookup: Lookup
            switch entry.status {
            case .prepared(let prepared): lookup = .prepared(prepared)
            case .preparing, .unpreparable: lookup = .none
            case .verifiedOnce:
                entry.status = .preparing
                lookup = .prepare
            }
            state.entries[key] = entry
            return lookup
        }
        switch lookup {
        case .none: return nil
        case .prepared(let prepared): return prepared
        case .prepare:
            let prepared = Ed25519PreparedKey(publicKey: publicKey)
            self.state.withLock { state in
                // Evicted meanwhile: the table is used this once and not kept.
                guard state.entries[key] != nil else { return }
                state.entries[key]?.status = prepared.map { .prepared($0) } ?? .unpreparable
            }
            return prepared
        }
    }

    /// Records that a signature under `publicKey` (32 bytes) verified, so that its next use
    /// prepares it; evicts the least recently used key when full. A key already kept is only
    /// marked as used.
    package func recordVerified(_ publicKey: [UInt8]) {
        guard publicKey.count == Ed25519.publicKeySize else { return }
        let key = KeyBytes(publicKey)
        self.state.withLock { state in
            state.clock &+= 1
            if state.entries[key] != nil {
                state.entries[key]?.lastUse = state.clock
                return
            }
            if state.entries.count >= self.capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.entries.removeValue(forKey: oldest.key)
            }
            state.entries[key] = Entry(status: .verifiedOnce, lastUse: state.clock)
        }
    }

    /// Whether `publicKey` currently has a prepared form here.
    package func isPrepared(_ publicKey: [UInt8]) -> Bool {
        guard publicKey.count == Ed25519.publicKeySize else { return false }
        return self.state.withLock { state in
            if case .prepared = state.entries[KeyBytes(publicKey)]?.status { return true }
            return false
        }
    }

    /// How many keys are kept (prepared or not).
    package var count: Int { self.state.withLock { $0.entries.count } }
}
