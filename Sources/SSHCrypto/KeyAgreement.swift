internal import COpenSSL
internal import CSodium

/// libsodium picks its X25519 implementation in `sodium_init`; a global's initialiser runs once, thread-safely.
private let sodiumIsReady: Bool = sodium_init() >= 0

/// X25519 (RFC 7748) through libsodium, for curve25519-sha256 key exchange (RFC 8731).
package enum X25519 {
    /// The length of a private scalar, a public value and a shared secret.
    package static let keySize = 32

    /// A new key pair: a 32-byte private scalar and the 32-byte public value.
    package static func generate() -> (privateKey: SecureBytes, publicKey: [UInt8]) {
        precondition(sodiumIsReady, "libsodium failed to initialise")
        let privateKey = SecureBytes(count: Self.keySize)
        SecureRandom.fill(privateKey)
        var publicKey = [UInt8](repeating: 0, count: Self.keySize)
        // X25519(k, 9) cannot fail: the base point is not of small order.
        let rc = privateKey.withUnsafeBytes { k in
            publicKey.withUnsafeMutableBufferPointer { q in
                crypto_scalarmult_curve25519_base(q.baseAddress!, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        precondition(rc == 0, "crypto_scalarmult_curve25519_base failed")
        return (privateKey, publicKey)
    }

    /// The 32-byte shared secret X25519(privateKey, peerPublicKey).
    /// - Throws: `.invalidKey` for a peer value that is not 32 bytes or gives an all-zero secret.
    package static func sharedSecret(
        privateKey: SecureBytes,
        peerPublicKey: some Collection<UInt8>
    ) throws(CryptoError) -> SecureBytes {
        guard sodiumIsReady else { throw CryptoError(.libraryFailure, "libsodium failed to initialise") }
        guard privateKey.count == Self.keySize else {
            throw CryptoError(.invalidKey, "an X25519 private key is 32 bytes, not \(privateKey.count)")
        }
        let peer = Array(peerPublicKey)
        guard peer.count == Self.keySize else {
            throw CryptoError(.invalidKey, "an X25519 public value is 32 bytes, not \(peer.count)")
        }
        let secret = SecureBytes(count: Self.keySize)
        let rc = secret.withUnsafeMutableBytes { q in
            privateKey.withUnsafeBytes { n in
                peer.withUnsafeBufferPointer { p in
                    crypto_scalarmult_curve25519(
                        q.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        n.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        p.baseAddress!
                    )
                }
            }
        }
        // RFC 7748 §6.1 and RFC 8731 §3: a small-order peer value gives the all-zero
        // secret, which must be refused (libsodium returns -1 for it; check it anyway).
        let isZero = secret.withUnsafeBytes {
            sodium_is_zero($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count)
        }
        guard rc == 0, isZero == 0 else {
            throw CryptoError(.invalidKey, "the X25519 public value gives an all-zero shared secret")
        }
        return secret
    }
}

/// An ephemeral ECDH key on a NIST curve (RFC 5656 §4), backed by OpenSSL.
package final class ECDHKey {
    private let key: EVPKey
    /// The curve.
    package let curve: ECCurve
    /// Our public point, uncompressed (0x04 || X || Y).
    package let publicPoint: [UInt8]

    /// Generates a key on `curve`.
    package init(curve: ECCurve) throws(CryptoError) {
        // An ECDH key is an EC key pair like an ECDSA one; only its use differs.
        let generated = try ECDSAKey.generate(curve: curve)
        self.key = generated.key
        self.curve = curve
        self.publicPoint = generated.publicPoint
    }

    /// The shared secret: the X coordinate of d·Q as a fixed-length big-endian number.
    ///
    /// The length is the field size: 32, 48 or 66 bytes. SSH hashes it as an mpint
    /// (RFC 5656 §4), which is the caller's encoding to apply.
    /// - Throws: `.invalidKey` when `peerPoint` is not an uncompressed point on the curve.
    package func sharedSecret(peerPoint: some Collection<UInt8>) throws(CryptoError) -> SecureBytes {
        // RFC 5656 §4: the peer's point must be validated (SEC1 3.2.2.1); the
        // initializer accepts only an uncompressed point on the curve, not infinity.
        let peer = try ECDSAKey(curve: self.curve, publicPoint: peerPoint)
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, self.key.pointer, nil) else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_CTX_new_from_pkey failed")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1 else { throw openSSLError(.libraryFailure, "EVP_PKEY_derive_init failed") }
        guard EVP_PKEY_derive_set_peer_ex(ctx, peer.key.pointer, 1) == 1 else {
            throw openSSLError(.invalidKey, "the peer's EC point was refused")
        }
        let fieldSize = (self.curve.bits + 7) / 8
        var length = 0
        guard EVP_PKEY_derive(ctx, nil, &length) == 1, length == fieldSize else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_derive (size) failed")
        }
        let secret = SecureBytes(count: fieldSize)
        let ok = secret.withUnsafeMutableBytes { out in
            EVP_PKEY_derive(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
        }
        // OpenSSL pads the X coordinate to the field size; anything else is not the secret we describe.
        guard ok == 1, length == fieldSize else { throw openSSLError(.libraryFailure, "EVP_PKEY_derive failed") }
        return secret
    }
}

/// A finite-field Diffie-Hellman group: a safe prime p and generator g.
package final class DHGroup: @unchecked Sendable {
    // @unchecked: immutable after construction; OpenSSL only reads p, p-1 and g.
    let p: BigNumber
    let g: BigNumber
    let pMinusOne: BigNumber

    /// diffie-hellman-group14 (RFC 3526 §3, 2048-bit MODP, g = 2).
    package static let group14 = DHGroup(modpPrime: modp2048)
    /// diffie-hellman-group16 (RFC 3526 §5, 4096-bit MODP, g = 2).
    package static let group16 = DHGroup(modpPrime: modp4096)
    /// diffie-hellman-group18 (RFC 3526 §7, 8192-bit MODP, g = 2).
    package static let group18 = DHGroup(modpPrime: modp8192)

    /// The group sizes a client accepts from a server, OpenSSH's DH_GRP_MIN and DH_GRP_MAX.
    package static let groupExchangeBits = 2048...8192

    /// A group sent by a server in diffie-hellman-group-exchange (RFC 4419).
    /// - Throws: `.invalidParameter` when p is outside 2048...8192 bits, even, or g is not in (1, p-1).
    package init(prime: some Collection<UInt8>, generator: some Collection<UInt8>) throws(CryptoError) {
        let p = try BigNumber(prime)
        let g = try BigNumber(generator)
        // RFC 4419 §3: the client checks the group's size against what it asked for;
        // OpenSSH's kexgexc.c refuses anything outside DH_GRP_MIN...DH_GRP_MAX.
        guard Self.groupExchangeBits.contains(p.bitCount) else {
            throw CryptoError(.invalidParameter, "a \(p.bitCount)-bit DH group is outside 2048 to 8192 bits")
        }
        guard p.isOdd else { throw CryptoError(.invalidParameter, "the DH group's prime is even") }
        let pMinusOne = try Self.minusOne(p)
        guard !g.isZero, !g.isOne, g < pMinusOne else {
            throw CryptoError(.invalidParameter, "the DH generator is not between 1 and p-1")
        }
        self.p = p
        self.g = g
        self.pMinusOne = pMinusOne
    }

    /// One of RFC 3526's groups, whose generator is 2.
    private init(modpPrime hex: String) {
        // The constants below are well-formed; a failure here is OpenSSL out of memory.
        do {
            self.p = try BigNumber(hexConstant(hex))
            self.g = try BigNumber([2])
            self.pMinusOne = try Self.minusOne(self.p)
        } catch {
            fatalError("\(error)")
        }
    }

    private static func minusOne(_ n: BigNumber) throws(CryptoError) -> BigNumber {
        guard let copy = BN_dup(n.pointer) else { throw openSSLError(.libraryFailure, "BN_dup failed") }
        let result = BigNumber(takingOwnershipOf: copy, secret: false)
        guard BN_sub_word(result.pointer, 1) == 1 else { throw openSSLError(.libraryFailure, "BN_sub_word failed") }
        return result
    }

    /// p as an unsigned big-endian number.
    package var prime: [UInt8] { self.p.bytes }
    /// g as an unsigned big-endian number.
    package var generator: [UInt8] { self.g.bytes }
    /// The size of p in bits.
    package var bits: Int { self.p.bitCount }

    /// The security strength of the group in bits, by the table of OpenSSH's dh_estimate
    /// read backwards (2048 → 112, 3072 → 128, 7680 → 192, 8192 → 256).
    var securityBits: Int {
        switch self.bits {
        case ..<3072: 112
        case ..<7680: 128
        case ..<8192: 192
        default: 256
        }
    }
}

/// An ephemeral DH key pair in a group.
package final class DHKeyPair {
    /// The group.
    package let group: DHGroup
    private let x: BigNumber
    /// e = g^x mod p, unsigned big-endian.
    package let publicValue: [UInt8]

    /// Picks a random private exponent x (at least twice the group's security strength
    /// in bits, as OpenSSH's dh_gen_key) and computes e = g^x mod p.
    ///
    /// OpenSSH's dh_gen_key takes `need`, the bits of key material the session needs
    /// (at least the kex hash's length), raises it to at least 256, and draws an
    /// exponent of min(2·need, |p|-1) bits. Here need is the larger of the group's
    /// security strength, 256 and `strength`; pass the kex hash's size in bits
    /// (256 for -sha256, 512 for -sha512) to draw what OpenSSH draws.
    package init(group: DHGroup, strength: Int = 0) throws(CryptoError) {
        let need = max(256, group.securityBits, strength)
        let exponentBits = min(2 * need, group.bits - 1)
        let ctx = try BigNumberContext()
        let x = try BigNumber(secret: true)
        BN_set_flags(x.pointer, BN_FLG_CONSTTIME)
        let e = try BigNumber()
        // dh_gen_key checks its own e with dh_pub_is_valid; a failure is astronomically
        // unlikely, so draw again a few times before giving up.
        for _ in 0..<8 {
            // The top bit set makes x exactly `exponentBits` long, so 1 < x < p-1.
            guard BN_priv_rand(x.pointer, Int32(exponentBits), BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 else {
                throw openSSLError(.libraryFailure, "BN_priv_rand failed")
            }
            guard
                BN_mod_exp_mont_consttime(e.pointer, group.g.pointer, x.pointer, group.p.pointer, ctx.pointer, nil) == 1
            else {
                throw openSSLError(.libraryFailure, "BN_mod_exp_mont_consttime failed")
            }
            if Self.isValidPublicValue(e, in: group) {
                self.group = group
                self.x = x
                self.publicValue = e.bytes
                return
            }
        }
        throw CryptoError(.libraryFailure, "no valid DH public value after 8 tries")
    }

    /// The length of the private exponent in bits, for tests of the rule above.
    var privateExponentBits: Int { self.x.bitCount }

    /// K = f^x mod p, unsigned big-endian without leading zeros.
    /// - Throws: `.invalidKey` unless 1 < f < p-1 (RFC 4253 §8, OpenSSH's dh_pub_is_valid).
    package func sharedSecret(peerPublicValue: some Collection<UInt8>) throws(CryptoError) -> SecureBytes {
        let f = try BigNumber(peerPublicValue)
        guard Self.isValidPublicValue(f, in: self.group) else {
            throw CryptoError(.invalidKey, "the peer's DH public value is not in the group")
        }
        let ctx = try BigNumberContext()
        let k = try BigNumber(secret: true)
        guard
            BN_mod_exp_mont_consttime(k.pointer, f.pointer, self.x.pointer, self.group.p.pointer, ctx.pointer, nil) == 1
        else {
            throw openSSLError(.libraryFailure, "BN_mod_exp_mont_consttime failed")
        }
        return k.secureBytes
    }

    /// RFC 4253 §8: "Values of 'e' or 'f' that are not in the range [1, p-1] MUST NOT be
    /// sent or accepted". OpenSSH's dh_pub_is_valid is stricter, as we are: 1 < v < p-1,
    /// and at least 4 bits set (with g = 2, a power of two has a trivial logarithm).
    private static func isValidPublicValue(_ v: BigNumber, in group: DHGroup) -> Bool {
        guard !v.isZero, !v.isOne, v < group.pMinusOne else { return false }
        var bitsSet = 0
        for i in 0..<Int32(v.bitCount) where BN_is_bit_set(v.pointer, i) == 1 {
            bitsSet += 1
            if bitsSet >= 4 { return true }
        }
        return false
    }
}

/// The bytes of a hex constant written in this file (whitespace ignored).
private func hexConstant(_ hex: String) -> [UInt8] {
    let digits = hex.utf8.filter { !($0 == 0x20 || $0 == 0x0A) }
    precondition(digits.count % 2 == 0, "odd hex constant")
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: preconditionFailure("not a hex digit in a constant")
        }
    }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = digits.startIndex
    while i < digits.endIndex {
        out.append(nibble(digits[i]) << 4 | nibble(digits[i + 1]))
        i += 2
    }
    return out
}

// RFC 3526's MODP primes, p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + c),
// as hex. They match OpenSSL's built-in modp_2048/4096/8192 and OpenSSH's dh.c
// (DHTests checks them against `openssl genpkey -pkeyopt group:modp_N`).

/// RFC 3526 §3, the 2048-bit MODP group (group 14).
private let modp2048 = """
    FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74
    020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437
    4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED
    EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05
    98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB
    9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B
    E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718
    3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF
    """

/// RFC 3526 §5, the 4096-bit MODP group (group 16).
private let modp4096 = """
    FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74
    020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437
    4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED
    EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05
    98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB
    9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B
    E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718
    3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33
    A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7
    ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864
    D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2
    08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7
    88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8
    DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2
    233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9
    93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF
    """

/// RFC 3526 §7, the 8192-bit MODP group (group 18).
private let modp8192 = """
    FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74
    020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437
    4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED
    EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05
    98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB
    9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B
    E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718
    3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33
    A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7
    ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864
    D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2
    08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7
    88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8
    DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2
    233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9
    93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026
    C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE
    B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B
    DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC
    F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E
    59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA
    CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76
    F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468
    043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E4
    38777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED
    2576F6936BA424663AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652D
    E3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B
    4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A6
    6D2A13F83F44F82DDF310EE074AB6A364597E899A0255DC164F31CC50846851D
    F9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92
    4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA
    9E3050E2765694DFC81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF
    """
