import SSHCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An SSHSIG signature: OpenSSH's detached file signature (PROTOCOL.sshsig), what
/// `ssh-keygen -Y sign` writes and `ssh-keygen -Y verify` checks.
///
/// The blob (PROTOCOL.sshsig §2):
///
///     byte[6]   "SSHSIG"
///     uint32    1 (the version)
///     string    publickey
///     string    namespace
///     string    reserved
///     string    hash_algorithm
///     string    signature
///
/// The signature is made over (§3) `byte[6] "SSHSIG", string namespace, string reserved,
/// string hash_algorithm, string H(message)`, so the message itself is only ever hashed:
/// sign or verify a large file by streaming it through ``SSHSIGMessageHash/init(algorithm:fileDescriptor:)``.
///
/// ```swift
/// let sig = try SSHSIGSignature.sign(message, with: key, namespace: "file")
/// try SSHSIGSignature(armored: sig.armored).verify(message, namespace: "file")
/// ```
public struct SSHSIGSignature: Sendable, Hashable {
    /// The message hashes PROTOCOL.sshsig allows.
    public enum HashAlgorithm: String, Sendable, Hashable, CaseIterable {
        case sha256
        case sha512

        /// ssh-keygen's default (sshsig.c HASHALG_DEFAULT).
        public static let `default` = HashAlgorithm.sha512

        var function: HashFunction { self == .sha256 ? .sha256 : .sha512 }
    }

    /// The key that made the signature (not yet trusted: check it against allowed signers).
    public let publicKey: SSHPublicKey
    /// The interpretation domain, e.g. `file` or `git`; never empty.
    public let namespace: String
    /// Reserved for future use; ignored, empty in what we write.
    public let reserved: [UInt8]
    /// The hash applied to the message.
    public let hashAlgorithm: HashAlgorithm
    /// The signature over the signed data.
    public let signature: SSHSignature

    static let magic = Array("SSHSIG".utf8)
    static let version: UInt32 = 1
    static let beginArmor = "-----BEGIN SSH SIGNATURE-----\n"
    static let endArmor = "-----END SSH SIGNATURE-----"

    /// A signature from its parts; ``verify(messageHash:namespace:)`` checks them.
    public init(
        publicKey: SSHPublicKey,
        namespace: String,
        reserved: [UInt8] = [],
        hashAlgorithm: HashAlgorithm,
        signature: SSHSignature
    ) {
        self.publicKey = publicKey
        self.namespace = namespace
        self.reserved = reserved
        self.hashAlgorithm = hashAlgorithm
        self.signature = signature
    }

    // MARK: Signing

    /// Signs `message` with `key` for `namespace`.
    ///
    /// RSA keys sign with rsa-sha2-512, as ssh-keygen does.
    /// - Throws: `.invalidParameter` for an empty namespace, `.cryptoFailure` if signing fails.
    public static func sign(
        _ message: some Collection<UInt8>,
        with key: SSHPrivateKey,
        namespace: String,
        hashAlgorithm: HashAlgorithm = .default
    ) throws(SSHKeyError) -> SSHSIGSignature {
        try sign(
            messageHash: SSHSIGMessageHash(algorithm: hashAlgorithm, message: message),
            with: key,
            namespace: namespace
        )
    }

    /// Signs a message already hashed (a file streamed through ``SSHSIGMessageHash``).
    /// - Throws: `.invalidParameter` for an empty namespace, `.cryptoFailure` if signing fails.
    public static func sign(
        messageHash: SSHSIGMessageHash,
        with key: SSHPrivateKey,
        namespace: String
    ) throws(SSHKeyError) -> SSHSIGSignature {
        // sshsig.c RSA_SIGN_ALG: RSA signs with rsa-sha2-512 whatever the message hash.
        try sign(messageHash: messageHash, signer: SSHKeySigner(key), namespace: namespace)
    }

    /// Signs a message already hashed with `signer` (a security key signs through its
    /// authenticator; its signature carries the flags and counter, PROTOCOL.u2f).
    /// - Throws: `.invalidParameter` for an empty namespace, what `signer` throws.
    public static func sign(
        messageHash: SSHSIGMessageHash,
        signer: SSHKeySigner,
        namespace: String
    ) throws(SSHKeyError) -> SSHSIGSignature {
        // PROTOCOL.sshsig §2: "The namespace value MUST NOT be the empty string."
        guard !namespace.isEmpty else { throw SSHKeyError(.invalidParameter, "the namespace must not be empty") }
        guard !namespace.utf8.contains(0) else {
            throw SSHKeyError(.invalidParameter, "the namespace must not contain NUL bytes")
        }
        let data = signedData(namespace: namespace, reserved: [], messageHash: messageHash)
        let sig = try signer.sign(data)
        return SSHSIGSignature(
            publicKey: signer.publicKey,
            namespace: namespace,
            hashAlgorithm: messageHash.algorithm,
            signature: sig
        )
    }

    /// PROTOCOL.sshsig §3: the bytes the signature covers.
    static func signedData(namespace: String, reserved: [UInt8], messageHash: SSHSIGMessageHash) -> [UInt8] {
        var w = SSHWireWriter()
        w.writeBytes(magic)
        w.writeString(namespace)
        w.writeString(reserved)
        w.writeString(messageHash.algorithm.rawValue)
        w.writeString(messageHash.digest)
        return w.bytes
    }

    // MARK: Verifying

    /// Checks that this signature was made by ``publicKey`` over `message` for `namespace`.
    ///
    /// This proves only possession of ``publicKey``; whether that key may sign is
    /// ``AllowedSigners``' question. For a security key it returns the flags and counter the
    /// authenticator signed; like ssh-keygen -Y verify it requires neither presence nor verification.
    /// - Throws: `.signatureInvalid` naming what is wrong (namespace, algorithm, signature).
    @discardableResult
    public func verify(
        _ message: some Collection<UInt8>,
        namespace: String
    ) throws(SSHKeyError)
        -> SSHSignatureVerification
    {
        try self.verify(
            messageHash: SSHSIGMessageHash(algorithm: self.hashAlgorithm, message: message),
            namespace: namespace
        )
    }

    /// Checks the signature against a message hashed with ``hashAlgorithm``.
    /// - Throws: `.signatureInvalid` naming what is wrong (namespace, algorithm, signature).
    @discardableResult
    public func verify(
        messageHash: SSHSIGMessageHash,
        namespace: String
    ) throws(SSHKeyError)
        -> SSHSignatureVerification
    {
        // sshsig.c sshsig_wrap_verify, in its order: namespace, hash algorithm, RSA signature type, signature.
        guard self.namespace == namespace else {
            throw SSHKeyError(
                .signatureInvalid,
                "the signature is for namespace \"\(printable(self.namespace.utf8))\", not \"\(printable(namespace.utf8))\""
            )
        }
        guard messageHash.algorithm == self.hashAlgorithm else {
            throw SSHKeyError(.signatureInvalid, "the message was hashed with the wrong algorithm")
        }
        // PROTOCOL.sshsig §2: RSA "must be rsa-sha2-512 or rsa-sha2-256 (i.e. not the legacy RSA-SHA1 ssh-rsa)".
        if self.publicKey.plainKey.type == .rsa && !["rsa-sha2-512", "rsa-sha2-256"].contains(self.signature.algorithm)
        {
            throw SSHKeyError(
                .signatureInvalid,
                "unsupported RSA signature algorithm \(printable(self.signature.algorithm.utf8))"
            )
        }
        let data = Self.signedData(namespace: namespace, reserved: self.reserved, messageHash: messageHash)
        guard let verification = self.publicKey.verify(self.signature, for: data) else {
            throw SSHKeyError(.signatureInvalid, "incorrect signature")
        }
        return verification
    }

    // MARK: Encoding

    /// The binary blob (PROTOCOL.sshsig §2).
    public var blob: [UInt8] {
        var w = SSHWireWriter()
        w.writeBytes(Self.magic)
        w.writeUInt32(Self.version)
        w.writeString(self.publicKey.wireBlob)
        w.writeString(self.namespace)
        w.writeString(self.reserved)
        w.writeString(self.hashAlgorithm.rawValue)
        w.writeString(self.signature.wireEncoding)
        return w.bytes
    }

    /// Decodes the binary blob (PROTOCOL.sshsig §2), as sshsig.c reads it.
    /// - Throws: `.invalidFormat` for a damaged blob, `.unsupported` for a newer version,
    ///   an unsupported hash algorithm, or a certificate as the signing key.
    public init(blob: some Collection<UInt8>) throws(SSHKeyError) {
        var r = SSHWireReader(Array(blob))
        guard (try? r.readBytes(Self.magic.count))?.elementsEqual(Self.magic) == true else {
            throw SSHKeyError(.invalidFormat, "not an SSH signature (the SSHSIG preamble is missing)")
        }
        let version = try r.readUInt32()
        // "Verifiers MUST reject signatures with versions greater than those they support."
        guard version <= Self.version else {
            throw SSHKeyError(
                .unsupported,
                "signature version \(version) is larger than the supported version \(Self.version)"
            )
        }
        // A certificate's CA signature is checked here; whether its CA is trusted is AllowedSigners' question.
        let keyBlob = try r.readString()
        self.publicKey = try SSHPublicKey(wireBlob: keyBlob)
        self.namespace = try Self.readCString(&r, "namespace")
        self.reserved = Array(try r.readString())
        let hashName = try Self.readCString(&r, "hash algorithm")
        guard let hash = HashAlgorithm(rawValue: hashName) else {
            throw SSHKeyError(.unsupported, "unsupported hash algorithm \"\(printable(hashName.utf8))\"")
        }
        self.hashAlgorithm = hash
        self.signature = try SSHSignature(wireEncoding: try r.readString())
        try r.expectEnd("the signature")
    }

    /// sshbuf_get_cstring: a string without NUL bytes.
    private static func readCString(_ r: inout SSHWireReader, _ what: String) throws(SSHKeyError) -> String {
        let raw = try r.readString()
        guard !raw.contains(0), let s = String(validating: raw, as: UTF8.self) else {
            throw SSHKeyError(.invalidFormat, "the signature's \(what) is not valid text")
        }
        return s
    }

    /// The armoured text ssh-keygen writes (sshsig.c `sshsig_armor`): the BEGIN line, the
    /// blob in base64 broken every 70 characters, the END line, each ending in a newline.
    public var armored: String {
        Self.beginArmor + Base64.encode(self.blob, lineWidth: 70) + Self.endArmor + "\n"
    }

    /// Reads an armoured signature as sshsig.c `sshsig_dearmor` does: the text must start
    /// with the BEGIN line; the base64 runs up to a newline followed by the END line;
    /// anything after the END line is ignored.
    /// - Throws: `.invalidFormat` for a missing header or footer or bad base64, or
    ///   what ``init(blob:)`` throws.
    public init(armored text: some Collection<UInt8>) throws(SSHKeyError) {
        let bytes = Array(text)
        let begin = Array(Self.beginArmor.utf8)
        guard bytes.starts(with: begin) else {
            throw SSHKeyError(.invalidFormat, "not an SSH signature (missing \"-----BEGIN SSH SIGNATURE-----\")")
        }
        let body = bytes[begin.count...]
        let footer = Array(("\n" + Self.endArmor).utf8)
        guard let end = Self.firstRange(of: footer, in: body) else {
            throw SSHKeyError(.invalidFormat, "the SSH signature has no \"-----END SSH SIGNATURE-----\" line")
        }
        guard let blob = Base64.decode(body[body.startIndex..<end]) else {
            throw SSHKeyError(.invalidFormat, "the SSH signature's base64 is damaged")
        }
        try self.init(blob: blob)
    }

    /// Reads an armoured signature from a String.
    public init(armored text: String) throws(SSHKeyError) { try self.init(armored: Array(text.utf8)) }

    private static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        while i + needle.count <= haystack.endIndex {
            if haystack[i] == needle[0] && haystack[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// A message hashed for SSHSIG: the algorithm and the digest.
public struct SSHSIGMessageHash: Sendable, Hashable {
    /// The hash algorithm.
    public let algorithm: SSHSIGSignature.HashAlgorithm
    /// The digest of the message.
    public let digest: [UInt8]

    /// Hashes a message held in memory.
    public init(algorithm: SSHSIGSignature.HashAlgorithm, message: some Collection<UInt8>) {
        self.algorithm = algorithm
        self.digest = Digest.hash(algorithm.function, message)
    }

    /// Hashes everything readable from `fd` (a file, a pipe, standard input), 64 KiB at a time,
    /// so a large file is never held in memory. The descriptor is left open.
    /// - Throws: `.fileError` naming `name` and the system's reason when a read fails.
    public init(
        algorithm: SSHSIGSignature.HashAlgorithm,
        fileDescriptor fd: Int32,
        name: String = "(stdin)"
    ) throws(SSHKeyError) {
        var context = DigestContext(algorithm.function)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SSHKeyError(.fileError, "\(name): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            context.update(buffer[0..<n])
        }
        self.algorithm = algorithm
        self.digest = context.finalize()
    }
}
