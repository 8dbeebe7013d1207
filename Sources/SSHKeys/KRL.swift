import SSHCrypto

/// An OpenSSH key revocation list (KRL): the binary file `ssh-keygen -k` writes and sshd's
/// `RevokedKeys` reads (PROTOCOL.krl).
///
/// A KRL revokes certificates by serial number or key ID under a CA key (or under any CA),
/// and plain keys by their wire blob or by the SHA-1 or SHA-256 hash of it. keysmith reads
/// every KRL that OpenSSH's krl.c `ssh_krl_from_blob` reads, refuses every one it refuses
/// (one ``SSHKeyError`` sentence), and answers ``isRevoked(_:)`` as `ssh_krl_check_key`.
///
/// Wire layout (PROTOCOL.krl §1):
///
/// ```
/// byte[8] "SSHKRL\n\0"
/// uint32  format version (1)
/// uint64  krl_version
/// uint64  generated_date
/// uint64  flags
/// string  reserved
/// string  comment
/// (byte section_type, string section_data)*
/// ```
public struct KeyRevocationList: Sendable {
    /// The KRL's version number (`ssh-keygen -z`); OpenSSH does not interpret it.
    public var version: UInt64 = 0
    /// When the KRL was generated, in seconds since the epoch (0: not yet written).
    public var generatedDate: UInt64 = 0
    /// The header's flags word; no flags are defined, and krl.c keeps what it read.
    public var flags: UInt64 = 0
    /// The comment's bytes, as the C string krl.c keeps.
    package var commentBytes: [UInt8] = []
    /// The certificate sections, one per CA key, in the order their CA first appeared
    /// (krl.c keeps a list, not a tree, so this order is also the order written).
    package var authorities: [RevokedCertificates] = []
    /// Plain keys revoked by their wire blob; krl.c does not parse them when it reads.
    package var explicitKeys: Set<[UInt8]> = []
    /// SHA-1 hashes of revoked plain keys' wire blobs.
    package var sha1Digests: Set<[UInt8]> = []
    /// SHA-256 hashes of revoked plain keys' wire blobs.
    package var sha256Digests: Set<[UInt8]> = []

    /// The certificates revoked under one CA key, or under every CA when `authority` is nil
    /// (an empty CA key in the KRL).
    package struct RevokedCertificates: Sendable {
        package var authority: SSHPublicKey?
        package var serials = KRLSerialRanges()
        package var keyIDs: Set<[UInt8]> = []
    }

    /// KRL_MAGIC: "SSHKRL\n\0".
    package static let magic: [UInt8] = Array("SSHKRL\n".utf8) + [0]
    /// KRL_FORMAT_VERSION.
    package static let formatVersion: UInt32 = 1
    /// The most serial ranges keysmith holds for one KRL (docs/limits.md). krl.c has no
    /// limit of its own; 4 Mi ranges take 64 MiB.
    package static let maximumSerialRuns = 1 << 22

    /// An empty KRL.
    public init() {}

    /// The comment, as text (bytes that are not UTF-8 read as U+FFFD).
    public var comment: String {
        get { String(decoding: self.commentBytes, as: UTF8.self) }
        set { self.commentBytes = Array(newValue.utf8) }
    }

    /// Whether `bytes` start with the KRL magic. sshd's `RevokedKeys` reads a file that
    /// does not as a list of public keys (authfile.c `sshkey_check_revoked`).
    public static func hasMagic(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: Self.magic)
    }

    /// Reads the KRL file at `path`.
    /// - Throws: `.fileError` when it cannot be read; otherwise as ``init(bytes:)``.
    public init(contentsOfFile path: String) throws(SSHKeyError) {
        try self.init(bytes: KeyFileIO.readFile(path))
    }

    // MARK: Checking

    /// Whether the KRL revokes `key` (krl.c `ssh_krl_check_key`).
    ///
    /// A key is revoked when the SHA-1 or SHA-256 hash of its plain key's blob, or that
    /// blob itself, is listed. A certificate is also revoked when its serial (unless 0)
    /// or key ID is listed under its CA key or under the wildcard CA, and when its CA key
    /// is revoked as a key.
    public func isRevoked(_ key: SSHPublicKey) -> Bool {
        if self.revokesKey(key) { return true }
        if let certificate = key.certificate, self.revokesKey(certificate.signatureKey) { return true }
        return false
    }

    /// krl.c `is_key_revoked`: the key (not its CA).
    private func revokesKey(_ key: SSHPublicKey) -> Bool {
        // sshkey_fingerprint_raw and plain_key_blob both take the key without its certificate.
        let plain = key.plainKey.wireBlob
        if !self.sha1Digests.isEmpty, self.sha1Digests.contains(Digest.hash(.sha1, plain)) { return true }
        if !self.sha256Digests.isEmpty, self.sha256Digests.contains(Digest.hash(.sha256, plain)) { return true }
        if self.explicitKeys.contains(plain) { return true }
        guard let certificate = key.certificate else { return false }
        let keyID = Self.keyIDBytes(of: certificate)
        if let section = self.authorities.first(where: { $0.authority == certificate.signatureKey }),
            section.revokes(certificate, keyID: keyID)
        {
            return true
        }
        if let section = self.authorities.first(where: { $0.authority == nil }),
            section.revokes(certificate, keyID: keyID)
        {
            return true
        }
        return false
    }

    /// The certificate's key ID as the bytes it holds: ``SSHCertificate/keyID`` is text,
    /// and a key ID that is not UTF-8 must still match byte for byte, as krl.c's strcmp.
    package static func keyIDBytes(of certificate: SSHCertificate) -> [UInt8] {
        // string type, string nonce, the plain key's fields, uint64 serial, uint32 type, string key ID.
        var r = SSHWireReader(certificate.blob)
        let plain = certificate.key.wireBlob
        var plainReader = SSHWireReader(plain)
        guard (try? r.readString()) != nil, (try? r.readString()) != nil, (try? plainReader.readString()) != nil,
            (try? r.readBytes(plainReader.remaining + 12)) != nil, let id = try? r.readString()
        else { return Array(certificate.keyID.utf8) }
        return Array(id)
    }
}

extension KeyRevocationList.RevokedCertificates {
    /// krl.c `is_cert_revoked`: by key ID, then by serial; serial 0 (a CA's default) is never revoked.
    func revokes(_ certificate: SSHCertificate, keyID: [UInt8]) -> Bool {
        if self.keyIDs.contains(keyID) { return true }
        return certificate.serial != 0 && self.serials.contains(certificate.serial)
    }
}
