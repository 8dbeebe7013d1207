internal import COpenSSL
internal import CSodium

/// The symmetric ciphers that OpenSSH uses for private key files and the transport.
public enum CipherAlgorithm: Sendable, Hashable, CaseIterable {
    case aes128CTR, aes192CTR, aes256CTR
    case aes128CBC, aes192CBC, aes256CBC
    case aes128GCM, aes256GCM
    case chaCha20Poly1305
    case tripleDESCBC

    /// The name OpenSSH uses (`aes256-ctr`, `chacha20-poly1305@openssh.com`, …).
    public var sshName: String {
        switch self {
        case .aes128CTR: "aes128-ctr"
        case .aes192CTR: "aes192-ctr"
        case .aes256CTR: "aes256-ctr"
        case .aes128CBC: "aes128-cbc"
        case .aes192CBC: "aes192-cbc"
        case .aes256CBC: "aes256-cbc"
        case .aes128GCM: "aes128-gcm@openssh.com"
        case .aes256GCM: "aes256-gcm@openssh.com"
        case .chaCha20Poly1305: "chacha20-poly1305@openssh.com"
        case .tripleDESCBC: "3des-cbc"
        }
    }

    /// Looks a cipher up by its OpenSSH name.
    public init?(sshName: String) {
        guard let found = Self.allCases.first(where: { $0.sshName == sshName }) else { return nil }
        self = found
    }

    // Sizes as in the `ciphers[]` table of OpenSSH's cipher.c.

    /// Key length in bytes (64 for chacha20-poly1305@openssh.com: two keys).
    public var keySize: Int {
        switch self {
        case .aes128CTR, .aes128CBC, .aes128GCM: 16
        case .aes192CTR, .aes192CBC, .tripleDESCBC: 24
        case .aes256CTR, .aes256CBC, .aes256GCM: 32
        case .chaCha20Poly1305: 64
        }
    }

    /// IV length in bytes (0 for chacha20-poly1305, 12 for GCM).
    public var ivSize: Int {
        switch self {
        case .aes128CTR, .aes192CTR, .aes256CTR, .aes128CBC, .aes192CBC, .aes256CBC: 16
        case .aes128GCM, .aes256GCM: 12
        case .chaCha20Poly1305: 0
        case .tripleDESCBC: 8
        }
    }

    /// Block size in bytes, used for padding (8 for chacha and 3DES, 16 for AES).
    public var blockSize: Int {
        switch self {
        case .chaCha20Poly1305, .tripleDESCBC: 8
        default: 16
        }
    }

    /// Authentication tag length in bytes (16 for the AEAD ciphers, else 0).
    public var tagSize: Int {
        switch self {
        case .aes128GCM, .aes256GCM, .chaCha20Poly1305: 16
        default: 0
        }
    }

    /// Whether the cipher authenticates (and so has a tag).
    public var isAEAD: Bool { self.tagSize != 0 }

    /// OpenSSL's implementation, or nil for chacha20-poly1305 (done with libsodium).
    fileprivate var evpCipher: OpaquePointer? {
        switch self {
        case .aes128CTR: EVP_aes_128_ctr()
        case .aes192CTR: EVP_aes_192_ctr()
        case .aes256CTR: EVP_aes_256_ctr()
        case .aes128CBC: EVP_aes_128_cbc()
        case .aes192CBC: EVP_aes_192_cbc()
        case .aes256CBC: EVP_aes_256_cbc()
        case .aes128GCM: EVP_aes_128_gcm()
        case .aes256GCM: EVP_aes_256_gcm()
        case .tripleDESCBC: EVP_des_ede3_cbc()
        case .chaCha20Poly1305: nil
        }
    }
}

/// One-shot encryption as OpenSSH's key files use it (sequence number 0, no AAD).
package enum KeyFileCipher {
    /// Encrypts `plaintext` (a multiple of the block size); for AEAD ciphers the
    /// 16-byte tag is appended to the result.
    /// - Throws: `.invalidKey` / `.invalidParameter` for a key or IV of the wrong
    ///   length, `.malformedInput` when the plaintext is not a multiple of the block size.
    package static func encrypt(
        _ cipher: CipherAlgorithm,
        key: SecureBytes,
        iv: SecureBytes,
        plaintext: SecureBytes
    ) throws(CryptoError) -> [UInt8] {
        let context = try CipherContext(cipher, key: key, iv: iv, encrypting: true)
        // sshkey.c pads the private section to the block size before encrypting.
        guard plaintext.count % cipher.blockSize == 0 else {
            throw CryptoError(
                .malformedInput,
                "\(cipher.sshName) plaintext is not a multiple of \(cipher.blockSize) bytes"
            )
        }
        return try plaintext.withUnsafeBytes { (input) throws(CryptoError) in
            try bytesWritten(count: plaintext.count + cipher.tagSize) { (output) throws(CryptoError) in
                try context.crypt(sequenceNumber: 0, input: input, aadLength: 0, into: output)
            }
        }
    }

    /// Decrypts `ciphertext` (for AEAD ciphers followed by its tag, which is checked).
    /// - Throws: `.decryptionFailed` when the tag does not verify, `.malformedInput`
    ///   when the length is not a multiple of the block size (plus the tag).
    package static func decrypt(
        _ cipher: CipherAlgorithm,
        key: SecureBytes,
        iv: SecureBytes,
        ciphertext: some Collection<UInt8>
    ) throws(CryptoError) -> SecureBytes {
        let context = try CipherContext(cipher, key: key, iv: iv, encrypting: false)
        let bodyLength = ciphertext.count - cipher.tagSize
        // sshkey.c: "encrypted_len < blocksize || (encrypted_len % blocksize) != 0" is a format error.
        guard bodyLength >= 0, bodyLength % cipher.blockSize == 0 else {
            throw CryptoError(
                .malformedInput,
                "\(cipher.sshName) ciphertext length \(ciphertext.count) is not a multiple of \(cipher.blockSize) bytes plus a \(cipher.tagSize)-byte tag"
            )
        }
        let plaintext = SecureBytes(count: bodyLength)
        try withContiguousBytesForC(ciphertext) { (input) throws(CryptoError) in
            try plaintext.withUnsafeMutableBytes { (output) throws(CryptoError) in
                try context.crypt(sequenceNumber: 0, input: input, aadLength: 0, into: output)
            }
        }
        return plaintext
    }
}

/// A keyed cipher in one direction, as OpenSSH's `sshcipher_ctx`: it keeps the
/// CTR/CBC stream state and the GCM invocation counter from packet to packet.
///
/// `crypt` follows OpenSSH's `cipher_crypt(cc, seqnr, dest, src, len, aadlen, authlen)`:
/// the input is `aadLength` bytes of associated data, then the payload, then (when
/// decrypting with an AEAD cipher) the tag. The output is the associated data
/// (encrypted only by chacha20-poly1305's header key), the transformed payload, and
/// (when encrypting with an AEAD cipher) the tag.
///
/// Not `Sendable`: the state changes with every call.
package final class CipherContext {
    /// Owns one `EVP_CIPHER_CTX`; `EVP_CIPHER_CTX_free` wipes the key schedule.
    private final class EVPContext {
        let pointer: OpaquePointer
        init() throws(CryptoError) {
            guard let ctx = EVP_CIPHER_CTX_new() else {
                throw openSSLError(.libraryFailure, "EVP_CIPHER_CTX_new failed")
            }
            self.pointer = ctx
        }
        deinit { EVP_CIPHER_CTX_free(self.pointer) }
    }

    private enum Engine {
        case evp(EVPContext)
        /// cipher-chachapoly.c: the first 32 bytes key the payload (and Poly1305),
        /// the second 32 bytes key the packet length.
        case chaChaPoly(mainKey: SecureBytes, headerKey: SecureBytes)
    }

    /// A static's initialiser runs once, thread-safely.
    private static let sodiumIsReady: Bool = sodium_init() >= 0

    /// The algorithm.
    package let cipher: CipherAlgorithm
    /// Whether this context encrypts (else it decrypts).
    package let isEncrypting: Bool
    private let engine: Engine

    /// Keys a context.
    /// - Throws: `.invalidKey` when `key` is not `cipher.keySize` bytes, `.invalidParameter`
    ///   when `iv` is not `cipher.ivSize` bytes.
    package init(_ cipher: CipherAlgorithm, key: SecureBytes, iv: SecureBytes, encrypting: Bool) throws(CryptoError) {
        guard key.count == cipher.keySize else {
            throw CryptoError(.invalidKey, "\(cipher.sshName) needs a \(cipher.keySize)-byte key, got \(key.count)")
        }
        guard iv.count == cipher.ivSize else {
            throw CryptoError(.invalidParameter, "\(cipher.sshName) needs a \(cipher.ivSize)-byte IV, got \(iv.count)")
        }
        self.cipher = cipher
        self.isEncrypting = encrypting
        guard let evpCipher = cipher.evpCipher else {
            // sodium_init picks the fastest ChaCha20 and Poly1305 implementations.
            precondition(Self.sodiumIsReady, "libsodium failed to initialise")
            self.engine = .chaChaPoly(mainKey: key.slice(0..<32), headerKey: key.slice(32..<64))
            return
        }
        let ctx = try EVPContext()
        let enc: Int32 = encrypting ? 1 : 0
        if cipher.isAEAD {
            // cipher.c: the whole 12-byte IV is the "fixed" part (length -1), and each
            // packet's EVP_CTRL_GCM_IV_GEN uses the current IV, then increments its
            // low 64 bits (RFC 5647 §7.1's invocation counter).
            guard EVP_CipherInit_ex(ctx.pointer, evpCipher, nil, nil, nil, enc) == 1 else {
                throw openSSLError(.libraryFailure, "EVP_CipherInit_ex(\(cipher.sshName)) failed")
            }
            let fixed = iv.withUnsafeBytes { raw in
                EVP_CIPHER_CTX_ctrl(
                    ctx.pointer,
                    EVP_CTRL_GCM_SET_IV_FIXED,
                    -1,
                    UnsafeMutableRawPointer(mutating: raw.baseAddress)
                )
            }
            guard fixed == 1 else { throw openSSLError(.libraryFailure, "EVP_CTRL_GCM_SET_IV_FIXED failed") }
            let keyed = key.withUnsafeBytes { raw in
                EVP_CipherInit_ex(ctx.pointer, nil, nil, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, -1)
            }
            guard keyed == 1 else {
                throw openSSLError(.libraryFailure, "EVP_CipherInit_ex(\(cipher.sshName) key) failed")
            }
        } else {
            let keyed = key.withUnsafeBytes { k in
                iv.withUnsafeBytes { v in
                    EVP_CipherInit_ex(
                        ctx.pointer,
                        evpCipher,
                        nil,
                        k.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        v.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        enc
                    )
                }
            }
            guard keyed == 1 else { throw openSSLError(.libraryFailure, "EVP_CipherInit_ex(\(cipher.sshName)) failed") }
            // SSH pads packets and key files itself.
            guard EVP_CIPHER_CTX_set_padding(ctx.pointer, 0) == 1 else {
                throw openSSLError(.libraryFailure, "EVP_CIPHER_CTX_set_padding failed")
            }
        }
        self.engine = .evp(ctx)
    }

    /// Transforms one packet (see the type's summary for the layout).
    /// - Throws: `.decryptionFailed` when an AEAD tag does not verify, `.malformedInput`
    ///   for lengths that do not fit the cipher.
    package func crypt(
        sequenceNumber: UInt32,
        _ input: some Collection<UInt8>,
        aadLength: Int
    ) throws(CryptoError) -> [UInt8] {
        let tag = self.cipher.tagSize
        let outputCount = self.isEncrypting ? input.count + tag : input.count - tag
        guard outputCount >= 0 else {
            throw CryptoError(.malformedInput, "\(self.cipher.sshName) input is shorter than its tag")
        }
        return try withContiguousBytesForC(input) { (raw) throws(CryptoError) in
            try bytesWritten(count: outputCount) { (output) throws(CryptoError) in
                try self.crypt(sequenceNumber: sequenceNumber, input: raw, aadLength: aadLength, into: output)
            }
        }
    }

    /// The packet length from the first four bytes of an encrypted packet, as OpenSSH's
    /// `cipher_get_length`: chacha20-poly1305 encrypts it with the header key; the other
    /// ciphers leave it to the caller (it is plain text only in EtM and AEAD modes).
    package func decryptLength(sequenceNumber: UInt32, _ header: some Collection<UInt8>) throws(CryptoError) -> UInt32 {
        guard header.count >= 4 else { throw CryptoError(.malformedInput, "packet header is shorter than 4 bytes") }
        var bytes = Array(header.prefix(4))
        if case .chaChaPoly(_, let headerKey) = self.engine {
            let nonce = Self.nonce(sequenceNumber)
            let rc = headerKey.withUnsafeBytes { k in
                bytes.withUnsafeMutableBufferPointer { b in
                    crypto_stream_chacha20_xor_ic(
                        b.baseAddress!,
                        b.baseAddress!,
                        4,
                        nonce,
                        0,
                        k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
            }
            guard rc == 0 else { throw CryptoError(.libraryFailure, "crypto_stream_chacha20_xor_ic failed") }
        }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The core of `crypt`, writing into `output` (exactly as long as the result).
    func crypt(
        sequenceNumber: UInt32,
        input: UnsafeRawBufferPointer,
        aadLength: Int,
        into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) {
        let tag = self.cipher.tagSize
        let payload = input.count - aadLength - (self.isEncrypting ? 0 : tag)
        guard aadLength >= 0, payload >= 0, output.count == aadLength + payload + (self.isEncrypting ? tag : 0) else {
            throw CryptoError(
                .malformedInput,
                "\(self.cipher.sshName) input of \(input.count) bytes does not fit \(aadLength) bytes of AAD and a \(tag)-byte tag"
            )
        }
        if input.isEmpty && output.isEmpty { return }
        // An empty side may have no address; nothing is read or written through the stand-in.
        let inBase = input.baseAddress ?? nonNullEmptyInput
        let outBase = output.baseAddress ?? UnsafeMutableRawPointer(mutating: nonNullEmptyInput)
        switch self.engine {
        case .chaChaPoly(let mainKey, let headerKey):
            try Self.chaChaPoly(
                mainKey: mainKey,
                headerKey: headerKey,
                sequenceNumber: sequenceNumber,
                encrypting: self.isEncrypting,
                input: inBase.assumingMemoryBound(to: UInt8.self),
                output: outBase.assumingMemoryBound(to: UInt8.self),
                aadLength: aadLength,
                payloadLength: payload
            )
        case .evp(let ctx):
            // cipher.c rejects payloads that are not whole blocks (GCM included).
            guard payload % self.cipher.blockSize == 0 else {
                throw CryptoError(
                    .malformedInput,
                    "\(self.cipher.sshName) payload of \(payload) bytes is not a multiple of \(self.cipher.blockSize)"
                )
            }
            try self.evpCrypt(
                ctx.pointer,
                input: inBase.assumingMemoryBound(to: UInt8.self),
                output: outBase.assumingMemoryBound(to: UInt8.self),
                aadLength: aadLength,
                payloadLength: payload
            )
        }
    }

    private func evpCrypt(
        _ ctx: OpaquePointer,
        input: UnsafePointer<UInt8>,
        output: UnsafeMutablePointer<UInt8>,
        aadLength: Int,
        payloadLength: Int
    ) throws(CryptoError) {
        guard let aadCount = Int32(exactly: aadLength), let payloadCount = Int32(exactly: payloadLength) else {
            throw CryptoError(.invalidParameter, "packet too large")
        }
        let tag = self.cipher.tagSize
        if tag > 0 {
            var lastIV: UInt8 = 0
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_IV_GEN, 1, &lastIV) == 1 else {
                throw openSSLError(.libraryFailure, "EVP_CTRL_GCM_IV_GEN failed")
            }
            if !self.isEncrypting {
                let tagPointer = UnsafeMutableRawPointer(mutating: input + aadLength + payloadLength)
                guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tag), tagPointer) == 1 else {
                    throw openSSLError(.libraryFailure, "EVP_CTRL_GCM_SET_TAG failed")
                }
            }
        }
        if aadLength > 0 {
            if tag > 0 {
                var ignored: Int32 = 0
                guard EVP_CipherUpdate(ctx, nil, &ignored, input, aadCount) == 1 else {
                    throw openSSLError(.libraryFailure, "EVP_CipherUpdate (AAD) failed")
                }
            }
            output.update(from: input, count: aadLength)
        }
        var written: Int32 = 0
        if payloadLength > 0 {
            guard EVP_CipherUpdate(ctx, output + aadLength, &written, input + aadLength, payloadCount) == 1,
                written == payloadCount
            else {
                throw openSSLError(.libraryFailure, "EVP_CipherUpdate(\(self.cipher.sshName)) failed")
            }
        }
        guard tag > 0 else { return }
        var finalWritten: Int32 = 0
        guard EVP_CipherFinal_ex(ctx, output + aadLength + payloadLength, &finalWritten) == 1, finalWritten == 0 else {
            if self.isEncrypting {
                throw openSSLError(.libraryFailure, "EVP_CipherFinal_ex(\(self.cipher.sshName)) failed")
            }
            // Wipe what was decrypted: it is not authentic.
            sodium_memzero(output, aadLength + payloadLength)
            throw openSSLError(.decryptionFailed, "\(self.cipher.sshName) authentication tag does not match")
        }
        if self.isEncrypting {
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tag), output + aadLength + payloadLength) == 1
            else {
                throw openSSLError(.libraryFailure, "EVP_CTRL_GCM_GET_TAG failed")
            }
        }
    }

    /// The 8-byte ChaCha20 nonce: the sequence number as a 64-bit big-endian integer.
    private static func nonce(_ sequenceNumber: UInt32) -> [UInt8] {
        [
            0, 0, 0, 0, UInt8(truncatingIfNeeded: sequenceNumber >> 24),
            UInt8(truncatingIfNeeded: sequenceNumber >> 16), UInt8(truncatingIfNeeded: sequenceNumber >> 8),
            UInt8(truncatingIfNeeded: sequenceNumber),
        ]
    }

    /// chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305, cipher-chachapoly.c), with
    /// the original ChaCha20 (64-bit nonce, 64-bit block counter):
    /// - the Poly1305 key is the first 32 bytes of the main key's keystream block 0;
    /// - the AAD (packet length) is encrypted with the header key from block 0;
    /// - the payload is encrypted with the main key from block 1;
    /// - the tag is Poly1305 over the encrypted AAD and payload, checked before decrypting.
    private static func chaChaPoly(
        mainKey: SecureBytes,
        headerKey: SecureBytes,
        sequenceNumber: UInt32,
        encrypting: Bool,
        input: UnsafePointer<UInt8>,
        output: UnsafeMutablePointer<UInt8>,
        aadLength: Int,
        payloadLength: Int
    ) throws(CryptoError) {
        let nonce = Self.nonce(sequenceNumber)
        let polyKey = SecureBytes(count: Int(crypto_onetimeauth_poly1305_KEYBYTES))
        let authenticated = aadLength + payloadLength
        try mainKey.withUnsafeBytes { (mainRaw) throws(CryptoError) in
            let main = mainRaw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            try polyKey.withUnsafeMutableBytes { (polyRaw) throws(CryptoError) in
                let poly = polyRaw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                guard crypto_stream_chacha20(poly, UInt64(polyRaw.count), nonce, main) == 0 else {
                    throw CryptoError(.libraryFailure, "crypto_stream_chacha20 failed")
                }
                if !encrypting {
                    guard
                        crypto_onetimeauth_poly1305_verify(input + authenticated, input, UInt64(authenticated), poly)
                            == 0
                    else {
                        throw CryptoError(
                            .decryptionFailed,
                            "\(CipherAlgorithm.chaCha20Poly1305.sshName) authentication tag does not match"
                        )
                    }
                }
                if aadLength > 0 {
                    let rc = headerKey.withUnsafeBytes { h in
                        crypto_stream_chacha20_xor_ic(
                            output,
                            input,
                            UInt64(aadLength),
                            nonce,
                            0,
                            h.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        )
                    }
                    guard rc == 0 else { throw CryptoError(.libraryFailure, "crypto_stream_chacha20_xor_ic failed") }
                }
                if payloadLength > 0 {
                    guard
                        crypto_stream_chacha20_xor_ic(
                            output + aadLength,
                            input + aadLength,
                            UInt64(payloadLength),
                            nonce,
                            1,
                            main
                        ) == 0
                    else {
                        throw CryptoError(.libraryFailure, "crypto_stream_chacha20_xor_ic failed")
                    }
                }
                if encrypting {
                    guard crypto_onetimeauth_poly1305(output + authenticated, output, UInt64(authenticated), poly) == 0
                    else {
                        throw CryptoError(.libraryFailure, "crypto_onetimeauth_poly1305 failed")
                    }
                }
            }
        }
    }
}

/// A new array of `count` bytes filled in by `body`; `Array`'s own accessors are
/// `rethrows` and would erase the typed error.
private func bytesWritten(
    count: Int,
    _ body: (UnsafeMutableRawBufferPointer) throws(CryptoError) -> Void
) throws(CryptoError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var failure: CryptoError? = nil
    out.withUnsafeMutableBytes { raw in
        do throws(CryptoError) { try body(raw) } catch { failure = error }
    }
    if let failure { throw failure }
    return out
}
