public import SSHCrypto

/// The formats a private key file can be written in (`-m`).
public enum PrivateKeyFileFormat: String, Sendable, CaseIterable {
    /// openssh-key-v1, the default.
    case openSSH = "openssh"
    /// PKCS#1 for RSA, SEC1 for ECDSA (ssh-keygen's `-m PEM`).
    case pem
    /// PKCS#8.
    case pkcs8
}

/// What a key file holds, judged from its contents.
public enum KeyFileKind: Sendable, Equatable {
    /// An openssh-key-v1 private key.
    case openSSHPrivateKey
    /// A PEM or DER private key (PKCS#1, SEC1, PKCS#8).
    case pemPrivateKey
    /// An RFC 4716 public key.
    case rfc4716PublicKey
    /// A PEM or DER public key (SubjectPublicKeyInfo, PKCS#1).
    case pemPublicKey
    /// Text lines: public keys, authorized_keys or known_hosts.
    case publicKeyLines

    /// Judges `contents`.
    public init(contents: some Collection<UInt8>) {
        let bytes = Array(contents.prefix(1 << 16))
        // Every armour line looked for below holds a run of four dashes. A file of key
        // lines (an authorized_keys of thousands) has none, and one linear scan for it
        // spares the substring searches.
        guard Self.hasDashRun(bytes) else {
            self = Self.looksLikeDER(contents) ? .pemPrivateKey : .publicKeyLines
            return
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if OpenSSHPrivateKeyFormat.matches(bytes) {
            self = .openSSHPrivateKey
        } else if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
            self = .pemPrivateKey
        } else if RFC4716.matches(bytes) {
            self = .rfc4716PublicKey
        } else if text.contains("-----BEGIN PUBLIC KEY-----") || text.contains("-----BEGIN RSA PUBLIC KEY-----") {
            self = .pemPublicKey
        } else if Self.looksLikeDER(contents) {
            // DER SEQUENCE: let OpenSSL decide whether it is a private or public key.
            self = .pemPrivateKey
        } else {
            self = .publicKeyLines
        }
    }

    /// Whether `contents` could be one DER SEQUENCE: the tag 0x30 and then a long-form
    /// length, or a short-form length that spans exactly the rest of the file. Text
    /// starting with the digit 0 (a known_hosts line for 0.0.0.0) is not.
    package static func looksLikeDER(_ contents: some Collection<UInt8>) -> Bool {
        var bytes = contents.makeIterator()
        guard bytes.next() == 0x30, let length = bytes.next() else { return false }
        return length >= 0x80 || contents.count == 2 + Int(length)
    }

    /// Whether `bytes` contain `----`.
    private static func hasDashRun(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var run = 0
            for byte in buffer {
                run = byte == UInt8(ascii: "-") ? run + 1 : 0
                if run == 4 { return true }
            }
            return false
        }
    }
}

extension SSHPrivateKey {
    /// Reads a private key file in any format keysmith reads: openssh-key-v1, PEM
    /// (PKCS#1, SEC1, PKCS#8, encrypted or not) or DER.
    ///
    /// - Throws: `.passphraseRequired` when the key is encrypted and `passphrase` is nil or empty,
    ///   `.wrongPassphrase`, `.notAPrivateKey` for a public key, `.invalidFormat` for anything else.
    public init(fileContents contents: some Collection<UInt8>, passphrase: SecureBytes? = nil) throws(SSHKeyError) {
        let bytes = Array(contents)
        switch KeyFileKind(contents: bytes) {
        case .openSSHPrivateKey:
            self = try OpenSSHPrivateKeyFormat.decode(bytes, passphrase: passphrase)
        case .pemPrivateKey:
            let pass = passphrase.flatMap { $0.isEmpty ? nil : $0 }
            do {
                self = try SSHPrivateKey(pem: bytes, passphrase: pass)
            } catch  where error.code == .invalidFormat && bytes.first == 0x30 {
                if (try? SSHPublicKey(pem: bytes)) != nil {
                    throw SSHKeyError(.notAPrivateKey, "this is a public key, not a private key")
                }
                throw error
            }
        case .rfc4716PublicKey, .pemPublicKey:
            throw SSHKeyError(.notAPrivateKey, "this is a public key, not a private key")
        case .publicKeyLines:
            let text = String(decoding: bytes, as: UTF8.self)
            if text.split(separator: "\n").contains(where: { SSHPublicKey.parseLine($0) != nil }) {
                throw SSHKeyError(.notAPrivateKey, "this is a public key, not a private key")
            }
            throw SSHKeyError(.invalidFormat, "not a key file")
        }
    }

    /// Whether a private key file needs a passphrase to be read.
    public static func isEncrypted(fileContents contents: some Collection<UInt8>) -> Bool {
        let bytes = Array(contents)
        switch KeyFileKind(contents: bytes) {
        case .openSSHPrivateKey: return (try? OpenSSHPrivateKeyFormat.isEncrypted(bytes)) ?? false
        case .pemPrivateKey:
            // A file whose KDF is out of bounds counts as plain, so reading it refuses it at once.
            guard (try? PasswordKDFLimits.checkPKCS8(bytes)) != nil else { return false }
            return PEMCodec.isEncryptedPrivateKey(bytes)
        default: return false
        }
    }

    /// The key as a file in `format`, encrypted when `passphrase` is non-empty.
    public func fileRepresentation(
        format: PrivateKeyFileFormat = .openSSH,
        passphrase: SecureBytes? = nil,
        options: OpenSSHKeyFileOptions = .init()
    ) throws(SSHKeyError) -> SecureBytes {
        switch format {
        case .openSSH: try self.openSSHRepresentation(passphrase: passphrase, options: options)
        case .pem: try self.pemRepresentation(format: .traditional, passphrase: passphrase)
        case .pkcs8: try self.pemRepresentation(format: .pkcs8, passphrase: passphrase)
        }
    }
}

extension SSHPublicKey {
    /// The public key of a private key file without decrypting it, where the format
    /// allows (openssh-key-v1 stores it in the clear); nil otherwise.
    public static func fromPrivateKeyFile(_ contents: some Collection<UInt8>) -> SSHPublicKey? {
        let bytes = Array(contents)
        guard KeyFileKind(contents: bytes) == .openSSHPrivateKey else { return nil }
        return try? OpenSSHPrivateKeyFormat.publicKey(fromFile: bytes)
    }

    /// Every public key in a file: one OpenSSH line per key (authorized_keys and
    /// known_hosts too), an RFC 4716 file, or a PEM/DER public key.
    /// Returns the keys with their comments (for lines: the text after the key;
    /// for host lines without one, nil).
    public static func keys(inFile contents: some Collection<UInt8>) throws(SSHKeyError) -> [SSHPublicKeyLine] {
        let bytes = Array(contents)
        switch KeyFileKind(contents: bytes) {
        case .rfc4716PublicKey:
            let (key, comment) = try RFC4716.decode(bytes)
            return [SSHPublicKeyLine(prefix: nil, key: key, comment: comment)]
        case .pemPublicKey:
            return [SSHPublicKeyLine(prefix: nil, key: try SSHPublicKey(pem: bytes), comment: nil)]
        case .openSSHPrivateKey, .pemPrivateKey:
            throw SSHKeyError(.invalidFormat, "this is a private key, not a public key file")
        case .publicKeyLines:
            // Lines end at LF; a CR before it is part of the line ending, not the comment.
            let found = bytes.split(separator: 0x0A).compactMap { bytes -> SSHPublicKeyLine? in
                guard var line = SSHPublicKey.parseLine(Substring(String(decoding: bytes, as: UTF8.self))) else {
                    return nil
                }
                if line.comment?.last == "\r" { line.comment?.removeLast() }
                if line.comment?.isEmpty == true { line.comment = nil }
                return line
            }
            guard !found.isEmpty else { throw SSHKeyError(.invalidFormat, "not a public key file") }
            return found
        }
    }
}
