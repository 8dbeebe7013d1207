internal import COpenSSL

/// An RSA key, public or private, backed by an OpenSSL `EVP_PKEY`.
///
/// Numbers cross this API as unsigned big-endian byte strings without leading zeros.
package final class RSAKey: @unchecked Sendable {
    // @unchecked: the wrapped EVP_PKEY is never mutated after construction.

    /// The modulus sizes we generate and accept. 1024 is OpenSSH's
    /// SSH_RSA_MINIMUM_MODULUS_SIZE; 16384 is OpenSSH's SSHBUF_MAX_BIGNUM * 8.
    package static let allowedBits = 1024...16384

    let key: EVPKey
    /// Whether the key holds private components.
    package let isPrivate: Bool

    init(key: EVPKey, isPrivate: Bool) {
        self.key = key
        self.isPrivate = isPrivate
    }

    /// Generates a key of exactly `bits` bits with e = 65537, searching for p and q
    /// on two cores (see ``RSAPrimeSearch``).
    /// - Throws: `.invalidParameter` outside 1024...16384.
    package static func generate(bits: Int) throws(CryptoError) -> RSAKey {
        guard Self.allowedBits.contains(bits) else {
            throw CryptoError(.invalidParameter, "RSA keys must have 1024 to 16384 bits, not \(bits)")
        }
        return try RSAPrimeSearch.generate(bits: bits)
    }

    /// A public key from its modulus and exponent.
    package convenience init(n: some Collection<UInt8>, e: some Collection<UInt8>) throws(CryptoError) {
        let bn = try BigNumber(n)
        let be = try BigNumber(e)
        try Self.checkPublic(n: bn, e: be)
        let builder = try ParamBuilder()
        try builder.push("n", bn)
        try builder.push("e", be)
        self.init(
            key: try EVPKey.fromData(type: "RSA", selection: KeySelection.publicKey, builder: builder),
            isPrivate: false
        )
    }

    /// A private key from the components that OpenSSH stores (CRT exponents are derived).
    /// Checks the key's consistency.
    package convenience init(
        n: some Collection<UInt8>,
        e: some Collection<UInt8>,
        d: SecureBytes,
        iqmp: SecureBytes,
        p: SecureBytes,
        q: SecureBytes
    ) throws(CryptoError) {
        let bn = try BigNumber(n)
        let be = try BigNumber(e)
        try Self.checkPublic(n: bn, e: be)
        let bd = try BigNumber(secret: d)
        let biqmp = try BigNumber(secret: iqmp)
        let bp = try BigNumber(secret: p)
        let bq = try BigNumber(secret: q)
        let ctx = try BigNumberContext()

        // n = p·q with both factors > 1.
        let one = try BigNumber([1])
        guard one < bp, one < bq, !bd.isZero, bd < bn else {
            throw CryptoError(.invalidKey, "RSA private components are out of range")
        }
        let product = try BigNumber(secret: true)
        guard BN_mul(product.pointer, bp.pointer, bq.pointer, ctx.pointer) == 1 else {
            throw openSSLError(.libraryFailure, "BN_mul failed")
        }
        guard product == bn else { throw CryptoError(.invalidKey, "RSA modulus is not p·q") }

        // iqmp = q⁻¹ mod p.
        guard biqmp < bp else { throw CryptoError(.invalidKey, "RSA iqmp is not reduced mod p") }
        let check = try BigNumber(secret: true)
        guard BN_mod_mul(check.pointer, biqmp.pointer, bq.pointer, bp.pointer, ctx.pointer) == 1 else {
            throw openSSLError(.libraryFailure, "BN_mod_mul failed")
        }
        guard check.isOne else { throw CryptoError(.invalidKey, "RSA iqmp is not q⁻¹ mod p") }

        // dmp1 = d mod (p-1), dmq1 = d mod (q-1); e·d ≡ 1 modulo both makes d a valid exponent.
        let pMinus1 = try BigNumber(secret: true)
        let qMinus1 = try BigNumber(secret: true)
        guard BN_sub(pMinus1.pointer, bp.pointer, BN_value_one()) == 1,
            BN_sub(qMinus1.pointer, bq.pointer, BN_value_one()) == 1
        else { throw openSSLError(.libraryFailure, "BN_sub failed") }
        let dmp1 = try BigNumber(secret: true)
        let dmq1 = try BigNumber(secret: true)
        guard BN_div(nil, dmp1.pointer, bd.pointer, pMinus1.pointer, ctx.pointer) == 1,
            BN_div(nil, dmq1.pointer, bd.pointer, qMinus1.pointer, ctx.pointer) == 1
        else { throw openSSLError(.libraryFailure, "BN_mod failed") }
        for (exponent, modulus) in [(dmp1, pMinus1), (dmq1, qMinus1)] {
            guard BN_mod_mul(check.pointer, be.pointer, exponent.pointer, modulus.pointer, ctx.pointer) == 1 else {
                throw openSSLError(.libraryFailure, "BN_mod_mul failed")
            }
            guard check.isOne else { throw CryptoError(.invalidKey, "RSA private exponent does not match e") }
        }

        let builder = try ParamBuilder()
        try builder.push("n", bn)
        try builder.push("e", be)
        try builder.push("d", bd)
        try builder.push("rsa-factor1", bp)
        try builder.push("rsa-factor2", bq)
        try builder.push("rsa-exponent1", dmp1)
        try builder.push("rsa-exponent2", dmq1)
        try builder.push("rsa-coefficient1", biqmp)
        self.init(
            key: try EVPKey.fromData(type: "RSA", selection: KeySelection.keyPair, builder: builder),
            isPrivate: true
        )
    }

    /// OpenSSL's public-key operation (`rsa_ossl_public_decrypt`, which OpenSSH's signature
    /// check goes through) refuses an exponent of more than 64 bits
    /// (OPENSSL_RSA_MAX_PUBEXP_BITS) once the modulus has more than 3072
    /// (OPENSSL_RSA_SMALL_MODULUS_BITS); smaller moduli may have any exponent below them.
    package static let maximumExponentBitsForLargeModuli = 64
    package static let smallModulusBits = 3072

    /// Rejects moduli outside `allowedBits`, even moduli, even or tiny exponents, exponents
    /// not below the modulus and, as OpenSSL (and so OpenSSH) does, exponents of more than
    /// 64 bits with a modulus of more than 3072: keys no OpenSSH could verify a signature
    /// with, refused when read rather than after an exponentiation.
    private static func checkPublic(n: BigNumber, e: BigNumber) throws(CryptoError) {
        guard Self.allowedBits.contains(n.bitCount) else {
            throw CryptoError(.invalidKey, "RSA modulus of \(n.bitCount) bits is outside 1024...16384")
        }
        guard n.isOdd, e.isOdd, e.bitCount >= 2, e < n else {
            throw CryptoError(.invalidKey, "RSA modulus or exponent is invalid")
        }
        guard n.bitCount <= Self.smallModulusBits || e.bitCount <= Self.maximumExponentBitsForLargeModuli else {
            throw CryptoError(
                .invalidKey,
                "RSA public exponent of \(e.bitCount) bits is too large for a \(n.bitCount)-bit modulus (the maximum is 64)"
            )
        }
    }

    /// The modulus size in bits.
    package var bits: Int { Int(EVP_PKEY_get_bits(self.key.pointer)) }
    /// The modulus.
    package var n: [UInt8] { self.key.bigNumber("n")?.bytes ?? [] }
    /// The public exponent.
    package var e: [UInt8] { self.key.bigNumber("e")?.bytes ?? [] }

    /// The private components (d, iqmp = q⁻¹ mod p, p, q), or nil for a public key.
    package func privateComponents() -> (d: SecureBytes, iqmp: SecureBytes, p: SecureBytes, q: SecureBytes)? {
        guard self.isPrivate,
            let d = self.key.bigNumber("d", secret: true),
            let iqmp = self.key.bigNumber("rsa-coefficient1", secret: true),
            let p = self.key.bigNumber("rsa-factor1", secret: true),
            let q = self.key.bigNumber("rsa-factor2", secret: true)
        else { return nil }
        return (d.secureBytes, iqmp.secureBytes, p.secureBytes, q.secureBytes)
    }

    /// The public half.
    package var publicKey: RSAKey {
        guard self.isPrivate else { return self }
        do {
            let builder = try ParamBuilder()
            guard let n = self.key.bigNumber("n"), let e = self.key.bigNumber("e") else {
                throw CryptoError(.libraryFailure, "RSA key has no n or e")
            }
            try builder.push("n", n)
            try builder.push("e", e)
            return RSAKey(
                key: try EVPKey.fromData(type: "RSA", selection: KeySelection.publicKey, builder: builder),
                isPrivate: false
            )
        } catch {
            // Only an allocation failure can get here: the numbers came from a valid key.
            preconditionFailure("cannot copy an RSA public key: \(error)")
        }
    }

    /// A PKCS#1 v1.5 signature of `message` hashed with `hash` (sha1, sha256 or sha512),
    /// as long as the modulus.
    package func sign(_ message: some Collection<UInt8>, hash: HashFunction) throws(CryptoError) -> [UInt8] {
        guard self.isPrivate else { throw CryptoError(.invalidKey, "signing needs a private RSA key") }
        guard Self.signatureHashes.contains(hash) else {
            throw CryptoError(.invalidParameter, "RSA signatures use sha1, sha256 or sha512")
        }
        return try evpDigestSign(key: self.key, hash: hash, message: message)
    }

    /// Whether `signature` is a valid PKCS#1 v1.5 signature of `message`.
    package func verify(
        _ signature: some Collection<UInt8>,
        for message: some Collection<UInt8>,
        hash: HashFunction
    ) -> Bool {
        guard Self.signatureHashes.contains(hash) else { return false }
        let size = Int(EVP_PKEY_get_size(self.key.pointer))
        var sig = Array(signature)
        guard sig.count <= size else { return false }
        // OpenSSH's ssh_rsa_verify accepts a signature shorter than the modulus
        // and left-pads it with zeros; do the same.
        if sig.count < size { sig = [UInt8](repeating: 0, count: size - sig.count) + sig }
        return evpDigestVerify(key: self.key, hash: hash, signature: sig, message: message)
    }

    private static let signatureHashes: Set<HashFunction> = [.sha1, .sha256, .sha512]
}
