/// The symmetric ciphers that OpenSSH uses for private key files and the transport.
public enum CipherAlgorithm: Sendable, Hashable, CaseIterable {
    case aes128CTR, aes192CTR, aes256CTR
    case aes128CBC, aes192CBC, aes256CBC
    case aes128GCM, aes256GCM
    case chaCha20Poly1305
    case tripleDESCBC

    /// The name OpenSSH uses (`aes256-ctr`, `chacha20-poly1305@openssh.com`, …).
    public var sshName: String { fatalError("unimplemented") }
    /// Looks a cipher up by its OpenSSH name.
    public init?(sshName: String) { fatalError("unimplemented") }
    /// Key length in bytes (64 for chacha20-poly1305@openssh.com: two keys).
    public var keySize: Int { fatalError("unimplemented") }
    /// IV length in bytes (0 for chacha20-poly1305, 12 for GCM).
    public var ivSize: Int { fatalError("unimplemented") }
    /// Block size in bytes, used for padding (8 for chacha and 3DES, 16 for AES).
    public var blockSize: Int { fatalError("unimplemented") }
    /// Authentication tag length in bytes (16 for the AEAD ciphers, else 0).
    public var tagSize: Int { fatalError("unimplemented") }
}

/// One-shot encryption as OpenSSH's key files use it (sequence number 0, no AAD).
package enum KeyFileCipher {
    /// Encrypts `plaintext` (a multiple of the block size); for AEAD ciphers the
    /// 16-byte tag is appended to the result.
    package static func encrypt(_ cipher: CipherAlgorithm, key: SecureBytes, iv: SecureBytes, plaintext: SecureBytes) throws(CryptoError) -> [UInt8] {
        fatalError("unimplemented")
    }

    /// Decrypts `ciphertext` (for AEAD ciphers followed by its tag, which is checked).
    /// - Throws: `.decryptionFailed` when the tag does not verify.
    package static func decrypt(_ cipher: CipherAlgorithm, key: SecureBytes, iv: SecureBytes, ciphertext: some Collection<UInt8>) throws(CryptoError) -> SecureBytes {
        fatalError("unimplemented")
    }
}
