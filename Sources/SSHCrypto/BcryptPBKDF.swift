/// OpenBSD's bcrypt_pbkdf, as OpenSSH's key files use it.
package enum BcryptPBKDF {
    /// Derives `outputLength` bytes from `passphrase` and `salt` with `rounds` rounds.
    /// - Throws: `.invalidParameter` for zero rounds, an empty salt, or a bad length.
    package static func deriveKey(passphrase: SecureBytes, salt: some Collection<UInt8>, rounds: Int, outputLength: Int) throws(CryptoError) -> SecureBytes {
        fatalError("unimplemented")
    }
}
