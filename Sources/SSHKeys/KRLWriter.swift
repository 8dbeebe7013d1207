#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension KeyRevocationList {
    // MARK: Revoking

    /// Revokes the certificates with serials `serials` issued by `authority` (nil: by any
    /// CA), as krl.c `ssh_krl_revoke_cert_by_serial_range`.
    /// - Throws: `.invalidParameter` for a range that includes serial 0.
    public mutating func revokeCertificates(
        serials: ClosedRange<UInt64>,
        by authority: SSHPublicKey?
    )
        throws(SSHKeyError)
    {
        guard serials.lowerBound != 0 else {
            throw SSHKeyError(.invalidParameter, "certificate serial 0 cannot be revoked")
        }
        let index = self.authorityIndex(authority)
        self.authorities[index].serials.insert(lo: serials.lowerBound, hi: serials.upperBound)
    }

    /// Revokes the certificates with key ID `keyID` issued by `authority` (nil: by any CA).
    /// - Throws: `.invalidParameter` when the key ID holds a NUL byte.
    public mutating func revokeCertificates(
        keyID: some Collection<UInt8>,
        by authority: SSHPublicKey?
    )
        throws(SSHKeyError)
    {
        guard !keyID.contains(0) else { throw SSHKeyError(.invalidParameter, "a key ID cannot hold a NUL byte") }
        let index = self.authorityIndex(authority)
        self.authorities[index].keyIDs.insert(Array(keyID))
    }

    /// Revokes `key` by its plain key's blob (a certificate's key is revoked, and with it
    /// every certificate of that key), as `ssh_krl_revoke_key_explicit`.
    public mutating func revokeExplicitly(_ key: SSHPublicKey) {
        self.explicitKeys.insert(key.plainKey.wireBlob)
    }

    /// Revokes the plain key whose blob has the SHA-1 hash `digest`.
    /// - Throws: `.invalidParameter` unless the digest is 20 bytes.
    public mutating func revokeSHA1(_ digest: some Collection<UInt8>) throws(SSHKeyError) {
        guard digest.count == 20 else { throw SSHKeyError(.invalidParameter, "a SHA-1 hash must be 20 bytes") }
        self.sha1Digests.insert(Array(digest))
    }

    /// Revokes the plain key whose blob has the SHA-256 hash `digest`.
    /// - Throws: `.invalidParameter` unless the digest is 32 bytes.
    public mutating func revokeSHA256(_ digest: some Collection<UInt8>) throws(SSHKeyError) {
        guard digest.count == 32 else { throw SSHKeyError(.invalidParameter, "a SHA-256 hash must be 32 bytes") }
        self.sha256Digests.insert(Array(digest))
    }

    /// Revokes `key` as `ssh_krl_revoke_key`: a plain key explicitly; a certificate by its
    /// serial under its CA, or by its key ID when its serial is 0.
    public mutating func revoke(_ key: SSHPublicKey) throws(SSHKeyError) {
        guard let certificate = key.certificate else {
            self.revokeExplicitly(key)
            return
        }
        if certificate.serial == 0 {
            try self.revokeCertificates(keyID: Self.keyIDBytes(of: certificate), by: certificate.signatureKey)
        } else {
            try self.revokeCertificates(
                serials: certificate.serial...certificate.serial,
                by: certificate.signatureKey
            )
        }
    }

    // MARK: Writing

    /// The KRL's bytes, as krl.c `ssh_krl_to_blob` writes them: the same bytes ssh-keygen
    /// writes for the same revocations. A ``generatedDate`` of 0 becomes the current time
    /// (as krl.c does); set it first to write a chosen date.
    ///
    /// - Throws: `.invalidParameter` when a serial bitmap would exceed 16384 bits, which
    ///   ssh-keygen writes but no OpenSSH (nor keysmith) can read back.
    public func serialized() throws(SSHKeyError) -> [UInt8] {
        var w = SSHWireWriter(capacity: 1024)
        w.writeBytes(Self.magic)
        w.writeUInt32(Self.formatVersion)
        writeUInt64(&w, self.version)
        writeUInt64(&w, self.generatedDate != 0 ? self.generatedDate : UInt64(max(0, time(nil))))
        writeUInt64(&w, self.flags)
        w.writeString([UInt8]())
        w.writeString(self.commentBytes)

        for section in self.authorities {
            var body = SSHWireWriter()
            try section.write(to: &body)
            w.writeByte(Section.certificates)
            w.writeString(body.bytes)
        }
        for (type, set) in [
            (Section.explicitKey, self.explicitKeys), (Section.fingerprintSHA1, self.sha1Digests),
            (Section.fingerprintSHA256, self.sha256Digests),
        ] where !set.isEmpty {
            var body = SSHWireWriter()
            for blob in set.sorted(by: { $0.lexicographicallyPrecedes($1) }) { body.writeString(blob) }
            w.writeByte(type)
            w.writeString(body.bytes)
        }
        return w.bytes
    }
}

extension KeyRevocationList.RevokedCertificates {
    private typealias Section = KeyRevocationList.Section

    /// krl.c `revoked_certs_generate`: the CA key (empty for any CA), an empty reserved
    /// string, the serials in list, range and bitmap subsections as `choose_next_state`
    /// picks them, then one subsection of key IDs in strcmp order.
    func write(to w: inout SSHWireWriter) throws(SSHKeyError) {
        w.writeString(self.authority?.wireBlob ?? [])
        w.writeString([UInt8]())

        var state: UInt8 = 0
        var sect = SSHWireWriter()
        var bitmap: [UInt8] = []  // little-endian bits from bitmapStart
        var bitmapStart: UInt64 = 0
        var last: UInt64 = 0
        func finish(_ state: UInt8) {
            if state == Section.serialBitmap { writeBitmap(&sect, bitmap) }
            w.writeByte(state)
            w.writeString(sect.bytes)
            sect = SSHWireWriter()
        }
        let runs = self.serials.runs
        for (i, run) in runs.enumerated() {
            let next = i + 1 < runs.count ? runs[i + 1] : nil
            let gap = next.map { $0.lo - run.hi } ?? 0
            let contig = run.hi - run.lo + 1  // lo is never 0, so this cannot overflow
            let (nextState, restart) = chooseNextState(
                current: state,
                contig: contig,
                final: next == nil,
                lastGap: state == 0 ? 0 : run.lo - last,
                nextGap: gap
            )
            if state != 0 && (restart || nextState != state || state == Section.serialRange) {
                finish(state)
            }
            if nextState != state || restart {
                state = nextState
                sect = SSHWireWriter()
                if state == Section.serialBitmap {
                    bitmap = []
                    bitmapStart = run.lo
                    writeUInt64(&sect, bitmapStart)
                }
            }
            switch state {
            case Section.serialList:
                var serial = run.lo
                while true {
                    writeUInt64(&sect, serial)
                    if serial == run.hi { break }
                    serial += 1
                }
            case Section.serialRange:
                writeUInt64(&sect, run.lo)
                writeUInt64(&sect, run.hi)
            default:
                // OpenSSH reads no bitmap over 16384 bits (SSHBUF_MAX_BIGNUM); ssh-keygen would
                // write one, which sshd then refuses, refusing every key.
                guard run.hi - bitmapStart < UInt64(KeyRevocationList.maximumBitmapBytes * 8) else {
                    throw SSHKeyError(
                        .invalidParameter,
                        "the serials from \(bitmapStart) to \(run.hi) would need a bitmap longer than 16384 bits, "
                            + "which OpenSSH cannot read"
                    )
                }
                for serial in run.lo...run.hi {
                    let bit = Int(serial - bitmapStart)
                    while bitmap.count <= bit / 8 { bitmap.append(0) }
                    bitmap[bit / 8] |= 1 << (bit % 8)
                }
            }
            last = run.hi
        }
        if state != 0 { finish(state) }

        if !self.keyIDs.isEmpty {
            var ids = SSHWireWriter()
            for id in self.keyIDs.sorted(by: { $0.lexicographicallyPrecedes($1) }) { ids.writeString(id) }
            w.writeByte(Section.keyID)
            w.writeString(ids.bytes)
        }
    }
}

/// krl.c `choose_next_state`: the subsection type (and whether to start a new bitmap)
/// that costs the fewest bytes for the next run of `contig` serials, from krl.c's bit
/// cost model. Returns the state and whether a new section must be forced.
private func chooseNextState(
    current: UInt8,
    contig: UInt64,
    final: Bool,
    lastGap: UInt64,
    nextGap: UInt64
) -> (UInt8, Bool) {
    typealias Section = KeyRevocationList.Section
    // krl.c caps these so that the sums cannot overflow.
    let contig = min(contig, 1 << 31)
    let lastGap = min(lastGap, 1 << 31)
    let nextGap = min(nextGap, 1 << 31)
    var costList: UInt64 = 0
    var costBitmap: UInt64 = 0
    var costBitmapRestart: UInt64 = 0
    var costRange: UInt64 = 8
    switch current {
    case Section.serialList:
        costBitmapRestart = 8 + 64
        costBitmap = 8 + 64
    case Section.serialBitmap:
        costList = 8
        costBitmapRestart = 8 + 64
    default:
        costBitmapRestart = 8 + 64
        costBitmap = 8 + 64
        costList = 8
    }
    costList += 64 * contig + (final ? 0 : 8 + 64)
    costRange += 2 * 64 + (final ? 0 : 8 + 64)
    costBitmap += lastGap + contig + (final ? 0 : min(nextGap, 8 + 64))
    costBitmapRestart += contig + (final ? 0 : min(nextGap, 8 + 64))
    costList = (costList + 7) / 8
    costBitmap = (costBitmap + 7) / 8
    costBitmapRestart = (costBitmapRestart + 7) / 8
    costRange = (costRange + 7) / 8

    var state = Section.serialBitmap
    var cost = costBitmap
    var restart = false
    if costRange < cost {
        state = Section.serialRange
        cost = costRange
    }
    if costList < cost {
        state = Section.serialList
        cost = costList
    }
    if costBitmapRestart < cost {
        state = Section.serialBitmap
        restart = true
    }
    return (state, restart)
}

/// krl.c `put_bitmap`: the bitmap as an mpint (sshbuf_put_bignum2_bytes), most significant
/// byte first, with a zero byte before a set top bit.
private func writeBitmap(_ w: inout SSHWireWriter, _ littleEndian: [UInt8]) {
    var bytes = Array(littleEndian.reversed().drop { $0 == 0 })
    if let first = bytes.first, first & 0x80 != 0 { bytes.insert(0, at: 0) }
    w.writeString(bytes)
}

/// RFC 4251 §5: uint64, big-endian.
private func writeUInt64(_ w: inout SSHWireWriter, _ v: UInt64) {
    w.writeUInt32(UInt32(truncatingIfNeeded: v >> 32))
    w.writeUInt32(UInt32(truncatingIfNeeded: v))
}
