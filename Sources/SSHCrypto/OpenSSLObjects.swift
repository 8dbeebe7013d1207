internal import COpenSSL

// Owners of the OpenSSL objects the asymmetric code uses. Each class frees its
// object in `deinit`; none of them hands its pointer out beyond a call.

/// `EVP_PKEY_fromdata` / decoder selections (OpenSSL's `EVP_PKEY_PUBLIC_KEY` and
/// `EVP_PKEY_KEYPAIR` are nested macros Swift does not import).
enum KeySelection {
    /// Domain and other parameters plus the public key.
    static let publicKey = Int32(
        OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY
    )
    /// The public selection plus the private key.
    static let keyPair = publicKey | Int32(OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
}

/// Owns one `EVP_PKEY`; the pointer never changes, so sharing it is safe.
final class EVPKey: @unchecked Sendable {
    // @unchecked: the key is never mutated after construction; OpenSSL allows
    // concurrent use of a const EVP_PKEY.
    let pointer: OpaquePointer
    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(self.pointer) }

    /// Builds a key of `type` ("RSA", "EC", …) from the parameters in `builder`.
    static func fromData(type: String, selection: Int32, builder: ParamBuilder) throws(CryptoError) -> EVPKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_CTX_new_from_name(\(type)) failed")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_fromdata_init(ctx) == 1 else {
            throw openSSLError(.libraryFailure, "EVP_PKEY_fromdata_init failed")
        }
        let params = try builder.toParams()
        defer { OSSL_PARAM_free(params) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_fromdata(ctx, &key, selection, params) == 1, let key else {
            throw openSSLError(.invalidKey, "EVP_PKEY_fromdata(\(type)) rejected the key")
        }
        return EVPKey(takingOwnershipOf: key)
    }

    /// Whether the key is of the named type ("RSA", "EC", "ED25519").
    func isA(_ name: String) -> Bool { EVP_PKEY_is_a(self.pointer, name) == 1 }

    /// A BIGNUM parameter, or nil when the key does not have it.
    func bigNumber(_ name: String, secret: Bool = false) -> BigNumber? {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(self.pointer, name, &bn) == 1, let bn else {
            clearOpenSSLErrors()
            return nil
        }
        return BigNumber(takingOwnershipOf: bn, secret: secret)
    }

    /// An octet-string parameter, or nil when the key does not have it.
    func octetString(_ name: String) -> [UInt8]? {
        var length = 0
        guard EVP_PKEY_get_octet_string_param(self.pointer, name, nil, 0, &length) == 1 else {
            clearOpenSSLErrors()
            return nil
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            EVP_PKEY_get_octet_string_param(self.pointer, name, buffer.baseAddress, buffer.count, &length)
        }
        guard ok == 1, length <= out.count else {
            clearOpenSSLErrors()
            return nil
        }
        return Array(out.prefix(length))
    }

    /// A UTF-8 string parameter, or nil when the key does not have it.
    func utf8String(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 80)
        var length = 0
        let ok = buffer.withUnsafeMutableBufferPointer { p in
            EVP_PKEY_get_utf8_string_param(self.pointer, name, p.baseAddress, p.count, &length)
        }
        guard ok == 1, length < buffer.count else {
            clearOpenSSLErrors()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Owns one `BIGNUM`. A secret number lives in OpenSSL's secure allocation and
/// is freed with `BN_clear_free`.
final class BigNumber {
    let pointer: OpaquePointer
    private let secret: Bool

    init(takingOwnershipOf pointer: OpaquePointer, secret: Bool) {
        self.pointer = pointer
        self.secret = secret
    }

    /// A new zero, in secure memory when `secret`.
    convenience init(secret: Bool = false) throws(CryptoError) {
        guard let bn = secret ? BN_secure_new() : BN_new() else {
            throw openSSLError(.libraryFailure, "BN_new failed")
        }
        self.init(takingOwnershipOf: bn, secret: secret)
    }

    /// The unsigned big-endian number in `bytes`.
    convenience init(_ bytes: some Collection<UInt8>) throws(CryptoError) {
        try self.init(secret: false)
        let copy = Array(bytes)
        let ok = copy.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(copy.count), self.pointer) }
        guard ok != nil else { throw openSSLError(.libraryFailure, "BN_bin2bn failed") }
    }

    /// The unsigned big-endian secret number in `bytes`.
    convenience init(secret bytes: SecureBytes) throws(CryptoError) {
        try self.init(secret: true)
        let ok = bytes.withUnsafeBytes { raw in
            BN_bin2bn(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(raw.count), self.pointer)
        }
        guard ok != nil else { throw openSSLError(.libraryFailure, "BN_bin2bn failed") }
    }

    deinit {
        if self.secret { BN_clear_free(self.pointer) } else { BN_free(self.pointer) }
    }

    var bitCount: Int { Int(BN_num_bits(self.pointer)) }
    var byteCount: Int { (self.bitCount + 7) / 8 }
    var isZero: Bool { BN_is_zero(self.pointer) == 1 }
    var isOne: Bool { BN_is_one(self.pointer) == 1 }
    var isOdd: Bool { BN_is_odd(self.pointer) == 1 }

    /// The number as unsigned big-endian bytes without leading zeros.
    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: self.byteCount)
        _ = out.withUnsafeMutableBufferPointer { BN_bn2bin(self.pointer, $0.baseAddress) }
        return out
    }

    /// The number as secret unsigned big-endian bytes without leading zeros.
    var secureBytes: SecureBytes {
        let out = SecureBytes(count: self.byteCount)
        out.withUnsafeMutableBytes { raw in
            _ = BN_bn2bin(self.pointer, raw.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        return out
    }

    static func == (a: BigNumber, b: BigNumber) -> Bool { BN_cmp(a.pointer, b.pointer) == 0 }
    static func < (a: BigNumber, b: BigNumber) -> Bool { BN_cmp(a.pointer, b.pointer) < 0 }
}

/// Owns one `BN_CTX` for a few arithmetic calls.
final class BigNumberContext {
    let pointer: OpaquePointer
    init() throws(CryptoError) {
        guard let ctx = BN_CTX_secure_new() else { throw openSSLError(.libraryFailure, "BN_CTX_new failed") }
        self.pointer = ctx
    }
    deinit { BN_CTX_free(self.pointer) }
}

/// Owns one `OSSL_PARAM_BLD` and everything it points at until `toParams()`:
/// OpenSSL keeps the key names, strings and BIGNUMs by reference, so copies of
/// them live here rather than in Swift temporaries.
final class ParamBuilder {
    private let pointer: OpaquePointer
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var numbers: [BigNumber] = []

    init() throws(CryptoError) {
        guard let bld = OSSL_PARAM_BLD_new() else { throw openSSLError(.libraryFailure, "OSSL_PARAM_BLD_new failed") }
        self.pointer = bld
    }

    deinit {
        OSSL_PARAM_BLD_free(self.pointer)
        for s in self.strings { s.deallocate() }
    }

    private func keep(_ string: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(string.utf8CString)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        p.initialize(from: utf8, count: utf8.count)
        self.strings.append(p)
        return p
    }

    func push(_ name: String, _ number: BigNumber) throws(CryptoError) {
        self.numbers.append(number)
        guard OSSL_PARAM_BLD_push_BN(self.pointer, self.keep(name), number.pointer) == 1 else {
            throw openSSLError(.libraryFailure, "OSSL_PARAM_BLD_push_BN(\(name)) failed")
        }
    }

    func push(_ name: String, utf8 value: String) throws(CryptoError) {
        let v = self.keep(value)
        guard OSSL_PARAM_BLD_push_utf8_string(self.pointer, self.keep(name), v, 0) == 1 else {
            throw openSSLError(.libraryFailure, "OSSL_PARAM_BLD_push_utf8_string(\(name)) failed")
        }
    }

    /// Pushes a copy of `bytes`: OpenSSL copies octet strings at `toParams()`,
    /// so the copy is kept here until then.
    func push(_ name: String, octets bytes: some Collection<UInt8>) throws(CryptoError) {
        let copy = Array(bytes)
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(copy.count, 1))
        copy.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(p).copyMemory(from: raw.baseAddress ?? UnsafeRawPointer(p), byteCount: copy.count)
        }
        self.strings.append(p)
        guard OSSL_PARAM_BLD_push_octet_string(self.pointer, self.keep(name), p, copy.count) == 1 else {
            throw openSSLError(.libraryFailure, "OSSL_PARAM_BLD_push_octet_string(\(name)) failed")
        }
    }

    /// The built array; the caller frees it with `OSSL_PARAM_free` (deferred at the call).
    func toParams() throws(CryptoError) -> UnsafeMutablePointer<OSSL_PARAM> {
        guard let params = OSSL_PARAM_BLD_to_param(self.pointer) else {
            throw openSSLError(.libraryFailure, "OSSL_PARAM_BLD_to_param failed")
        }
        return params
    }
}

/// Owns one memory `BIO`.
final class MemoryBIO {
    let pointer: OpaquePointer

    /// An empty memory BIO to write into.
    init() throws(CryptoError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw openSSLError(.libraryFailure, "BIO_new failed") }
        self.pointer = bio
    }

    deinit { BIO_free(self.pointer) }

    /// Everything written so far, in secure storage (a private key's text). OpenSSL clears
    /// the BIO's buffer when it is freed.
    func readAllSecure() throws(CryptoError) -> SecureBytes {
        let pending = Int(BIO_ctrl_pending(self.pointer))
        let out = SecureBytes(count: pending)
        if pending > 0 {
            let n = out.withUnsafeMutableBytes { BIO_read(self.pointer, $0.baseAddress, Int32(pending)) }
            guard n == Int32(pending) else { throw openSSLError(.libraryFailure, "BIO_read failed") }
        }
        return out
    }

    /// Everything written so far, as text (public keys). OpenSSL clears the BIO's buffer when it is freed.
    func readAllText() throws(CryptoError) -> String {
        let pending = Int(BIO_ctrl_pending(self.pointer))
        var out = [UInt8](repeating: 0, count: pending)
        if pending > 0 {
            let n = out.withUnsafeMutableBytes { BIO_read(self.pointer, $0.baseAddress, Int32(pending)) }
            guard n == Int32(pending) else { throw openSSLError(.libraryFailure, "BIO_read failed") }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The OpenSSL digest for `hash`.
func evpMessageDigest(_ hash: HashFunction) -> OpaquePointer? {
    switch hash {
    case .md5: EVP_md5()
    case .sha1: EVP_sha1()
    case .sha256: EVP_sha256()
    case .sha384: EVP_sha384()
    case .sha512: EVP_sha512()
    }
}

/// One-shot `EVP_DigestSign` with `key` over `message`.
func evpDigestSign(key: EVPKey, hash: HashFunction, message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
    guard let mdctx = EVP_MD_CTX_new() else { throw openSSLError(.libraryFailure, "EVP_MD_CTX_new failed") }
    defer { EVP_MD_CTX_free(mdctx) }
    guard EVP_DigestSignInit(mdctx, nil, evpMessageDigest(hash), nil, key.pointer) == 1 else {
        throw openSSLError(.libraryFailure, "EVP_DigestSignInit failed")
    }
    let data = Array(message)
    var length = 0
    let sized = data.withUnsafeBufferPointer { EVP_DigestSign(mdctx, nil, &length, $0.baseAddress, $0.count) }
    guard sized == 1 else { throw openSSLError(.libraryFailure, "EVP_DigestSign (size) failed") }
    var signature = [UInt8](repeating: 0, count: length)
    let signed = signature.withUnsafeMutableBufferPointer { out in
        data.withUnsafeBufferPointer { EVP_DigestSign(mdctx, out.baseAddress, &length, $0.baseAddress, $0.count) }
    }
    guard signed == 1, length <= signature.count else { throw openSSLError(.libraryFailure, "EVP_DigestSign failed") }
    return Array(signature.prefix(length))
}

/// One-shot `EVP_DigestVerify`; any failure is "not valid".
func evpDigestVerify(key: EVPKey, hash: HashFunction, signature: [UInt8], message: some Collection<UInt8>) -> Bool {
    defer { clearOpenSSLErrors() }
    guard let mdctx = EVP_MD_CTX_new() else { return false }
    defer { EVP_MD_CTX_free(mdctx) }
    guard EVP_DigestVerifyInit(mdctx, nil, evpMessageDigest(hash), nil, key.pointer) == 1 else { return false }
    let data = Array(message)
    let result = signature.withUnsafeBufferPointer { sig in
        data.withUnsafeBufferPointer { EVP_DigestVerify(mdctx, sig.baseAddress, sig.count, $0.baseAddress, $0.count) }
    }
    return result == 1
}
