/// A legacy DSA public key (`ssh-dss`): its four numbers, kept to list, fingerprint and
/// remove the key. keysmith never generates DSA keys or verifies DSA signatures.
public struct DSAPublicKey: Sendable, Hashable {
    /// The magnitudes of p, q, g and y, without leading zeros.
    public let p: [UInt8]
    public let q: [UInt8]
    public let g: [UInt8]
    public let y: [UInt8]

    /// Reads mpint p, q, g, y (RFC 4253 §6.6), as OpenSSH's ssh_dss_deserialize_public.
    package init(from r: inout SSHWireReader) throws(SSHKeyError) {
        self.p = Array(try r.readPositiveMPInt())
        self.q = Array(try r.readPositiveMPInt())
        self.g = Array(try r.readPositiveMPInt())
        self.y = Array(try r.readPositiveMPInt())
        // sshbuf_get_bignum2 refuses numbers over SSHBUF_MAX_BIGNUM bytes.
        for n in [self.p, self.q, self.g, self.y] where n.count > 2048 {
            throw SSHKeyError(.invalidFormat, "a DSA key number is larger than 16384 bits")
        }
    }

    package func writeFields(to w: inout SSHWireWriter) {
        w.writeMPInt(self.p)
        w.writeMPInt(self.q)
        w.writeMPInt(self.g)
        w.writeMPInt(self.y)
    }

    /// The size of p in bits, as ssh-keygen reports a DSA key's size.
    public var bits: Int {
        guard let first = self.p.first else { return 0 }
        return (self.p.count - 1) * 8 + (8 - first.leadingZeroBitCount)
    }
}
