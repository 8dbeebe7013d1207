public import SSHCrypto

/// The choices for writing an openssh-key-v1 file.
public struct OpenSSHKeyFileOptions: Sendable {
    /// The cipher that protects the private section when a passphrase is given (`-Z`).
    public var cipher: CipherAlgorithm
    /// bcrypt_pbkdf rounds (`-a`); OpenSSH 9.4 and later default to 24.
    public var rounds: Int

    public static let defaultCipher: CipherAlgorithm = .aes256CTR
    public static let defaultRounds = 24

    public init(
        cipher: CipherAlgorithm = OpenSSHKeyFileOptions.defaultCipher,
        rounds: Int = OpenSSHKeyFileOptions.defaultRounds
    ) {
        self.cipher = cipher
        self.rounds = rounds
    }
}

/// openssh-key-v1, OpenSSH's own private key format (PROTOCOL.key).
///
/// ```
/// "openssh-key-v1\0"
/// string ciphername        "none" or e.g. "aes256-ctr"
/// string kdfname           "none" or "bcrypt"
/// string kdfoptions        "" or (string salt, uint32 rounds)
/// uint32 number of keys    1
/// string public key
/// string encrypted private section   (an AEAD tag follows, not counted in the length)
/// ```
/// The private section: uint32 checkint, uint32 checkint, the private key fields,
/// string comment, then padding 1, 2, 3, … to the cipher's block size.
package enum OpenSSHPrivateKeyFormat {
    static let magic: [UInt8] = Array("openssh-key-v1".utf8) + [0]
    static let beginMark = "-----BEGIN OPENSSH PRIVATE KEY-----"
    static let endMark = "-----END OPENSSH PRIVATE KEY-----"
    static let saltLength = 16
    /// The block size of the "none" cipher.
    static let noneBlockSize = 8
    /// Refuse rounds that would take minutes; ssh-keygen accepts any u32 (bcrypt_pbkdf.c
    /// checks only rounds ≥ 1), but a file with an absurd count is a denial of service on
    /// whoever opens it.
    package static let maximumRounds = PasswordKDFLimits.maximumBcryptRounds

    /// Whether `text` looks like an openssh-key-v1 file.
    package static func matches(_ text: some Collection<UInt8>) -> Bool {
        findArmor(Array(text)) != nil
    }

    /// The base64 body between the markers, decoded.
    static func unarmor(_ text: [UInt8]) throws(SSHKeyError) -> [UInt8] {
        guard let body = findArmor(text) else {
            throw SSHKeyError(.invalidFormat, "not an OpenSSH private key file")
        }
        guard let decoded = Base64.decode(body) else {
            throw SSHKeyError(.invalidFormat, "the private key's base64 is damaged")
        }
        guard decoded.count >= magic.count, decoded.prefix(magic.count).elementsEqual(magic) else {
            throw SSHKeyError(.invalidFormat, "the private key does not start with openssh-key-v1")
        }
        return decoded
    }

    private static func findArmor(_ text: [UInt8]) -> ArraySlice<UInt8>? {
        guard let begin = text.firstRange(of: Array(beginMark.utf8)),
            let end = text[begin.upperBound...].firstRange(of: Array(endMark.utf8))
        else { return nil }
        // Only whitespace may stand before the begin marker.
        guard text[..<begin.lowerBound].allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            return nil
        }
        return text[begin.upperBound..<end.lowerBound]
    }

    struct Header {
        var cipherName: String
        var kdfName: String
        var kdfOptions: ArraySlice<UInt8>
        var publicKey: SSHPublicKey
        var encrypted: ArraySlice<UInt8>
        var tag: ArraySlice<UInt8>
        var cipher: CipherAlgorithm?
    }

    static func readHeader(_ decoded: [UInt8]) throws(SSHKeyError) -> Header {
        var r = SSHWireReader(decoded[magic.count...])
        let cipherName = try r.readUTF8()
        let kdfName = try r.readUTF8()
        let kdfOptions = try r.readString()
        let count = try r.readUInt32()
        guard count == 1 else {
            throw SSHKeyError(.unsupported, "the file holds \(count) keys; only one is supported")
        }
        let publicKey = try SSHPublicKey(wireBlob: try r.readString())
        let length = try r.readUInt32()
        let cipher: CipherAlgorithm?
        if cipherName == "none" {
            cipher = nil
        } else if let c = CipherAlgorithm(sshName: cipherName) {
            cipher = c
        } else {
            throw SSHKeyError(
                .unsupported,
                "the key is encrypted with an unknown cipher \"\(printable(cipherName.utf8))\""
            )
        }
        guard kdfName == "none" || kdfName == "bcrypt" else {
            throw SSHKeyError(.unsupported, "the key uses an unknown key derivation \"\(printable(kdfName.utf8))\"")
        }
        guard (kdfName == "none") == (cipher == nil) else {
            throw SSHKeyError(.invalidFormat, "the key's cipher and key derivation disagree")
        }
        if kdfName == "bcrypt" {
            // Checked here, before any passphrase is asked for, so a hostile file is refused at once.
            _ = try bcryptOptions(kdfOptions)
        }
        let blockSize = cipher?.blockSize ?? noneBlockSize
        let tagSize = cipher?.tagSize ?? 0
        guard let n = Int(exactly: length), n >= blockSize, n % blockSize == 0 else {
            throw SSHKeyError(.invalidFormat, "the private section's length is not a multiple of the cipher block size")
        }
        guard r.remaining == n + tagSize else {
            if r.remaining < n + tagSize { throw SSHKeyError(.truncated, "the private key file is truncated") }
            throw SSHKeyError(.invalidFormat, "the private key file has trailing data")
        }
        let encrypted = try r.readBytes(n)
        let tag = try r.readBytes(tagSize)
        return Header(
            cipherName: cipherName,
            kdfName: kdfName,
            kdfOptions: kdfOptions,
            publicKey: publicKey,
            encrypted: encrypted,
            tag: tag,
            cipher: cipher
        )
    }

    /// PROTOCOL.key: kdfoptions for bcrypt are `string salt, uint32 rounds`.
    static func bcryptOptions(
        _ options: ArraySlice<UInt8>
    ) throws(SSHKeyError) -> (salt: ArraySlice<UInt8>, rounds: UInt32) {
        var kdf = SSHWireReader(options)
        let salt = try kdf.readString()
        let rounds = try kdf.readUInt32()
        try kdf.expectEnd("the key derivation options")
        guard !salt.isEmpty else { throw SSHKeyError(.invalidFormat, "the key derivation has an empty salt") }
        guard rounds >= 1, rounds <= maximumRounds else {
            throw SSHKeyError(
                .unsupported,
                "the key asks for \(rounds) bcrypt rounds, outside 1 to \(maximumRounds); re-encrypt it with fewer (ssh-keygen -p -a 100)"
            )
        }
        return (salt, rounds)
    }

    /// The public key stored in the clear in the file's header.
    package static func publicKey(fromFile text: some Collection<UInt8>) throws(SSHKeyError) -> SSHPublicKey {
        try readHeader(try unarmor(Array(text))).publicKey
    }

    /// Whether the file's private section is encrypted.
    package static func isEncrypted(_ text: some Collection<UInt8>) throws(SSHKeyError) -> Bool {
        try readHeader(try unarmor(Array(text))).cipher != nil
    }

    /// Decodes and, if needed, decrypts a key file.
    /// - Throws: `.passphraseRequired`, `.wrongPassphrase`, `.invalidFormat`, `.keyMismatch`, …
    package static func decode(
        _ text: some Collection<UInt8>,
        passphrase: SecureBytes?
    ) throws(SSHKeyError) -> SSHPrivateKey {
        // An unencrypted file's base64 and its decoding are the private key itself.
        var decoded = try unarmor(Array(text))
        defer { secureWipe(&decoded) }
        let header = try readHeader(decoded)
        let plain: SecureBytes
        if let cipher = header.cipher {
            guard let passphrase, !passphrase.isEmpty else {
                throw SSHKeyError(.passphraseRequired, "the key is protected by a passphrase")
            }
            let (salt, rounds) = try bcryptOptions(header.kdfOptions)
            let derived = try wrapCrypto("deriving the key") { () throws(CryptoError) in
                try BcryptPBKDF.deriveKey(
                    passphrase: passphrase,
                    salt: salt,
                    rounds: Int(rounds),
                    outputLength: cipher.keySize + cipher.ivSize
                )
            }
            let key = derived.slice(0..<cipher.keySize)
            let iv = derived.slice(cipher.keySize..<derived.count)
            do {
                plain = try KeyFileCipher.decrypt(cipher, key: key, iv: iv, ciphertext: header.encrypted + header.tag)
            } catch {
                // An AEAD tag that does not verify means the passphrase is wrong.
                if error.code == .decryptionFailed { throw SSHKeyError(.wrongPassphrase, "incorrect passphrase") }
                throw SSHKeyError(.invalidFormat, "decrypting the private key failed: \(error.message)")
            }
        } else {
            plain = SecureBytes(header.encrypted)
        }

        return try plain.withUnsafeBytes { (raw) throws(SSHKeyError) -> SSHPrivateKey in
            // The reader needs an array; it lives only for this call and is wiped below.
            var bytes = Array(raw)
            defer { secureWipe(&bytes) }
            var r = SSHWireReader(bytes)
            let check1 = try r.readUInt32()
            let check2 = try r.readUInt32()
            guard check1 == check2 else {
                if header.cipher != nil { throw SSHKeyError(.wrongPassphrase, "incorrect passphrase") }
                throw SSHKeyError(.invalidFormat, "the private key's check values differ")
            }
            var key = try SSHPrivateKey.readPrivateFields(from: &r)
            key.comment = try r.readUTF8()
            // PROTOCOL.key §3: padding bytes 1, 2, 3, … to the block size.
            var i: UInt8 = 0
            while !r.isAtEnd {
                i &+= 1
                guard try r.readByte() == i else {
                    throw SSHKeyError(.invalidFormat, "the private key's padding is wrong")
                }
            }
            guard key.publicKey == header.publicKey else {
                throw SSHKeyError(.keyMismatch, "the private key does not match the public key stored with it")
            }
            return key
        }
    }

    /// Encodes `key` as an openssh-key-v1 file, armoured as ssh-keygen writes it.
    /// A nil or empty passphrase writes the key unencrypted (cipher and KDF "none").
    package static func encode(
        _ key: SSHPrivateKey,
        passphrase: SecureBytes?,
        options: OpenSSHKeyFileOptions = .init()
    ) throws(SSHKeyError) -> SecureBytes {
        let encrypting = passphrase.map { !$0.isEmpty } ?? false
        let cipher: CipherAlgorithm? = encrypting ? options.cipher : nil
        guard options.rounds >= 1, options.rounds <= maximumRounds else {
            throw SSHKeyError(.invalidParameter, "bcrypt rounds must be between 1 and \(maximumRounds)")
        }

        var w = SSHWireWriter(capacity: 4096)
        w.writeBytes(magic)
        w.writeString(cipher?.sshName ?? "none")
        w.writeString(cipher == nil ? "none" : "bcrypt")
        var derived: SecureBytes? = nil
        if let cipher, let passphrase {
            let salt = SecureRandom.bytes(saltLength)
            var kdf = SSHWireWriter()
            kdf.writeString(salt)
            kdf.writeUInt32(UInt32(options.rounds))
            w.writeString(kdf.bytes)
            derived = try wrapCrypto("deriving the key") { () throws(CryptoError) in
                try BcryptPBKDF.deriveKey(
                    passphrase: passphrase,
                    salt: salt,
                    rounds: options.rounds,
                    outputLength: cipher.keySize + cipher.ivSize
                )
            }
        } else {
            w.writeString([UInt8]())
        }
        w.writeUInt32(1)
        w.writeString(key.publicKey.wireBlob)

        var p = SSHWireWriter(capacity: 4096)
        let check = SecureRandom.uint32()
        p.writeUInt32(check)
        p.writeUInt32(check)
        key.writePrivateFields(to: &p)
        p.writeString(key.comment)
        let blockSize = cipher?.blockSize ?? noneBlockSize
        var i: UInt8 = 0
        while p.bytes.count % blockSize != 0 {
            i &+= 1
            p.writeByte(i)
        }
        let plain = p.takeSecure()
        w.writeUInt32(UInt32(plain.count))
        if let cipher, let derived {
            let k = derived.slice(0..<cipher.keySize)
            let iv = derived.slice(cipher.keySize..<derived.count)
            let sealed = try wrapCrypto("encrypting the key") { () throws(CryptoError) in
                try KeyFileCipher.encrypt(cipher, key: k, iv: iv, plaintext: plain)
            }
            w.writeBytes(sealed)
        } else {
            plain.withUnsafeBytes { w.writeBytes($0) }
        }
        let text = Base64.encodeSecure(w.bytes, lineWidth: 70, prefix: beginMark + "\n", suffix: endMark + "\n")
        w.wipe()
        return text
    }
}

extension SSHPrivateKey {
    /// The key as an openssh-key-v1 file (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    ///
    /// - Parameters:
    ///   - passphrase: protects the key with bcrypt_pbkdf and `options.cipher`; nil or empty writes it unencrypted.
    ///   - options: cipher and rounds.
    /// - Returns: the file's text, kept in secure storage.
    public func openSSHRepresentation(
        passphrase: SecureBytes? = nil,
        options: OpenSSHKeyFileOptions = .init()
    ) throws(SSHKeyError) -> SecureBytes {
        try OpenSSHPrivateKeyFormat.encode(self, passphrase: passphrase, options: options)
    }
}
