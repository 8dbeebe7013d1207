/// An OpenSSH certificate (PROTOCOL.certkeys): a key, its principals and validity, and a
/// certificate authority's signature over all of it.
///
/// keysmith reads certificates of every key type OpenSSH certifies. A certificate whose
/// CA signature does not verify, whose CA key is itself a certificate, or whose sections
/// are malformed is refused when it is read, as OpenSSH's `cert_parse` refuses it.
public struct SSHCertificate: Sendable {
    /// Whether a certificate identifies a user or a host.
    public enum Kind: UInt32, Sendable {
        case user = 1
        case host = 2
    }

    /// A critical option or extension: a name and its data (an encoded string for the
    /// options that take a value, empty for flags).
    public struct Field: Sendable, Hashable {
        public var name: String
        public var data: [UInt8]
    }

    /// The certificate's whole wire encoding, as it appears base64-encoded in key lines.
    public let blob: [UInt8]
    /// The CA-chosen random nonce.
    public let nonce: [UInt8]
    /// The certified key (never itself a certificate).
    public let key: SSHPublicKey
    public let serial: UInt64
    public let kind: Kind
    public let keyID: String
    /// The principals the certificate is valid for; empty means any.
    public let principals: [String]
    /// Seconds since the epoch; the certificate is valid from `validAfter` up to (not including) `validBefore`.
    public let validAfter: UInt64
    public let validBefore: UInt64
    public let criticalOptions: [Field]
    public let extensions: [Field]
    /// The CA's key.
    public let signatureKey: SSHPublicKey
    /// The CA's signature over `signedData`.
    public let signature: SSHSignature
    /// The bytes the CA signed: the blob up to the signature.
    public var signedData: ArraySlice<UInt8> { self.blob[0..<self.signedCount] }
    private let signedCount: Int

    /// OpenSSH's limit on the number of principals (SSHKEY_CERT_MAX_PRINCIPALS).
    package static let maximumPrincipals = 256

    /// Reads the certificate fields after the certified key's fields. `blob[start...]` is the
    /// whole certificate (from its type name); the reader stops after the signature.
    package static func read(
        type: SSHKeyType,
        nonce: [UInt8],
        key: SSHPublicKey,
        from r: inout SSHWireReader,
        blob: ArraySlice<UInt8>,
        start: Int
    ) throws(SSHKeyError) -> SSHCertificate {
        let serial = try readUInt64(&r)
        let kindValue = try r.readUInt32()
        let keyID = try readCString(&r, "key ID")
        let principalsSection = try r.readString()
        let validAfter = try readUInt64(&r)
        let validBefore = try readUInt64(&r)
        let critical = try r.readString()
        let extensions = try r.readString()
        _ = try r.readString()  // reserved
        let caBlob = try r.readString()
        let signedEnd = r.bytes.startIndex
        let signatureBlob = try r.readString()
        let blobEnd = r.bytes.startIndex

        guard let kind = Kind(rawValue: kindValue) else {
            throw SSHKeyError(.invalidFormat, "the certificate's type \(kindValue) is neither user nor host")
        }
        var principals: [String] = []
        var p = SSHWireReader(principalsSection)
        while !p.isAtEnd {
            guard principals.count < maximumPrincipals else {
                throw SSHKeyError(.invalidFormat, "the certificate names more than \(maximumPrincipals) principals")
            }
            principals.append(try readCString(&p, "principal"))
        }
        let criticalOptions = try readFields(critical, "critical options")
        let extensionFields = try readFields(extensions, "extensions")

        var ca = SSHWireReader(caBlob)
        let caKey: SSHPublicKey
        do {
            caKey = try SSHPublicKey.read(from: &ca)
            try ca.expectEnd("the certificate authority's key")
        } catch {
            throw SSHKeyError(.invalidFormat, "the certificate authority's key is invalid: \(error.message)")
        }
        guard !caKey.type.isCertificate else {
            throw SSHKeyError(.invalidFormat, "the certificate is signed by a certificate, not a CA key")
        }
        let signature: SSHSignature
        do {
            signature = try SSHSignature(wireEncoding: signatureBlob)
        } catch {
            throw SSHKeyError(.invalidFormat, "the certificate's signature is malformed: \(error.message)")
        }
        let whole = Array(blob[start..<blobEnd])
        let signedCount = signedEnd - start
        guard caKey.isValidSignature(signature, for: whole[0..<signedCount]) else {
            throw SSHKeyError(.signatureInvalid, "the certificate's CA signature does not verify")
        }
        return SSHCertificate(
            blob: whole,
            nonce: nonce,
            key: key,
            serial: serial,
            kind: kind,
            keyID: keyID,
            principals: principals,
            validAfter: validAfter,
            validBefore: validBefore,
            criticalOptions: criticalOptions,
            extensions: extensionFields,
            signatureKey: caKey,
            signature: signature,
            signedCount: signedCount
        )
    }

    private static func readUInt64(_ r: inout SSHWireReader) throws(SSHKeyError) -> UInt64 {
        let high = UInt64(try r.readUInt32())
        let low = UInt64(try r.readUInt32())
        return high << 32 | low
    }

    /// A string that must not hold a NUL byte (sshbuf_get_cstring).
    private static func readCString(_ r: inout SSHWireReader, _ what: String) throws(SSHKeyError) -> String {
        let bytes = try r.readString()
        guard !bytes.contains(0) else {
            throw SSHKeyError(.invalidFormat, "the certificate's \(what) holds a NUL byte")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A section of name/data pairs (critical options, extensions).
    private static func readFields(_ section: ArraySlice<UInt8>, _ what: String) throws(SSHKeyError) -> [Field] {
        var r = SSHWireReader(section)
        var fields: [Field] = []
        while !r.isAtEnd {
            do {
                let name = try r.readString()
                let data = try r.readString()
                fields.append(Field(name: String(decoding: name, as: UTF8.self), data: Array(data)))
            } catch {
                throw SSHKeyError(.invalidFormat, "the certificate's \(what) are malformed")
            }
        }
        return fields
    }
}
