public import SSHCrypto

/// An SSH public key of any type OpenSSH reads: Ed25519, RSA, ECDSA, the security-key
/// types, legacy DSA, and certificates of each (see ``SSHKeyType``).
///
/// Two keys are equal when their wire encodings are equal.
public struct SSHPublicKey: Sendable, Hashable, CustomStringConvertible {
    package enum Backing: Sendable {
        case ed25519([UInt8])
        case rsa(RSAKey)
        case ecdsa(ECDSAKey)
        /// The Ed25519 key and the FIDO application string (`ssh:` by default).
        case skEd25519(publicKey: [UInt8], application: [UInt8])
        /// The P-256 key and the FIDO application string.
        case skECDSA(ECDSAKey, application: [UInt8])
        case dsa(DSAPublicKey)
        indirect case certificate(SSHCertificate)
    }

    package let backing: Backing
    /// The key's wire encoding (RFC 4253 §6.6), as it appears base64-encoded in key lines.
    public let wireBlob: [UInt8]

    /// OpenSSH's smallest accepted RSA modulus (SSH_RSA_MINIMUM_MODULUS_SIZE).
    package static let minimumRSABits = 1024
    /// The largest RSA modulus keysmith accepts (OPENSSL_RSA_MAX_MODULUS_BITS).
    package static let maximumRSABits = 16384

    package init(backing: Backing) {
        self.backing = backing
        var w = SSHWireWriter()
        switch backing {
        case .ed25519(let pk):
            w.writeString("ssh-ed25519")
            w.writeString(pk)
        case .rsa(let key):
            w.writeString("ssh-rsa")
            w.writeMPInt(key.e)
            w.writeMPInt(key.n)
        case .ecdsa(let key):
            w.writeString("ecdsa-sha2-\(key.curve.sshIdentifier)")
            w.writeString(key.curve.sshIdentifier)
            w.writeString(key.publicPoint)
        case .skEd25519(let pk, let application):
            w.writeString(SSHKeyType.skEd25519.sshName)
            w.writeString(pk)
            w.writeString(application)
        case .skECDSA(let key, let application):
            w.writeString(SSHKeyType.skECDSA.sshName)
            w.writeString(key.curve.sshIdentifier)
            w.writeString(key.publicPoint)
            w.writeString(application)
        case .dsa(let key):
            w.writeString("ssh-dss")
            key.writeFields(to: &w)
        case .certificate(let certificate):
            self.wireBlob = certificate.blob
            return
        }
        self.wireBlob = w.bytes
    }

    /// Decodes a key from its wire encoding.
    /// - Throws: `SSHKeyError` when the blob is malformed, has trailing bytes, or holds an unsupported type.
    public init(wireBlob: some Collection<UInt8>) throws(SSHKeyError) {
        var r = SSHWireReader(Array(wireBlob))
        self = try Self.read(from: &r)
        try r.expectEnd("the public key")
    }

    /// Reads one public key (its fields, not a length-prefixed string) from `reader`.
    /// A certificate's CA signature is checked as OpenSSH's `cert_parse` checks it.
    package static func read(from r: inout SSHWireReader) throws(SSHKeyError) -> SSHPublicKey {
        let start = r.bytes.startIndex
        let whole = r.bytes
        let name = try r.readString()
        guard let type = SSHKeyType(sshName: name) else {
            throw SSHKeyError(.unsupported, "unsupported key type \"\(printable(name))\"")
        }
        do {
            guard case .certificate(let plain) = type else {
                return SSHPublicKey(backing: try readFields(of: type, from: &r))
            }
            let nonce = try r.readString()
            let key = SSHPublicKey(backing: try readFields(of: plain, from: &r))
            return try SSHPublicKey(
                backing: .certificate(
                    SSHCertificate.read(type: type, nonce: Array(nonce), key: key, from: &r, blob: whole, start: start)
                )
            )
        } catch let error as CryptoError {
            throw SSHKeyError(.invalidFormat, "the \(type.displayName) public key is invalid: \(error.message)")
        } catch let error as SSHKeyError {
            throw error
        } catch {
            throw SSHKeyError(.invalidFormat, "the public key is invalid")
        }
    }

    /// The fields of a plain key of `type`, after its name.
    private static func readFields(of type: SSHKeyType, from r: inout SSHWireReader) throws -> Backing {
        switch type {
        case .ed25519:
            return .ed25519(try readEd25519Key(from: &r))
        case .rsa:
            let e = try r.readPositiveMPInt()
            let n = try r.readPositiveMPInt()
            let key = try RSAKey(n: n, e: e)
            try checkRSABits(key.bits)
            return .rsa(key)
        case .ecdsa(let curve):
            return .ecdsa(try readECDSAKey(curve: curve, from: &r))
        case .skEd25519:
            let pk = try readEd25519Key(from: &r)
            return .skEd25519(publicKey: pk, application: try readApplication(from: &r))
        case .skECDSA:
            let key = try readECDSAKey(curve: .p256, from: &r)
            return .skECDSA(key, application: try readApplication(from: &r))
        case .dsa:
            return .dsa(try DSAPublicKey(from: &r))
        case .certificate:
            throw SSHKeyError(.invalidFormat, "a certificate cannot certify a certificate")
        }
    }

    private static func readEd25519Key(from r: inout SSHWireReader) throws(SSHKeyError) -> [UInt8] {
        let pk = try r.readString()
        guard pk.count == 32 else {
            throw SSHKeyError(.invalidFormat, "an Ed25519 public key must be 32 bytes")
        }
        return Array(pk)
    }

    private static func readECDSAKey(curve: ECCurve, from r: inout SSHWireReader) throws -> ECDSAKey {
        let id = try r.readString()
        guard id.elementsEqual(curve.sshIdentifier.utf8) else {
            throw SSHKeyError(.invalidFormat, "the ECDSA curve does not match the key type")
        }
        let q = try r.readString()
        return try ECDSAKey(curve: curve, publicPoint: q)
    }

    /// A security key's application string: a C string (no NUL) as sshbuf_get_cstring reads it.
    private static func readApplication(from r: inout SSHWireReader) throws(SSHKeyError) -> [UInt8] {
        let application = try r.readString()
        guard !application.contains(0) else {
            throw SSHKeyError(.invalidFormat, "the security key application string holds a NUL byte")
        }
        return Array(application)
    }

    package static func checkRSABits(_ bits: Int) throws(SSHKeyError) {
        guard bits >= minimumRSABits else {
            throw SSHKeyError(
                .invalidParameter,
                "RSA keys of \(bits) bits are too small (the minimum is \(minimumRSABits))"
            )
        }
        guard bits <= maximumRSABits else {
            throw SSHKeyError(
                .invalidParameter,
                "RSA keys of \(bits) bits are too large (the maximum is \(maximumRSABits))"
            )
        }
    }

    /// The key type.
    public var type: SSHKeyType {
        switch self.backing {
        case .ed25519: .ed25519
        case .rsa: .rsa
        case .ecdsa(let key): .ecdsa(key.curve)
        case .skEd25519: .skEd25519
        case .skECDSA: .skECDSA
        case .dsa: .dsa
        case .certificate(let certificate): .certificate(certificate.key.type)
        }
    }

    /// The key size in bits as ssh-keygen reports it (256 for Ed25519, the modulus size for RSA, the curve
    /// size for ECDSA, the size of p for DSA; a certificate has the size of the key it certifies).
    public var bits: Int {
        switch self.backing {
        case .ed25519, .skEd25519: 256
        case .rsa(let key): key.bits
        case .ecdsa(let key): key.curve.bits
        case .skECDSA(let key, _): key.curve.bits
        case .dsa(let key): key.bits
        case .certificate(let certificate): certificate.key.bits
        }
    }

    /// A security key's FIDO application string (`ssh:` unless chosen at enrolment), or nil for
    /// other keys. For a certificate, that of the certified key.
    public var application: String? {
        switch self.backing {
        case .skEd25519(_, let application), .skECDSA(_, let application):
            String(decoding: application, as: UTF8.self)
        case .certificate(let certificate): certificate.key.application
        default: nil
        }
    }

    /// The certificate, when this key is one.
    public var certificate: SSHCertificate? {
        if case .certificate(let certificate) = self.backing { return certificate }
        return nil
    }

    /// The key itself: for a certificate, the key it certifies.
    public var plainKey: SSHPublicKey { self.certificate?.key ?? self }

    /// The key as an OpenSSH public key line, `type base64 [comment]`, without a newline.
    public func openSSHLine(comment: String? = nil) -> String {
        var line = self.type.sshName + " " + Base64.encode(self.wireBlob)
        if let comment, !comment.isEmpty { line += " " + comment }
        return line
    }

    /// The contents of a `.pub` file as ssh-keygen's `sshkey_save_public` writes it:
    /// the key, one space and the comment (the space stays when the comment is empty), and a newline.
    public func publicKeyFileContents(comment: String) -> String {
        self.type.sshName + " " + Base64.encode(self.wireBlob) + " " + comment + "\n"
    }

    /// The key's fingerprint with `hash` (SHA-256 by default, as ssh-keygen). A certificate has
    /// the fingerprint of the key it certifies, as in ssh-keygen -l.
    public func fingerprint(_ hash: HashFunction = .sha256) -> SSHFingerprint {
        SSHFingerprint(hash: hash, digest: Digest.hash(hash, self.plainKey.wireBlob))
    }

    public var description: String { self.openSSHLine() }

    public static func == (lhs: SSHPublicKey, rhs: SSHPublicKey) -> Bool { lhs.wireBlob == rhs.wireBlob }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.wireBlob) }
}

/// Text for messages: printable ASCII kept, anything else escaped, length capped.
package func printable(_ bytes: some Collection<UInt8>) -> String {
    var s = ""
    for b in bytes.prefix(64) {
        if b >= 0x20 && b < 0x7F { s.unicodeScalars.append(Unicode.Scalar(b)) } else { s += "\\x" + hex2(b) }
    }
    if bytes.count > 64 { s += "…" }
    return s
}

package func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
}
