internal import COpenSSL

/// A private key decoded from, or to be encoded into, OpenSSL's formats.
package enum OpenSSLPrivateKey: Sendable {
    case rsa(RSAKey)
    case ecdsa(ECDSAKey)
    /// An Ed25519 key as its 32-byte seed.
    case ed25519(seed: SecureBytes)
}

/// A public key decoded from OpenSSL's formats.
package enum OpenSSLPublicKey: Sendable {
    case rsa(RSAKey)
    case ecdsa(ECDSAKey)
    case ed25519(publicKey: [UInt8])
}

/// The PEM formats a private key can be written in.
package enum PEMPrivateKeyFormat: Sendable {
    /// PKCS#1 for RSA, SEC1 for ECDSA ("BEGIN RSA PRIVATE KEY" / "BEGIN EC PRIVATE KEY"),
    /// encrypted the legacy way (Proc-Type / DEK-Info, AES-128-CBC) when a passphrase is given,
    /// as `ssh-keygen -m PEM` writes.
    case traditional
    /// PKCS#8 ("BEGIN PRIVATE KEY", or "BEGIN ENCRYPTED PRIVATE KEY" with PBES2/AES-128-CBC
    /// when a passphrase is given), as `ssh-keygen -m PKCS8` writes.
    case pkcs8
}

/// Reading and writing keys in OpenSSL's PEM and DER formats.
package enum PEMCodec {
    /// Decodes a private key from PEM text or DER bytes: PKCS#1 RSA, SEC1 EC, PKCS#8
    /// (plain or encrypted), including legacy encrypted PEM (Proc-Type/DEK-Info with
    /// AES-128/192/256-CBC or DES-EDE3-CBC).
    /// - Throws: `.passphraseRequired` when encrypted and `passphrase` is nil,
    ///   `.decryptionFailed` for a wrong passphrase, `.malformedInput` otherwise,
    ///   `.unsupported` for other key types.
    package static func decodePrivateKey(
        _ data: some Collection<UInt8>,
        passphrase: SecureBytes?
    ) throws(CryptoError) -> OpenSSLPrivateKey {
        let request = PassphraseRequest(passphrase)
        guard let key = try decode(SecureBytes(data), selection: KeySelection.keyPair, request: request) else {
            // Like OpenSSH's sshkey_parse_private_pem_fileblob: once a passphrase was
            // used, any failure to parse what it decrypted means it was the wrong one.
            if request.wasAsked {
                if request.passphrase == nil {
                    throw CryptoError(.passphraseRequired, "the private key is encrypted")
                }
                throw CryptoError(.decryptionFailed, "incorrect passphrase or damaged private key")
            }
            throw CryptoError(.malformedInput, "not a PEM or DER private key OpenSSL can read")
        }
        if key.isA("RSA") {
            guard key.bigNumber("rsa-factor3") == nil else {
                throw CryptoError(.unsupported, "multi-prime RSA keys are not supported")
            }
            guard let n = key.bigNumber("n"), let e = key.bigNumber("e"),
                let d = key.bigNumber("d", secret: true),
                let p = key.bigNumber("rsa-factor1", secret: true),
                let q = key.bigNumber("rsa-factor2", secret: true),
                let iqmp = key.bigNumber("rsa-coefficient1", secret: true)
            else { throw CryptoError(.malformedInput, "the RSA key has no private components") }
            return .rsa(
                try RSAKey(
                    n: n.bytes,
                    e: e.bytes,
                    d: d.secureBytes,
                    iqmp: iqmp.secureBytes,
                    p: p.secureBytes,
                    q: q.secureBytes
                )
            )
        }
        if key.isA("EC") {
            let ec = try ECDSAKey(decoded: key)
            guard ec.isPrivate else { throw CryptoError(.malformedInput, "the EC key has no private scalar") }
            return .ecdsa(ec)
        }
        if key.isA("ED25519") {
            let seed = SecureBytes(count: Ed25519.seedSize)
            var length = seed.count
            let ok = seed.withUnsafeMutableBytes { raw in
                EVP_PKEY_get_raw_private_key(key.pointer, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
            }
            guard ok == 1, length == Ed25519.seedSize else {
                clearOpenSSLErrors()
                throw CryptoError(.malformedInput, "the Ed25519 key has no 32-byte private seed")
            }
            return .ed25519(seed: seed)
        }
        throw CryptoError(.unsupported, "only RSA, ECDSA and Ed25519 private keys are supported")
    }

    /// Whether `data` is an encrypted PEM private key (needs a passphrase to read).
    ///
    /// Encrypted PKCS#8 in DER counts too: the answer is whether reading the key asks for a passphrase.
    package static func isEncryptedPrivateKey(_ data: some Collection<UInt8>) -> Bool {
        let request = PassphraseRequest(nil)
        _ = try? decode(SecureBytes(data), selection: KeySelection.keyPair, request: request)
        clearOpenSSLErrors()
        return request.wasAsked
    }

    /// Decodes a public key: SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") or PKCS#1
    /// ("BEGIN RSA PUBLIC KEY"), as PEM text or DER bytes.
    package static func decodePublicKey(_ data: some Collection<UInt8>) throws(CryptoError) -> OpenSSLPublicKey {
        let request = PassphraseRequest(nil)
        guard let key = try decode(SecureBytes(data), selection: KeySelection.publicKey, request: request) else {
            throw CryptoError(.malformedInput, "not a PEM or DER public key OpenSSL can read")
        }
        if key.isA("RSA") {
            guard let n = key.bigNumber("n"), let e = key.bigNumber("e") else {
                throw CryptoError(.malformedInput, "the RSA public key has no modulus or exponent")
            }
            return .rsa(try RSAKey(n: n.bytes, e: e.bytes))
        }
        if key.isA("EC") {
            return .ecdsa(try ECDSAKey(decoded: key).publicKey)
        }
        if key.isA("ED25519") {
            var publicKey = [UInt8](repeating: 0, count: Ed25519.publicKeySize)
            var length = publicKey.count
            let ok = publicKey.withUnsafeMutableBufferPointer {
                EVP_PKEY_get_raw_public_key(key.pointer, $0.baseAddress, &length)
            }
            guard ok == 1, length == Ed25519.publicKeySize else {
                clearOpenSSLErrors()
                throw CryptoError(.malformedInput, "the Ed25519 public key is not 32 bytes")
            }
            return .ed25519(publicKey: publicKey)
        }
        throw CryptoError(.unsupported, "only RSA, ECDSA and Ed25519 public keys are supported")
    }

    /// ``encodePrivateKeySecure(_:format:passphrase:)`` as a String, for tests that compare text.
    package static func encodePrivateKey(
        _ key: OpenSSLPrivateKey,
        format: PEMPrivateKeyFormat,
        passphrase: SecureBytes?
    ) throws(CryptoError) -> String {
        try encodePrivateKeySecure(key, format: format, passphrase: passphrase).withUnsafeBytes {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// Encodes a private key as PEM text, byte for byte as OpenSSL writes it for ssh-keygen,
    /// read out of OpenSSL's buffer straight into secure storage.
    /// An empty or nil passphrase writes it unencrypted.
    /// - Throws: `.unsupported` for Ed25519 in the traditional format.
    package static func encodePrivateKeySecure(
        _ key: OpenSSLPrivateKey,
        format: PEMPrivateKeyFormat,
        passphrase: SecureBytes?
    ) throws(CryptoError) -> SecureBytes {
        let pkey: EVPKey
        switch key {
        case .rsa(let rsa):
            guard rsa.isPrivate else { throw CryptoError(.invalidKey, "the RSA key is not private") }
            pkey = rsa.key
        case .ecdsa(let ec):
            guard ec.isPrivate else { throw CryptoError(.invalidKey, "the EC key is not private") }
            pkey = ec.key
        case .ed25519(let seed):
            // OpenSSL has no traditional format for Ed25519; ssh-keygen -m PEM writes
            // Ed25519 keys in the openssh-key-v1 format instead.
            guard format == .pkcs8 else {
                throw CryptoError(.unsupported, "Ed25519 keys have no traditional PEM format")
            }
            pkey = try ed25519Key(seed: seed)
        }
        let bio = try MemoryBIO()
        let secret = passphrase.flatMap { $0.isEmpty ? nil : $0 } ?? SecureBytes(count: 0)
        // ssh-keygen's sshkey_private_to_blob_pem_pkcs8 encrypts with EVP_aes_128_cbc
        // when it has a passphrase, in both formats.
        let cipher = secret.isEmpty ? nil : EVP_aes_128_cbc()
        let ok = secret.withUnsafeBytes { raw in
            let kstr = raw.isEmpty ? nil : raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            // Without a passphrase, a refusing callback keeps OpenSSL from ever prompting
            // on the terminal. With one, no callback: OpenSSL 3's encoder lets a callback
            // replace the passphrase given in kstr.
            let callback = kstr == nil ? refusePassphrase : nil
            switch format {
            case .traditional:
                return PEM_write_bio_PrivateKey_traditional(
                    bio.pointer,
                    pkey.pointer,
                    cipher,
                    kstr,
                    Int32(raw.count),
                    callback,
                    nil
                )
            case .pkcs8:
                return PEM_write_bio_PrivateKey(
                    bio.pointer,
                    pkey.pointer,
                    cipher,
                    kstr,
                    Int32(raw.count),
                    callback,
                    nil
                )
            }
        }
        guard ok == 1 else { throw openSSLError(.libraryFailure, "writing the PEM private key failed") }
        return try bio.readAllSecure()
    }

    /// Encodes a public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), as `ssh-keygen -e -m PKCS8`.
    package static func encodePublicKeySPKI(_ key: OpenSSLPublicKey) throws(CryptoError) -> String {
        let pkey: EVPKey
        switch key {
        case .rsa(let rsa): pkey = rsa.key
        case .ecdsa(let ec): pkey = ec.key
        case .ed25519(let publicKey):
            let bytes = Array(publicKey)
            guard bytes.count == Ed25519.publicKeySize else {
                throw CryptoError(.invalidKey, "an Ed25519 public key is 32 bytes, not \(bytes.count)")
            }
            guard
                let raw = bytes.withUnsafeBufferPointer({
                    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
                })
            else {
                throw openSSLError(.invalidKey, "EVP_PKEY_new_raw_public_key failed")
            }
            pkey = EVPKey(takingOwnershipOf: raw)
        }
        let bio = try MemoryBIO()
        guard PEM_write_bio_PUBKEY(bio.pointer, pkey.pointer) == 1 else {
            throw openSSLError(.libraryFailure, "PEM_write_bio_PUBKEY failed")
        }
        return try bio.readAllText()
    }

    /// Encodes an RSA public key as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"), as `ssh-keygen -e -m PEM`.
    package static func encodeRSAPublicKeyPKCS1(_ key: RSAKey) throws(CryptoError) -> String {
        let bio = try MemoryBIO()
        // The "type-specific" structure of an RSA public key is PKCS#1 RSAPublicKey,
        // the non-deprecated path to what PEM_write_bio_RSAPublicKey writes.
        guard
            let ctx = OSSL_ENCODER_CTX_new_for_pkey(
                key.key.pointer,
                KeySelection.publicKey,
                "PEM",
                "type-specific",
                nil
            )
        else {
            throw openSSLError(.libraryFailure, "OSSL_ENCODER_CTX_new_for_pkey failed")
        }
        defer { OSSL_ENCODER_CTX_free(ctx) }
        guard OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0 else {
            throw openSSLError(.unsupported, "OpenSSL has no PKCS#1 public key encoder")
        }
        guard OSSL_ENCODER_to_bio(ctx, bio.pointer) == 1 else {
            throw openSSLError(.libraryFailure, "encoding the PKCS#1 public key failed")
        }
        return try bio.readAllText()
    }

    // MARK: - Plumbing

    /// An `EVP_PKEY` for an Ed25519 seed.
    private static func ed25519Key(seed: SecureBytes) throws(CryptoError) -> EVPKey {
        guard seed.count == Ed25519.seedSize else {
            throw CryptoError(.invalidKey, "an Ed25519 seed is 32 bytes, not \(seed.count)")
        }
        let raw = seed.withUnsafeBytes {
            EVP_PKEY_new_raw_private_key(
                EVP_PKEY_ED25519,
                nil,
                $0.baseAddress?.assumingMemoryBound(to: UInt8.self),
                $0.count
            )
        }
        guard let raw else { throw openSSLError(.invalidKey, "EVP_PKEY_new_raw_private_key failed") }
        return EVPKey(takingOwnershipOf: raw)
    }

    /// Runs OpenSSL's decoders over `input` (PEM or DER, any structure), answering
    /// passphrase requests from `request`. Returns nil when nothing could decode it.
    private static func decode(
        _ input: SecureBytes,
        selection: Int32,
        request: PassphraseRequest
    ) throws(CryptoError) -> EVPKey? {
        var pkey: OpaquePointer? = nil
        guard let ctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, nil, nil, nil, selection, nil, nil) else {
            throw openSSLError(.libraryFailure, "OSSL_DECODER_CTX_new_for_pkey failed")
        }
        defer { OSSL_DECODER_CTX_free(ctx) }
        let ok = withExtendedLifetime(request) { () -> Int32 in
            // A C callback cannot capture; the request travels through the `void *u` argument.
            let context = Unmanaged.passUnretained(request).toOpaque()
            guard OSSL_DECODER_CTX_set_pem_password_cb(ctx, answerPassphrase, context) == 1 else { return 0 }
            return input.withUnsafeBytes { raw -> Int32 in
                guard let base = raw.baseAddress, raw.count > 0 else { return 0 }
                var pointer: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
                var length = raw.count
                return OSSL_DECODER_from_data(ctx, &pointer, &length)
            }
        }
        clearOpenSSLErrors()
        guard ok == 1, let pkey else { return nil }
        return EVPKey(takingOwnershipOf: pkey)
    }
}

/// The passphrase offered to OpenSSL's callback, and whether it was asked for.
private final class PassphraseRequest {
    /// The passphrase, or nil when there is none (an empty one counts as none, as in OpenSSH).
    let passphrase: SecureBytes?
    var wasAsked = false
    init(_ passphrase: SecureBytes?) {
        self.passphrase = passphrase.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// OpenSSL's `pem_password_cb`: copies the request's passphrase into `buffer`, or
/// refuses (-1) when there is none, so OpenSSL never prompts on the terminal.
private let answerPassphrase:
    @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
        buffer,
        size,
        _,
        context in
        guard let buffer, let context else { return -1 }
        let request = Unmanaged<PassphraseRequest>.fromOpaque(context).takeUnretainedValue()
        request.wasAsked = true
        guard let passphrase = request.passphrase, passphrase.count <= Int(size) else { return -1 }
        passphrase.withUnsafeBytes { raw in
            if let base = raw.baseAddress {
                UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: raw.count)
            }
        }
        return Int32(passphrase.count)
    }

/// A `pem_password_cb` that always refuses.
private let refusePassphrase:
    @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in -1
    }
