internal import COpenSSL

/// The passphrase KDF parameters of an encrypted PKCS#8 key, as OpenSSL itself reads them.
package enum PKCS8KDFParameters: Sendable, Equatable {
    /// PBES2 with PBKDF2 (RFC 8018 §A.2): the iteration count.
    case pbkdf2(iterations: Int)
    /// PBES2 with scrypt (RFC 7914 §7.1): cost N, block size r, parallelization p.
    case scrypt(n: Int, r: Int, p: Int)
    /// PKCS#5 v1.5 PBES1 or PKCS#12 PBE (RFC 8018 §A.3, RFC 7292 §C): the iteration count.
    case pbe(iterations: Int)
    /// An EncryptedPrivateKeyInfo whose KDF parameters OpenSSL cannot read; the text says what.
    case unreadable(String)

    /// The KDF parameters of every EncryptedPrivateKeyInfo (RFC 5208 §6) OpenSSL could find in
    /// `data`: the bytes themselves as DER, and each PEM block in them.
    ///
    /// The structures are parsed by OpenSSL's own decoders (`d2i_X509_SIG`,
    /// `ASN1_TYPE_unpack_sequence`), the ones its PKCS#8 decryption uses, so BER forms it
    /// accepts (indefinite lengths, long length fields, constructed strings) are read here
    /// the same way. Integers beyond 63 bits read as `Int.max`.
    package static func find(in data: some Collection<UInt8>) -> [PKCS8KDFParameters] {
        let bytes = Array(data)
        var found: [PKCS8KDFParameters] = []
        if let parameters = Self.parse(der: bytes[...]) { found.append(parameters) }
        let begin = Array("-----BEGIN".utf8)
        var rest = bytes[...]
        while let range = rest.firstRange(of: begin) {
            found += Self.pemBlock(bytes[range.lowerBound...])
            rest = rest[range.upperBound...]
        }
        clearOpenSSLErrors()
        return found
    }

    /// The first PEM block in `text` as OpenSSL's PEM reader (the one its decoders use) sees it.
    private static func pemBlock(_ text: ArraySlice<UInt8>) -> [PKCS8KDFParameters] {
        guard let length = Int32(exactly: text.count) else { return [] }
        return text.withUnsafeBytes { raw -> [PKCS8KDFParameters] in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, length) else { return [] }
            defer { BIO_free(bio) }
            var name: UnsafeMutablePointer<CChar>? = nil
            var header: UnsafeMutablePointer<CChar>? = nil
            var body: UnsafeMutablePointer<UInt8>? = nil
            var count = 0
            guard PEM_read_bio_ex(bio, &name, &header, &body, &count, UInt32(PEM_FLAG_EAY_COMPATIBLE)) == 1 else {
                return []
            }
            defer {
                CRYPTO_free(name, nil, 0)
                CRYPTO_free(header, nil, 0)
                CRYPTO_free(body, nil, 0)
            }
            guard let name, let header, let body else { return [] }
            // OpenSSL's PEM decoder decrypts a block with a header longer than ten bytes the
            // legacy way (Proc-Type, DEK-Info) before looking at what is inside, so the KDF
            // parameters of an encrypted PKCS#8 key under it cannot be seen beforehand.
            if strlen(header) > 10 {
                guard String(cString: name) != "ENCRYPTED PRIVATE KEY" else {
                    return [.unreadable("an encrypted PKCS#8 key inside legacy PEM encryption")]
                }
                return []
            }
            return Self.parse(der: UnsafeBufferPointer(start: body, count: count)[...]).map { [$0] } ?? []
        }
    }

    /// RFC 5208 §6: EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm
    /// AlgorithmIdentifier, encryptedData OCTET STRING }; nil when `der` is not one.
    private static func parse(der: some Collection<UInt8>) -> PKCS8KDFParameters? {
        let bytes = Array(der)
        return bytes.withUnsafeBufferPointer { buffer -> PKCS8KDFParameters? in
            guard let base = buffer.baseAddress, let length = Int(exactly: buffer.count) else { return nil }
            var pointer: UnsafePointer<UInt8>? = base
            guard let sig = d2i_X509_SIG(nil, &pointer, length) else { return nil }
            defer { X509_SIG_free(sig) }
            var algorithm: UnsafePointer<X509_ALGOR>? = nil
            X509_SIG_get0(sig, &algorithm, nil)
            guard let algorithm else { return nil }
            return Self.parameters(of: algorithm)
        }
    }

    /// The KDF parameters of a password-based encryption AlgorithmIdentifier; nil when it
    /// names no scheme OpenSSL derives a key for from a passphrase.
    private static func parameters(of algorithm: UnsafePointer<X509_ALGOR>) -> PKCS8KDFParameters? {
        var oid: OpaquePointer? = nil
        var type: Int32 = 0
        var value: UnsafeRawPointer? = nil
        X509_ALGOR_get0(&oid, &type, &value, algorithm)
        let nid = OBJ_obj2nid(oid)
        if nid == NID_pbes2 {
            // RFC 8018 §A.4: PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }.
            guard let pbes2 = unpack(type, value, d2i_PBE2PARAM) else {
                return .unreadable("its PBES2 parameters cannot be read")
            }
            defer { PBE2PARAM_free(pbes2) }
            guard let kdf = pbes2.pointee.keyfunc else { return .unreadable("it names no key derivation function") }
            var kdfOID: OpaquePointer? = nil
            var kdfType: Int32 = 0
            var kdfValue: UnsafeRawPointer? = nil
            X509_ALGOR_get0(&kdfOID, &kdfType, &kdfValue, UnsafePointer(kdf))
            switch OBJ_obj2nid(kdfOID) {
            case NID_id_pbkdf2:
                // §A.2: PBKDF2-params ::= SEQUENCE { salt, iterationCount INTEGER, keyLength INTEGER
                // OPTIONAL, prf AlgorithmIdentifier DEFAULT }.
                guard let params = unpack(kdfType, kdfValue, d2i_PBKDF2PARAM) else {
                    return .unreadable("its PBKDF2 parameters cannot be read")
                }
                defer { PBKDF2PARAM_free(params) }
                return .pbkdf2(iterations: signed(params.pointee.iter))
            case NID_id_scrypt:
                // RFC 7914 §7.1: scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter,
                // blockSize, parallelizationParameter INTEGER (1..MAX), keyLength INTEGER OPTIONAL }.
                guard let params = unpack(kdfType, kdfValue, d2i_SCRYPT_PARAMS) else {
                    return .unreadable("its scrypt parameters cannot be read")
                }
                defer { SCRYPT_PARAMS_free(params) }
                return .scrypt(
                    n: unsigned(params.pointee.costParameter),
                    r: unsigned(params.pointee.blockSize),
                    p: unsigned(params.pointee.parallelizationParameter)
                )
            default:
                return .unreadable("its key derivation function is neither PBKDF2 nor scrypt")
            }
        }
        // PBES1 and PKCS#12 PBE: OpenSSL's table of password-based ciphers knows the scheme.
        guard nid != NID_undef, EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, nil, nil, nil) == 1 else { return nil }
        // RFC 8018 §A.3, RFC 7292 §C: PBEParameter ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER }.
        guard let params = unpack(type, value, d2i_PBEPARAM) else {
            return .unreadable("its password-based encryption parameters cannot be read")
        }
        defer { PBEPARAM_free(params) }
        return .pbe(iterations: signed(params.pointee.iter))
    }

    /// `ASN1_TYPE_unpack_sequence` for a parameter given as X509_ALGOR_get0's type and value:
    /// a SEQUENCE's encoding, decoded with `d2i`.
    private static func unpack<T>(
        _ type: Int32,
        _ value: UnsafeRawPointer?,
        _ d2i: (UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, Int) ->
            UnsafeMutablePointer<T>?
    ) -> UnsafeMutablePointer<T>? {
        guard type == V_ASN1_SEQUENCE, let value else { return nil }
        let string = value.assumingMemoryBound(to: ASN1_STRING.self)
        guard let data = ASN1_STRING_get0_data(string) else { return nil }
        var pointer: UnsafePointer<UInt8>? = data
        let length = Int(ASN1_STRING_length(string))
        guard let decoded = d2i(nil, &pointer, length) else { return nil }
        return decoded
    }

    /// An INTEGER as OpenSSL's PBKDF2 and PBE code read it (`ASN1_INTEGER_get`); absent counts as 1,
    /// as in OpenSSL, and anything beyond 63 bits as `Int.max`.
    private static func signed(_ integer: UnsafeMutablePointer<ASN1_INTEGER>?) -> Int {
        guard let integer else { return 1 }
        var value: Int64 = 0
        guard ASN1_INTEGER_get_int64(&value, integer) == 1 else { return .max }
        return Int(value)
    }

    /// An INTEGER as OpenSSL's scrypt code reads it (`ASN1_INTEGER_get_uint64`); anything
    /// negative or beyond 63 bits is `Int.max`.
    private static func unsigned(_ integer: UnsafeMutablePointer<ASN1_INTEGER>?) -> Int {
        var value: UInt64 = 0
        guard let integer, ASN1_INTEGER_get_uint64(&value, integer) == 1 else { return .max }
        return Int(exactly: value) ?? .max
    }
}
