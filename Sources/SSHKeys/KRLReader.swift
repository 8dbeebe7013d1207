extension KeyRevocationList {
    /// KRL section types (PROTOCOL.krl §1, krl.h).
    package enum Section {
        static let certificates: UInt8 = 1
        static let explicitKey: UInt8 = 2
        static let fingerprintSHA1: UInt8 = 3
        static let signature: UInt8 = 4
        static let fingerprintSHA256: UInt8 = 5
        static let `extension`: UInt8 = 255
        // Subsections of a certificate section (PROTOCOL.krl §2).
        static let serialList: UInt8 = 0x20
        static let serialRange: UInt8 = 0x21
        static let serialBitmap: UInt8 = 0x22
        static let keyID: UInt8 = 0x23
        static let certificateExtension: UInt8 = 0x39
    }

    /// The longest bitmap mpint krl.c reads (SSHBUF_MAX_BIGNUM, 16384 bits), plus a
    /// leading zero byte.
    static let maximumBitmapBytes = 2048

    /// Reads a KRL as krl.c `ssh_krl_from_blob` (OpenSSH 9.4 and later) reads it.
    ///
    /// Refused as krl.c refuses them: a wrong magic or format version; a truncated header,
    /// section or subsection; a string length past its container; an unknown section or
    /// certificate subsection type; data left over in a section; serial 0 or a range whose
    /// start exceeds its end; a bitmap that is negative, longer than 16384 bits or runs
    /// past serial 2^64-1; a SHA-1 or SHA-256 hash of the wrong length; a CA key that is
    /// not a key; a comment, key ID or extension name holding a NUL byte; a critical
    /// extension. A signature section (a key and a signature) is skipped unchecked, as
    /// current OpenSSH skips it; a non-critical extension is ignored.
    ///
    /// - Throws: `SSHKeyError` with one sentence saying what is wrong.
    public init(bytes: some Collection<UInt8>) throws(SSHKeyError) {
        let all = Array(bytes)
        guard Self.hasMagic(all) else {
            throw SSHKeyError(.invalidFormat, "it is not a KRL (it does not start with \"SSHKRL\")")
        }
        var r = SSHWireReader(all[Self.magic.count...])
        let format = try field { () throws(SSHKeyError) in try r.readUInt32() }
        guard format == Self.formatVersion else {
            throw SSHKeyError(.unsupported, "its KRL format version \(format) is not supported (only 1 is)")
        }
        try field { () throws(SSHKeyError) in
            self.version = try readUInt64(&r)
            self.generatedDate = try readUInt64(&r)
            self.flags = try readUInt64(&r)
            _ = try r.readString()
            self.commentBytes = try readCString(&r, "the comment")
        }

        var pending: [SSHPublicKey?: [KRLSerialRanges.Run]] = [:]
        var runCount = 0
        while !r.isAtEnd {
            let type = try r.readByte()
            let data = try field { () throws(SSHKeyError) in try r.readString() }
            var section = SSHWireReader(data)
            switch type {
            case Section.certificates:
                try self.readCertificateSection(&section, pending: &pending, runCount: &runCount)
            case Section.explicitKey:
                try readBlobs(&section, into: &self.explicitKeys, length: nil, "explicit key")
            case Section.fingerprintSHA1:
                try readBlobs(&section, into: &self.sha1Digests, length: 20, "SHA-1")
            case Section.fingerprintSHA256:
                try readBlobs(&section, into: &self.sha256Digests, length: 32, "SHA-256")
            case Section.extension:
                try readExtension(&section, "section")
            case Section.signature:
                // The section's string was the signing key; the signature follows as a second
                // string. Neither is read (krl.c drops the section before its leftover check).
                _ = try field { () throws(SSHKeyError) in try r.readString() }
                section = SSHWireReader([UInt8]())
            default:
                throw SSHKeyError(.invalidFormat, "it holds a section of unknown type \(type)")
            }
            try section.expectEnd("a KRL section")
        }
        for index in self.authorities.indices {
            let runs = pending[self.authorities[index].authority] ?? []
            self.authorities[index].serials = KRLSerialRanges(coalescing: runs)
        }
    }

    /// PROTOCOL.krl §2: string ca_key (empty: any CA), string reserved, then subsections.
    private mutating func readCertificateSection(
        _ r: inout SSHWireReader,
        pending: inout [SSHPublicKey?: [KRLSerialRanges.Run]],
        runCount: inout Int
    ) throws(SSHKeyError) {
        let caBlob = try field { () throws(SSHKeyError) in try r.readString() }
        _ = try field { () throws(SSHKeyError) in try r.readString() }
        var authority: SSHPublicKey? = nil
        if !caBlob.isEmpty {
            do {
                authority = try SSHPublicKey(wireBlob: caBlob)
            } catch {
                throw SSHKeyError(.invalidFormat, "its certificate section's CA key is invalid: \(error.message)")
            }
        }
        // krl.c makes a CA's entry at its first revocation, not at its section: an empty
        // section leaves no entry (and so no section when written again).
        var runs = pending[authority] ?? []
        defer { pending[authority] = runs }
        func add(_ lo: UInt64, _ hi: UInt64) throws(SSHKeyError) {
            // ssh_krl_revoke_cert_by_serial_range refuses these.
            guard lo != 0, lo <= hi else {
                throw SSHKeyError(
                    .invalidFormat,
                    lo == 0 ? "it revokes certificate serial 0" : "it holds a serial range from \(lo) down to \(hi)"
                )
            }
            runCount += 1
            guard runCount <= Self.maximumSerialRuns else {
                throw SSHKeyError(.invalidFormat, "it holds more than \(Self.maximumSerialRuns) serial ranges")
            }
            runs.append(.init(lo: lo, hi: hi))
            _ = self.authorityIndex(authority)
        }
        while !r.isAtEnd {
            let type = try r.readByte()
            let data = try field { () throws(SSHKeyError) in try r.readString() }
            var sub = SSHWireReader(data)
            switch type {
            case Section.serialList:
                while !sub.isAtEnd {
                    let serial = try field { () throws(SSHKeyError) in try readUInt64(&sub) }
                    try add(serial, serial)
                }
            case Section.serialRange:
                let (lo, hi) = try field { () throws(SSHKeyError) in (try readUInt64(&sub), try readUInt64(&sub)) }
                try add(lo, hi)
            case Section.serialBitmap:
                let offset = try field { () throws(SSHKeyError) in try readUInt64(&sub) }
                let bitmap = try readBitmap(&sub)
                try forEachSetBit(bitmap, offset: offset) { (serial) throws(SSHKeyError) in try add(serial, serial) }
            case Section.keyID:
                while !sub.isAtEnd {
                    let keyID = try readCString(&sub, "a key ID")
                    self.authorities[self.authorityIndex(authority)].keyIDs.insert(keyID)
                }
            case Section.certificateExtension:
                try readExtension(&sub, "certificate subsection")
            default:
                throw SSHKeyError(.invalidFormat, "its certificate section holds a subsection of unknown type \(type)")
            }
            try sub.expectEnd("a KRL certificate subsection")
        }
    }

    /// The index of the section for `authority`, made at the end if there is none
    /// (krl.c `revoked_certs_for_ca_key`).
    package mutating func authorityIndex(_ authority: SSHPublicKey?) -> Int {
        if let index = self.authorities.firstIndex(where: { $0.authority == authority }) { return index }
        self.authorities.append(RevokedCertificates(authority: authority))
        return self.authorities.count - 1
    }
}

/// Turns running out of data inside a field into one sentence about the KRL.
private func field<T>(_ body: () throws(SSHKeyError) -> T) throws(SSHKeyError) -> T {
    do {
        return try body()
    } catch  where error.code == .truncated {
        throw SSHKeyError(.truncated, "it is truncated or a length in it points past its end")
    }
}

/// RFC 4251 §5: uint64, big-endian.
private func readUInt64(_ r: inout SSHWireReader) throws(SSHKeyError) -> UInt64 {
    let high = UInt64(try r.readUInt32())
    let low = UInt64(try r.readUInt32())
    return high << 32 | low
}

/// sshbuf_get_cstring: a string that holds no NUL byte but, perhaps, one at its end,
/// which is dropped.
private func readCString(_ r: inout SSHWireReader, _ what: String) throws(SSHKeyError) -> [UInt8] {
    var bytes = try field { () throws(SSHKeyError) in try r.readString() }
    if bytes.last == 0 { bytes = bytes.dropLast() }
    guard !bytes.contains(0) else { throw SSHKeyError(.invalidFormat, "\(what) in it holds a NUL byte") }
    return Array(bytes)
}

/// krl.c `blob_section`: strings, each of `length` bytes when one is given.
private func readBlobs(
    _ r: inout SSHWireReader,
    into set: inout Set<[UInt8]>,
    length: Int?,
    _ what: String
) throws(SSHKeyError) {
    while !r.isAtEnd {
        let blob = try field { () throws(SSHKeyError) in try r.readString() }
        if let length, blob.count != length {
            throw SSHKeyError(.invalidFormat, "a \(what) hash in it is \(blob.count) bytes, not \(length)")
        }
        set.insert(Array(blob))
    }
}

/// PROTOCOL.krl §5 and §2.5: string name, boolean critical, string contents, nothing after.
/// No extension is supported, so a critical one is refused and any other ignored.
private func readExtension(_ r: inout SSHWireReader, _ what: String) throws(SSHKeyError) {
    let (name, critical): ([UInt8], UInt8)
    do {
        name = try readCString(&r, "an extension name")
        critical = try r.readByte()
        _ = try r.readString()
        try r.expectEnd("an extension")
    } catch {
        throw SSHKeyError(.invalidFormat, "it holds an invalid extension \(what)")
    }
    if critical != 0 {
        throw SSHKeyError(
            .unsupported,
            "it holds the unsupported critical extension \(what) \"\(printable(name))\""
        )
    }
}

/// sshbuf_get_bignum2_bytes_direct: a non-negative mpint of at most 2048 bytes (2049 with
/// a leading zero), leading zeros dropped.
private func readBitmap(_ r: inout SSHWireReader) throws(SSHKeyError) -> ArraySlice<UInt8> {
    var bytes = try field { () throws(SSHKeyError) in try r.readString() }
    if let first = bytes.first, first & 0x80 != 0 {
        throw SSHKeyError(.invalidFormat, "a serial bitmap in it is negative")
    }
    if bytes.count > KeyRevocationList.maximumBitmapBytes + 1
        || (bytes.count == KeyRevocationList.maximumBitmapBytes + 1 && bytes.first != 0)
    {
        throw SSHKeyError(.invalidFormat, "a serial bitmap in it is longer than 16384 bits")
    }
    while bytes.first == 0 { bytes = bytes.dropFirst() }
    return bytes
}

/// Calls `body` with `offset + N` for each bit N set in the big-endian `bitmap`, in
/// increasing order; refuses a bitmap whose bits run past serial 2^64-1 (krl.c: "bitmap
/// wraps u64").
private func forEachSetBit(
    _ bitmap: ArraySlice<UInt8>,
    offset: UInt64,
    _ body: (UInt64) throws(SSHKeyError) -> Void
) throws(SSHKeyError) {
    guard let top = bitmap.first else { return }
    let bits = UInt64(bitmap.count - 1) * 8 + UInt64(8 - top.leadingZeroBitCount)
    if offset != 0, bits > 1, UInt64.max - offset < bits - 1 {
        throw SSHKeyError(.invalidFormat, "a serial bitmap in it runs past the largest serial")
    }
    for (k, byte) in bitmap.reversed().enumerated() where byte != 0 {
        for bit in 0..<8 where byte & (1 << bit) != 0 {
            try body(offset &+ UInt64(k * 8 + bit))
        }
    }
}
