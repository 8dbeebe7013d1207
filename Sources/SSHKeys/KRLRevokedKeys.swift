/// The keys sshd's `RevokedKeys` file revokes, read as sshd reads it.
///
/// authfile.c `sshkey_check_revoked`: a file that starts with the KRL magic is a
/// ``KeyRevocationList``; any other file is a list of public keys, one per line (blank
/// lines and `#` comments skipped), as `sshkey_in_file` reads it. auth2-pubkey.c checks
/// both the key offered and, for a certificate, its CA key.
///
/// sshd refuses every key when it cannot use the file: when it cannot read it, when a
/// KRL is malformed, or when a line of a key list is not a key (an RSA key of an
/// unaccepted size is skipped, as sshd skips it). ``init(path:)`` throws then, and a
/// server that follows sshd must refuse every key.
public struct RevokedKeys: Sendable {
    private enum Source: Sendable {
        case krl(KeyRevocationList)
        /// The plain keys of the list's lines (a certificate line revokes its plain key).
        case keys(Set<[UInt8]>)
    }

    private let source: Source

    /// Reads the file at `path` as sshd reads its `RevokedKeys` file.
    /// - Throws: `SSHKeyError` when sshd would refuse every key because of the file.
    public init(path: String) throws(SSHKeyError) {
        let bytes = try KeyFileIO.readFile(path)
        do {
            try self.init(bytes: bytes)
        } catch {
            throw SSHKeyError(error.code, "\(path): \(error.message)")
        }
    }

    /// Reads the contents of a `RevokedKeys` file.
    /// - Throws: `SSHKeyError` when sshd would refuse every key because of the contents.
    public init(bytes: some Collection<UInt8>) throws(SSHKeyError) {
        let all = Array(bytes)
        if KeyRevocationList.hasMagic(all) {
            self.source = .krl(try KeyRevocationList(bytes: all))
            return
        }
        var keys: Set<[UInt8]> = []
        var number = 0
        for line in all.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            if let key = try Self.readLine(line, number: number) { keys.insert(key.plainKey.wireBlob) }
        }
        self.source = .keys(keys)
    }

    /// Whether sshd refuses `key` as revoked (auth2-pubkey.c: the key, then a certificate's CA key).
    public func isRevoked(_ key: SSHPublicKey) -> Bool {
        switch self.source {
        case .krl(let krl):
            return krl.isRevoked(key)
        case .keys(let keys):
            // sshkey_in_file compares with sshkey_equal_public (plain keys) and, for a
            // certificate, its CA key too.
            if keys.contains(key.plainKey.wireBlob) { return true }
            if let certificate = key.certificate, keys.contains(certificate.signatureKey.plainKey.wireBlob) {
                return true
            }
            return false
        }
    }

    /// One line as `sshkey_in_file` reads it with sshkey_read: nil for a blank or comment
    /// line, or for an RSA key of a size OpenSSH refuses (SSH_ERR_KEY_LENGTH is skipped).
    private static func readLine(_ line: ArraySlice<UInt8>, number: Int) throws(SSHKeyError) -> SSHPublicKey? {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        // The line is a C string: it ends at a NUL byte.
        let text = line.prefix { $0 != 0 }
        let start = text.drop(while: blank)
        guard let first = start.first, first != UInt8(ascii: "#") else { return nil }
        func refuse(_ reason: String) -> SSHKeyError {
            SSHKeyError(.invalidFormat, "line \(number) is not a public key (\(reason))")
        }
        guard let typeEnd = start.firstIndex(where: blank) else { throw refuse("no key after the key type") }
        guard let type = SSHKeyType(sshName: start[..<typeEnd]) else { throw refuse("unknown key type") }
        let blobStart = start[typeEnd...].drop(while: blank)
        let blobText = blobStart.prefix { !blank($0) }
        guard !blobText.isEmpty else { throw refuse("no key after the key type") }
        guard let blob = Base64.decode(blobText.filter { $0 != 0x0D && $0 != 0x0A }) else {
            throw refuse("damaged base64")
        }
        let key: SSHPublicKey
        do {
            key = try SSHPublicKey(wireBlob: blob)
        } catch {
            if Self.isRSAKeyOfRefusedSize(blob) { return nil }
            throw refuse(error.message)
        }
        guard key.type == type else { throw refuse("the key is not of the type the line names") }
        return key
    }

    /// Whether `blob` is an RSA key that sshkey_from_blob refuses for its size alone
    /// (SSH_ERR_KEY_LENGTH: a modulus under 1024 or over 16384 bits).
    private static func isRSAKeyOfRefusedSize(_ blob: [UInt8]) -> Bool {
        var r = SSHWireReader(blob)
        guard let name = try? r.readString(), name.elementsEqual("ssh-rsa".utf8), (try? r.readPositiveMPInt()) != nil,
            let n = try? r.readPositiveMPInt(), let top = n.first, r.isAtEnd
        else { return false }
        let bits = (n.count - 1) * 8 + (8 - top.leadingZeroBitCount)
        return bits < SSHPublicKey.minimumRSABits || bits > SSHPublicKey.maximumRSABits
    }
}
