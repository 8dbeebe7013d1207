/// HMAC (RFC 2104) over a `HashFunction`.
package enum HMAC {
    /// The HMAC of `data` under `key`.
    package static func authenticate(_ function: HashFunction, key: some Collection<UInt8>, data: some Collection<UInt8>) -> [UInt8] {
        fatalError("unimplemented")
    }
}
