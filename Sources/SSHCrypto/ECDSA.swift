internal import COpenSSL

/// The NIST curves that SSH uses.
public enum ECCurve: Sendable, Hashable, CaseIterable {
    case p256, p384, p521

    /// The SSH curve identifier: `nistp256`, `nistp384`, `nistp521`.
    public var sshIdentifier: String {
        switch self {
        case .p256: "nistp256"
        case .p384: "nistp384"
        case .p521: "nistp521"
        }
    }
    /// The field size in bits (256, 384, 521).
    public var bits: Int {
        switch self {
        case .p256: 256
        case .p384: 384
        case .p521: 521
        }
    }
    /// The hash ECDSA uses with this curve in SSH (RFC 5656 §6.2.1).
    public var hash: HashFunction {
        switch self {
        case .p256: .sha256
        case .p384: .sha384
        case .p521: .sha512
        }
    }

    /// OpenSSL's group name.
    var openSSLGroupName: String {
        switch self {
        case .p256: "prime256v1"
        case .p384: "secp384r1"
        case .p521: "secp521r1"
        }
    }

    /// The curve of an OpenSSL group name, including the NIST aliases.
    init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256", "secp256r1": self = .p256
        case "secp384r1", "P-384": self = .p384
        case "secp521r1", "P-521": self = .p521
        default: return nil
        }
    }

    var nid: Int32 {
        switch self {
        case .p256: NID_X9_62_prime256v1
        case .p384: NID_secp384r1
        case .p521: NID_secp521r1
        }
    }

    /// The length of an uncompressed point, 0x04 || X || Y.
    var uncompressedPointSize: Int { 1 + 2 * ((self.bits + 7) / 8) }
}

/// Owns one `EC_GROUP` (a named curve) for point arithmetic.
final class ECGroup {
    let pointer: OpaquePointer
    let curve: ECCurve

    init(_ curve: ECCurve) throws(CryptoError) {
        guard let group = EC_GROUP_new_by_curve_name(curve.nid) else {
            throw openSSLError(.libraryFailure, "EC_GROUP_new_by_curve_name failed")
        }
        self.pointer = group
        self.curve = curve
    }
    deinit { EC_GROUP_free(self.pointer) }

    /// A point from its octets; OpenSSL checks it lies on the curve.
    func point(_ octets: [UInt8]) throws(CryptoError) -> ECPoint {
        let point = try ECPoint(group: self)
        let ok = octets.withUnsafeBufferPointer {
            EC_POINT_oct2point(self.pointer, point.pointer, $0.baseAddress, $0.count, nil)
        }
        guard ok == 1 else { throw openSSLError(.invalidKey, "EC point is not on \(self.curve.sshIdentifier)") }
        guard EC_POINT_is_at_infinity(self.pointer, point.pointer) == 0 else {
            throw CryptoError(.invalidKey, "EC point is the point at infinity")
        }
        guard EC_POINT_is_on_curve(self.pointer, point.pointer, nil) == 1 else {
            throw openSSLError(.invalidKey, "EC point is not on \(self.curve.sshIdentifier)")
        }
        return point
    }

    /// The uncompressed encoding of `point`.
    func uncompressed(_ point: ECPoint) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: self.curve.uncompressedPointSize)
        let n = out.withUnsafeMutableBufferPointer {
            EC_POINT_point2oct(
                self.pointer,
                point.pointer,
                POINT_CONVERSION_UNCOMPRESSED,
                $0.baseAddress,
                $0.count,
                nil
            )
        }
        guard n == out.count else { throw openSSLError(.libraryFailure, "EC_POINT_point2oct failed") }
        return out
    }

    /// scalar·G.
    func multiplyGenerator(_ scalar: BigNumber) throws(CryptoError) -> ECPoint {
        let point = try ECPoint(group: self)
        let ctx = try BigNumberContext()
        guard EC_POINT_mul(self.pointer, point.pointer, scalar.pointer, nil, nil, ctx.pointer) == 1 else {
            throw openSSLError(.libraryFailure, "EC_POINT_mul failed")
        }
        return point
    }

    /// The order of the generator.
    func order() throws(CryptoError) -> BigNumber {
        guard let order = EC_GROUP_get0_order(self.pointer), let copy = BN_dup(order) else {
            throw openSSLError(.libraryFailure, "EC_GROUP_get0_order failed")
        }
        return BigNumber(takingOwnershipOf: copy, secret: false)
    }

    func equal(_ a: ECPoint, _ b: ECPoint) -> Bool {
        EC_POINT_cmp(self.pointer, a.pointer, b.pointer, nil) == 0
    }
}

/// Owns one `EC_POINT`.
final class ECPoint {
    let pointer: OpaquePointer
    init(group: ECGroup) throws(CryptoError) {
        guard let point = EC_POINT_new(group.pointer) else {
            throw openSSLError(.libraryFailure, "EC_POINT_new failed")
        }
        self.pointer = point
    }
    deinit { EC_POINT_clear_free(self.pointer) }
}

/// Owns one `ECDSA_SIG`.
final class ECDSASignature {
    let pointer: OpaquePointer

    /// Parses a DER ECDSA-Sig-Value (RFC 3279 §2.2.3).
    init(der: [UInt8]) throws(CryptoError) {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var p = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &p, buffer.count)
        }
        guard let parsed else { throw openSSLError(.libraryFailure, "d2i_ECDSA_SIG failed") }
        self.pointer = parsed
    }

    /// Takes an `ECDSA_SIG` the caller owns.
    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }

    /// A signature from r and s.
    init(r: [UInt8], s: [UInt8]) throws(CryptoError) {
        guard let sig = ECDSA_SIG_new() else { throw openSSLError(.libraryFailure, "ECDSA_SIG_new failed") }
        // ECDSA_SIG_set0 takes ownership of both numbers only when it succeeds.
        let br = r.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let bs = s.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let br, let bs, ECDSA_SIG_set0(sig, br, bs) == 1 else {
            BN_free(br)
            BN_free(bs)
            ECDSA_SIG_free(sig)
            throw openSSLError(.libraryFailure, "ECDSA_SIG_set0 failed")
        }
        self.pointer = sig
    }

    deinit { ECDSA_SIG_free(self.pointer) }

    var r: [UInt8] { Self.bytes(ECDSA_SIG_get0_r(self.pointer)) }
    var s: [UInt8] { Self.bytes(ECDSA_SIG_get0_s(self.pointer)) }

    /// The DER ECDSA-Sig-Value.
    func der() throws(CryptoError) -> [UInt8] {
        let length = i2d_ECDSA_SIG(self.pointer, nil)
        guard length > 0 else { throw openSSLError(.libraryFailure, "i2d_ECDSA_SIG failed") }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer in
            var p = buffer.baseAddress
            return i2d_ECDSA_SIG(self.pointer, &p)
        }
        guard written == length else { throw openSSLError(.libraryFailure, "i2d_ECDSA_SIG failed") }
        return out
    }

    private static func bytes(_ bn: OpaquePointer?) -> [UInt8] {
        guard let bn else { return [] }
        var out = [UInt8](repeating: 0, count: (Int(BN_num_bits(bn)) + 7) / 8)
        _ = out.withUnsafeMutableBufferPointer { BN_bn2bin(bn, $0.baseAddress) }
        return out
    }
}

/// An ECDSA key on a NIST curve, public or private, backed by an OpenSSL `EVP_PKEY`.
package final class ECDSAKey: @unchecked Sendable {
    // @unchecked: the wrapped EVP_PKEY is never mutated after construction.

    let key: EVPKey
    /// The curve.
    package let curve: ECCurve
    /// Whether the key holds the private scalar.
    package let isPrivate: Bool
    /// The uncompressed public point, 0x04 || X || Y.
    package let publicPoint: [UInt8]

    private init(key: EVPKey, curve: ECCurve, isPrivate: Bool, publicPoint: [UInt8]) {
        self.key = key
        self.curve = curve
        self.isPrivate = isPrivate
        self.publicPoint = publicPoint
    }

    /// Generates a key on `curve`.
    package static func generate(curve: ECCurve) throws(CryptoError) -> ECDSAKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_CTX_new_from_name(EC) failed")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw openSSLError(.libraryFailure, "EVP_PKEY_keygen_init failed") }
        guard EVP_PKEY_CTX_set_group_name(ctx, curve.openSSLGroupName) == 1 else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_CTX_set_group_name failed")
        }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_generate(EC) failed")
        }
        let key = EVPKey(takingOwnershipOf: pkey)
        guard let encoded = key.octetString("encoded-pub-key") else {
            throw openSSLError(.libraryFailure, "generated EC key has no public point")
        }
        let group = try ECGroup(curve)
        let point = try group.uncompressed(try group.point(encoded))
        return ECDSAKey(key: key, curve: curve, isPrivate: true, publicPoint: point)
    }

    /// A public key from its uncompressed point (0x04 || X || Y); the point is checked to be on the curve.
    package convenience init(curve: ECCurve, publicPoint: some Collection<UInt8>) throws(CryptoError) {
        let point = Array(publicPoint)
        try Self.checkPublic(curve: curve, point: point)
        let builder = try ParamBuilder()
        try builder.push("group", utf8: curve.openSSLGroupName)
        try builder.push("pub", octets: point)
        let key = try EVPKey.fromData(type: "EC", selection: KeySelection.publicKey, builder: builder)
        self.init(key: key, curve: curve, isPrivate: false, publicPoint: point)
    }

    /// A private key from its point and scalar; checks that the scalar yields the point.
    package convenience init(
        curve: ECCurve,
        publicPoint: some Collection<UInt8>,
        privateScalar: SecureBytes
    ) throws(CryptoError) {
        let point = Array(publicPoint)
        let group = try Self.checkPublic(curve: curve, point: point)
        let scalar = try BigNumber(secret: privateScalar)
        // 0 < d < order, and d·G must be the stored point.
        guard !scalar.isZero, scalar < (try group.order()) else {
            throw CryptoError(.invalidKey, "EC private scalar is out of range")
        }
        guard group.equal(try group.multiplyGenerator(scalar), try group.point(point)) else {
            throw CryptoError(.invalidKey, "EC private scalar does not match the public point")
        }
        let builder = try ParamBuilder()
        try builder.push("group", utf8: curve.openSSLGroupName)
        try builder.push("pub", octets: point)
        try builder.push("priv", scalar)
        let key = try EVPKey.fromData(type: "EC", selection: KeySelection.keyPair, builder: builder)
        self.init(key: key, curve: curve, isPrivate: true, publicPoint: point)
    }

    /// Requires an uncompressed point on `curve` (OpenSSH's sshbuf_get_ec accepts only those).
    @discardableResult
    private static func checkPublic(curve: ECCurve, point: [UInt8]) throws(CryptoError) -> ECGroup {
        guard point.count == curve.uncompressedPointSize, point.first == 0x04 else {
            throw CryptoError(.invalidKey, "EC public point is not an uncompressed \(curve.sshIdentifier) point")
        }
        let group = try ECGroup(curve)
        _ = try group.point(point)
        return group
    }

    /// The private scalar as an unsigned big-endian number without leading zeros, or nil.
    package func privateScalar() -> SecureBytes? {
        guard self.isPrivate else { return nil }
        return self.key.bigNumber("priv", secret: true)?.secureBytes
    }

    /// The public half.
    package var publicKey: ECDSAKey {
        guard self.isPrivate else { return self }
        do {
            return try ECDSAKey(curve: self.curve, publicPoint: self.publicPoint)
        } catch {
            // Only an allocation failure can get here: the point came from a valid key.
            preconditionFailure("cannot copy an EC public key: \(error)")
        }
    }

    /// Signs `message` hashed with the curve's hash; returns r and s as unsigned
    /// big-endian numbers without leading zeros.
    package func sign(_ message: some Collection<UInt8>) throws(CryptoError) -> (r: [UInt8], s: [UInt8]) {
        guard self.isPrivate else { throw CryptoError(.invalidKey, "signing needs a private EC key") }
        let der = try evpDigestSign(key: self.key, hash: self.curve.hash, message: message)
        let signature = try ECDSASignature(der: der)
        return (signature.r, signature.s)
    }

    /// Whether (r, s) is a valid signature of `message` hashed with the curve's hash.
    package func verify(
        r: some Collection<UInt8>,
        s: some Collection<UInt8>,
        for message: some Collection<UInt8>
    ) -> Bool {
        let r = Array(r)
        let s = Array(s)
        let limit = (self.curve.bits + 7) / 8
        // Longer values than the group order can hold are never valid; don't hand them to DER.
        guard r.count <= limit + 1, s.count <= limit + 1 else { return false }
        guard let der = try? ECDSASignature(r: r, s: s).der() else {
            clearOpenSSLErrors()
            return false
        }
        return evpDigestVerify(key: self.key, hash: self.curve.hash, signature: der, message: message)
    }
}

extension ECDSAKey {
    /// r and s of a DER ECDSA-Sig-Value (RFC 3279 §2.2.3) as unsigned big-endian numbers
    /// without leading zeros: a FIDO authenticator answers ES256 signatures in DER.
    ///
    /// - Throws: ``CryptoError/Code/malformedInput`` when the bytes are not one DER
    ///   signature with nothing after it.
    package static func signatureComponents(der: some Collection<UInt8>) throws(CryptoError) -> (r: [UInt8], s: [UInt8])
    {
        let der = Array(der)
        let (parsed, consumed): (OpaquePointer?, Int) = der.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return (nil, 0) }
            var p: UnsafePointer<UInt8>? = base
            let sig = d2i_ECDSA_SIG(nil, &p, buffer.count)
            return (sig, p.map { base.distance(to: $0) } ?? 0)
        }
        guard let parsed else {
            clearOpenSSLErrors()
            throw CryptoError(.malformedInput, "not a DER ECDSA signature")
        }
        let signature = ECDSASignature(takingOwnershipOf: parsed)
        guard consumed == der.count else { throw CryptoError(.malformedInput, "bytes after a DER ECDSA signature") }
        return (signature.r, signature.s)
    }
}

extension ECDSAKey {
    /// A key decoded by OpenSSL, re-imported through the checking initialisers so that
    /// its point is uncompressed, its group named, and its scalar matches its point.
    convenience init(decoded key: EVPKey) throws(CryptoError) {
        guard let name = key.utf8String("group"), let curve = ECCurve(openSSLGroupName: name) else {
            throw CryptoError(.unsupported, "EC key is not on a named NIST curve that SSH supports")
        }
        guard let encoded = key.octetString("encoded-pub-key") else {
            throw CryptoError(.invalidKey, "EC key has no public point")
        }
        let group = try ECGroup(curve)
        let point = try group.uncompressed(try group.point(encoded))
        if let scalar = key.bigNumber("priv", secret: true) {
            try self.init(curve: curve, publicPoint: point, privateScalar: scalar.secureBytes)
        } else {
            try self.init(curve: curve, publicPoint: point)
        }
    }
}
