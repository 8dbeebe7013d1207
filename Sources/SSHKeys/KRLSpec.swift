import SSHCrypto

extension KeyRevocationList {
    /// Revokes what a revocation spec file lists, as ssh-keygen.c `update_krl_from_file`
    /// reads it (ssh-keygen(1) "KEY REVOCATION LISTS").
    ///
    /// Each line, after leading blanks, up to a `#` and without trailing blanks, is empty or
    /// one of (prefixes in any case):
    /// - `serial: N` or `serial: N-M` (N < M; numbers as strtoull with base 0: decimal,
    ///   `0x` hex, `0` octal): certificates by serial under the CA;
    /// - `id: KEYID`: certificates by key ID under the CA;
    /// - `key: KEY`: the key's plain key, explicitly;
    /// - `sha1: KEY`, `sha256: KEY`: the plain key by its SHA-1 or SHA-256 hash;
    /// - `hash: SHA256:BASE64`: a SHA-256 hash as ssh-keygen -l prints it;
    /// - a public key line (so a .pub file is a spec): a plain key explicitly, a certificate
    ///   by its serial, or key ID when its serial is 0, under its own CA.
    ///
    /// - Parameters:
    ///   - text: The spec file's bytes.
    ///   - name: The file's name, for messages.
    ///   - authority: The CA of `serial:` and `id:` lines (`ssh-keygen -s`).
    ///   - anyAuthority: Whether `serial:` and `id:` lines apply to any CA (`-s none`).
    /// - Throws: `SSHKeyError` with ssh-keygen's sentence for the first line it refuses;
    ///   the KRL is then left as it was.
    public mutating func update(
        fromSpec text: some Collection<UInt8>,
        named name: String,
        authority: SSHPublicKey?,
        anyAuthority: Bool = false
    ) throws(SSHKeyError) {
        var updated = self
        var number = 0
        for rawLine in Array(text).split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let line = specContent(rawLine)
            if line.isEmpty { continue }
            let place = "\(name):\(number)"
            if let rest = line.droppingPrefix("serial:") {
                guard authority != nil || anyAuthority else {
                    throw SSHKeyError(
                        .invalidParameter,
                        "revoking certificates by serial number requires specification of a CA key"
                    )
                }
                let range = try parseSerialRange(rest.drop(while: isBlank), place)
                guard range.lowerBound != 0 else {
                    throw SSHKeyError(.invalidParameter, "\(place): certificate serial 0 cannot be revoked")
                }
                try updated.revokeCertificates(serials: range, by: authority)
            } else if let rest = line.droppingPrefix("id:") {
                guard authority != nil || anyAuthority else {
                    throw SSHKeyError(
                        .invalidParameter,
                        "revoking certificates by key ID requires specification of a CA key"
                    )
                }
                try updated.revokeCertificates(keyID: rest.drop(while: isBlank), by: authority)
            } else if let rest = line.droppingPrefix("hash:") {
                try updated.revokeSHA256(try parseHash(rest.drop(while: isBlank), place))
            } else {
                var how = "key"
                var keyText = line
                for prefix in ["key:", "sha1:", "sha256:"] {
                    if let rest = line.droppingPrefix(prefix) {
                        how = prefix
                        keyText = rest.drop(while: isBlank)
                        break
                    }
                }
                let key = try readSpecKey(keyText, place)
                switch how {
                case "key:": updated.revokeExplicitly(key)
                case "sha1:": try updated.revokeSHA1(Digest.hash(.sha1, key.plainKey.wireBlob))
                case "sha256:": try updated.revokeSHA256(Digest.hash(.sha256, key.plainKey.wireBlob))
                default: try updated.revoke(key)
                }
            }
        }
        self = updated
    }
}

private func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

/// The line as update_krl_from_file trims it: a C string (up to a NUL), leading blanks
/// skipped, cut at the first `#`, trailing blanks removed.
private func specContent(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var text = line.prefix { $0 != 0 }.drop(while: isBlank)
    if let hash = text.firstIndex(of: UInt8(ascii: "#")) { text = text[..<hash] }
    while let last = text.last, isBlank(last) { text = text.dropLast() }
    return text
}

extension ArraySlice<UInt8> {
    /// The rest after `prefix`, compared as strncasecmp does (ASCII letters in any case).
    fileprivate func droppingPrefix(_ prefix: String) -> ArraySlice<UInt8>? {
        let p = Array(prefix.utf8)
        guard self.count >= p.count else { return nil }
        let lower: (UInt8) -> UInt8 = { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }
        guard zip(self, p).allSatisfy({ lower($0) == lower($1) }) else { return nil }
        return self.dropFirst(p.count)
    }
}

/// `N` or `N-M` as update_krl_from_file reads them with strtoull(…, 0).
private func parseSerialRange(_ text: ArraySlice<UInt8>, _ place: String) throws(SSHKeyError) -> ClosedRange<UInt64> {
    func invalid(_ t: ArraySlice<UInt8>) -> SSHKeyError {
        SSHKeyError(.invalidParameter, "\(place): invalid serial \"\(printable(t))\"")
    }
    let (first, afterFirst, overflowFirst) = strtoull(text)
    guard !text.isEmpty, afterFirst.isEmpty || afterFirst.first == UInt8(ascii: "-") else { throw invalid(text) }
    guard !overflowFirst else { throw SSHKeyError(.invalidParameter, "\(place): serial out of range") }
    guard afterFirst.first == UInt8(ascii: "-") else { return first...first }
    let secondText = afterFirst.dropFirst()
    let (second, afterSecond, overflowSecond) = strtoull(secondText)
    guard !secondText.isEmpty, afterSecond.isEmpty else { throw invalid(secondText) }
    guard !overflowSecond else { throw SSHKeyError(.invalidParameter, "\(place): serial out of range") }
    guard second > first else {
        throw SSHKeyError(.invalidParameter, "\(place): invalid serial range \(first):\(second)")
    }
    return first...second
}

/// C's strtoull with base 0: blanks skipped, an optional sign (a minus negates modulo
/// 2^64), `0x` hexadecimal, a leading `0` octal, else decimal. Returns the value, the
/// text after the number (all of `text` when there is no number) and whether it overflowed.
private func strtoull(_ text: ArraySlice<UInt8>) -> (UInt64, ArraySlice<UInt8>, Bool) {
    let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
    var rest = text.drop(while: isSpace)
    var negative = false
    if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
        negative = sign == UInt8(ascii: "-")
        rest = rest.dropFirst()
    }
    func digit(_ c: UInt8) -> UInt64? {
        switch c {
        case 0x30...0x39: UInt64(c - 0x30)
        case 0x61...0x66: UInt64(c - 0x61 + 10)
        case 0x41...0x46: UInt64(c - 0x41 + 10)
        default: nil
        }
    }
    var base: UInt64 = 10
    if rest.first == UInt8(ascii: "0") {
        let afterZero = rest.dropFirst()
        if let x = afterZero.first, x | 0x20 == UInt8(ascii: "x"), let h = afterZero.dropFirst().first,
            digit(h) != nil
        {
            base = 16
            rest = afterZero.dropFirst()
        } else {
            base = 8
        }
    }
    var value: UInt64 = 0
    var overflow = false
    var consumed = 0
    for c in rest {
        guard let d = digit(c), d < base else { break }
        let (m, o1) = value.multipliedReportingOverflow(by: base)
        let (a, o2) = m.addingReportingOverflow(d)
        if o1 || o2 { overflow = true }
        value = a
        consumed += 1
    }
    if consumed == 0 { return (0, text, false) }
    if overflow { return (UInt64.max, rest.dropFirst(consumed), true) }
    return (negative ? 0 &- value : value, rest.dropFirst(consumed), false)
}

/// ssh-keygen.c `hash_to_blob`: `SHA256:` and unpadded base64.
private func parseHash(_ text: ArraySlice<UInt8>, _ place: String) throws(SSHKeyError) -> [UInt8] {
    guard let encoded = text.droppingPrefixExactly("SHA256:") else {
        throw SSHKeyError(.invalidParameter, "\(place): unsupported hash algorithm")
    }
    var padded = Array(encoded)
    while padded.count % 4 != 0 { padded.append(UInt8(ascii: "=")) }
    guard let digest = Base64.decode(padded) else {
        throw SSHKeyError(.invalidParameter, "\(place): decode hash failed")
    }
    guard digest.count == 32 else {
        throw SSHKeyError(.invalidParameter, "\(place): a SHA256 hash must be 32 bytes, not \(digest.count)")
    }
    return digest
}

extension ArraySlice<UInt8> {
    fileprivate func droppingPrefixExactly(_ prefix: String) -> ArraySlice<UInt8>? {
        self.starts(with: prefix.utf8) ? self.dropFirst(prefix.utf8.count) : nil
    }
}

/// sshkey_read: a key type, blanks, base64; the rest (a comment) is ignored.
private func readSpecKey(_ text: ArraySlice<UInt8>, _ place: String) throws(SSHKeyError) -> SSHPublicKey {
    let invalid = SSHKeyError(.invalidParameter, "\(place): invalid key")
    guard let typeEnd = text.firstIndex(where: isBlank),
        let type = SSHKeyType(sshName: text[..<typeEnd])
    else { throw invalid }
    let blobText = text[typeEnd...].drop(while: isBlank).prefix { !isBlank($0) }
    // b64_pton skips white space, such as the CR of a CR LF line.
    let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
    guard !blobText.isEmpty, let blob = Base64.decode(blobText.filter { !isSpace($0) }) else { throw invalid }
    let key: SSHPublicKey
    do {
        key = try SSHPublicKey(wireBlob: blob)
    } catch {
        throw SSHKeyError(.invalidParameter, "\(place): invalid key: \(error.message)")
    }
    guard key.type == type else { throw invalid }
    return key
}
