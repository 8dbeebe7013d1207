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
    package static func decodePrivateKey(_ data: some Collection<UInt8>, passphrase: SecureBytes?) throws(CryptoError) -> OpenSSLPrivateKey { fatalError("unimplemented") }

    /// Whether `data` is an encrypted PEM private key (needs a passphrase to read).
    package static func isEncryptedPrivateKey(_ data: some Collection<UInt8>) -> Bool { fatalError("unimplemented") }

    /// Decodes a public key: SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") or PKCS#1
    /// ("BEGIN RSA PUBLIC KEY"), as PEM text or DER bytes.
    package static func decodePublicKey(_ data: some Collection<UInt8>) throws(CryptoError) -> OpenSSLPublicKey { fatalError("unimplemented") }

    /// Encodes a private key as PEM text, byte for byte as OpenSSL writes it for ssh-keygen.
    /// An empty or nil passphrase writes it unencrypted.
    /// - Throws: `.unsupported` for Ed25519 in the traditional format.
    package static func encodePrivateKey(_ key: OpenSSLPrivateKey, format: PEMPrivateKeyFormat, passphrase: SecureBytes?) throws(CryptoError) -> String { fatalError("unimplemented") }

    /// Encodes a public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), as `ssh-keygen -e -m PKCS8`.
    package static func encodePublicKeySPKI(_ key: OpenSSLPublicKey) throws(CryptoError) -> String { fatalError("unimplemented") }

    /// Encodes an RSA public key as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY"), as `ssh-keygen -e -m PEM`.
    package static func encodeRSAPublicKeyPKCS1(_ key: RSAKey) throws(CryptoError) -> String { fatalError("unimplemented") }
}
