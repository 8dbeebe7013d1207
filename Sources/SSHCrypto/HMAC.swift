internal import COpenSSL

/// HMAC (RFC 2104) over a `HashFunction`.
package enum HMAC {
    /// The HMAC of `data` under `key`.
    ///
    /// Like `Digest.hash`, this traps only if OpenSSL itself is unusable.
    package static func authenticate(
        _ function: HashFunction,
        key: some Collection<UInt8>,
        data: some Collection<UInt8>
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: function.digestSize)
        var length: UInt32 = 0
        let result = withContiguousBytesForC(key) { k in
            withContiguousBytesForC(data) { d in
                out.withUnsafeMutableBufferPointer { o in
                    COpenSSL.HMAC(
                        function.openSSLMessageDigest,
                        k.baseAddress,
                        Int32(k.count),
                        d.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        d.count,
                        o.baseAddress,
                        &length
                    )
                }
            }
        }
        guard result != nil, Int(length) == function.digestSize else {
            fatalError("\(openSSLError(.libraryFailure, "HMAC(\(function)) failed"))")
        }
        return out
    }

    /// The HMAC of `data` under a secret key.
    package static func authenticate(
        _ function: HashFunction,
        key: SecureBytes,
        data: some Collection<UInt8>
    ) -> [UInt8] {
        key.withUnsafeBytes { k in Self.authenticate(function, key: k, data: data) }
    }
}
