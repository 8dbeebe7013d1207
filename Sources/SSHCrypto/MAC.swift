internal import COpenSSL

/// The transport MACs (RFC 4253 §6.4, RFC 6668, OpenSSH's -etm@openssh.com forms).
public enum MACAlgorithm: Sendable, Hashable, CaseIterable {
    case hmacSHA2_256, hmacSHA2_512, hmacSHA2_256_ETM, hmacSHA2_512_ETM

    /// `hmac-sha2-256`, `hmac-sha2-512-etm@openssh.com`, …
    public var sshName: String {
        switch self {
        case .hmacSHA2_256: "hmac-sha2-256"
        case .hmacSHA2_512: "hmac-sha2-512"
        case .hmacSHA2_256_ETM: "hmac-sha2-256-etm@openssh.com"
        case .hmacSHA2_512_ETM: "hmac-sha2-512-etm@openssh.com"
        }
    }

    public init?(sshName: String) {
        guard let match = Self.allCases.first(where: { $0.sshName == sshName }) else { return nil }
        self = match
    }

    /// Key length in bytes (32 / 64).
    public var keySize: Int { self.hash.digestSize }

    /// MAC length in bytes (32 / 64).
    public var macSize: Int { self.hash.digestSize }

    /// Whether the MAC covers the encrypted packet (EtM: the length is sent in the clear).
    public var isEncryptThenMAC: Bool {
        switch self {
        case .hmacSHA2_256, .hmacSHA2_512: false
        case .hmacSHA2_256_ETM, .hmacSHA2_512_ETM: true
        }
    }

    /// The HMAC's hash function (RFC 6668 §2: the key and the MAC are the digest's length).
    var hash: HashFunction {
        switch self {
        case .hmacSHA2_256, .hmacSHA2_256_ETM: .sha256
        case .hmacSHA2_512, .hmacSHA2_512_ETM: .sha512
        }
    }
}

/// A keyed transport MAC in one direction.
///
/// One OpenSSL `EVP_MAC_CTX` holds the keyed HMAC state and is re-initialised for each
/// packet, so the key schedule runs once per key rather than once per packet. The
/// context is mutated by every call: use one `MACContext` from one task at a time.
package final class MACContext {
    private let context: OpaquePointer
    package let algorithm: MACAlgorithm

    /// - Throws: `.invalidKey` when `key` is not `algorithm.keySize` bytes.
    package init(_ algorithm: MACAlgorithm, key: SecureBytes) throws(CryptoError) {
        guard key.count == algorithm.keySize else {
            throw CryptoError(
                .invalidKey,
                "\(algorithm.sshName) takes a \(algorithm.keySize)-byte key, not \(key.count)"
            )
        }
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            throw openSSLError(.libraryFailure, "EVP_MAC_fetch(HMAC) failed")
        }
        // The context keeps its own reference to the fetched MAC.
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw openSSLError(.libraryFailure, "EVP_MAC_CTX_new failed") }
        let builder: ParamBuilder
        let params: UnsafeMutablePointer<OSSL_PARAM>
        do {
            builder = try ParamBuilder()
            try builder.push("digest", utf8: algorithm.hash == .sha256 ? "SHA2-256" : "SHA2-512")
            params = try builder.toParams()
        } catch {
            EVP_MAC_CTX_free(context)
            throw error
        }
        defer { OSSL_PARAM_free(params) }
        let ok = key.withUnsafeBytes { k in
            EVP_MAC_init(context, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count, params)
        }
        guard ok == 1 else {
            EVP_MAC_CTX_free(context)
            throw openSSLError(.libraryFailure, "EVP_MAC_init(\(algorithm.sshName)) failed")
        }
        self.context = context
        self.algorithm = algorithm
    }

    deinit {
        // EVP_MAC_CTX_free cleanses the HMAC state, which is derived from the key.
        EVP_MAC_CTX_free(self.context)
    }

    /// MAC(key, uint32 sequence_number || packet) (RFC 4253 §6.4).
    ///
    /// `packet` is the unencrypted packet without the MAC, or for EtM the packet
    /// length followed by the ciphertext (OpenSSH's PROTOCOL §1.5).
    package func authenticate(sequenceNumber: UInt32, _ packet: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: self.algorithm.macSize)
        self.compute(sequenceNumber: sequenceNumber, packet, into: &out)
        return out
    }

    /// Whether `mac` is right for `packet`, compared in constant time.
    package func verify(sequenceNumber: UInt32, _ packet: some Collection<UInt8>, mac: some Collection<UInt8>) -> Bool {
        var expected = [UInt8](repeating: 0, count: self.algorithm.macSize)
        self.compute(sequenceNumber: sequenceNumber, packet, into: &expected)
        return withContiguousBytesForC(mac) { given in
            guard given.count == expected.count else { return false }
            return expected.withUnsafeBytes { CRYPTO_memcmp($0.baseAddress, given.baseAddress, given.count) == 0 }
        }
    }

    /// Like `Digest` and `HMAC`, this traps only if OpenSSL itself is unusable: the
    /// context was keyed in `init`, and re-initialising it cannot fail otherwise.
    private func compute(sequenceNumber: UInt32, _ packet: some Collection<UInt8>, into out: inout [UInt8]) {
        // A null key re-initialises the HMAC with the key it already holds.
        guard EVP_MAC_init(self.context, nil, 0, nil) == 1 else {
            fatalError("\(openSSLError(.libraryFailure, "EVP_MAC_init failed"))")
        }
        let sequence: [UInt8] = [
            UInt8(truncatingIfNeeded: sequenceNumber >> 24), UInt8(truncatingIfNeeded: sequenceNumber >> 16),
            UInt8(truncatingIfNeeded: sequenceNumber >> 8), UInt8(truncatingIfNeeded: sequenceNumber),
        ]
        let updated = sequence.withUnsafeBufferPointer { s in
            EVP_MAC_update(self.context, s.baseAddress, s.count) == 1
                && withContiguousBytesForC(packet) { p in
                    EVP_MAC_update(self.context, p.baseAddress!.assumingMemoryBound(to: UInt8.self), p.count) == 1
                }
        }
        guard updated else { fatalError("\(openSSLError(.libraryFailure, "EVP_MAC_update failed"))") }
        var length = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_MAC_final(self.context, $0.baseAddress, &length, $0.count) }
        guard ok == 1, length == out.count else {
            fatalError("\(openSSLError(.libraryFailure, "EVP_MAC_final failed"))")
        }
    }
}
