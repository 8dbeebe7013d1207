/// The transport MACs (RFC 4253 §6.4, RFC 6668, OpenSSH's -etm@openssh.com forms).
public enum MACAlgorithm: Sendable, Hashable, CaseIterable {
    case hmacSHA2_256, hmacSHA2_512, hmacSHA2_256_ETM, hmacSHA2_512_ETM

    /// `hmac-sha2-256`, `hmac-sha2-512-etm@openssh.com`, …
    public var sshName: String { fatalError("unimplemented") }
    public init?(sshName: String) { fatalError("unimplemented") }
    /// Key length in bytes (32 / 64).
    public var keySize: Int { fatalError("unimplemented") }
    /// MAC length in bytes (32 / 64).
    public var macSize: Int { fatalError("unimplemented") }
    /// Whether the MAC covers the encrypted packet (EtM: the length is sent in the clear).
    public var isEncryptThenMAC: Bool { fatalError("unimplemented") }
}

/// A keyed transport MAC in one direction.
package final class MACContext {
    package init(_ algorithm: MACAlgorithm, key: SecureBytes) throws(CryptoError) { fatalError("unimplemented") }
    package var algorithm: MACAlgorithm { fatalError("unimplemented") }
    /// MAC(key, uint32 sequence_number || packet) (RFC 4253 §6.4).
    package func authenticate(sequenceNumber: UInt32, _ packet: some Collection<UInt8>) -> [UInt8] {
        fatalError("unimplemented")
    }
    /// Whether `mac` is right for `packet`, compared in constant time.
    package func verify(sequenceNumber: UInt32, _ packet: some Collection<UInt8>, mac: some Collection<UInt8>) -> Bool {
        fatalError("unimplemented")
    }
}
