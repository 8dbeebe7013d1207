/// Hash functions used by SSH formats and the protocol.
public enum HashFunction: Sendable, Hashable {
    case md5, sha1, sha256, sha384, sha512

    /// The digest length in bytes.
    public var digestSize: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}

/// One-shot and incremental hashing.
package enum Digest {
    /// The digest of `data`.
    package static func hash(_ function: HashFunction, _ data: some Collection<UInt8>) -> [UInt8] {
        fatalError("unimplemented")
    }
}
