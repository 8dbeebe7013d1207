/// Reads a file of key lines (a .pub file, authorized_keys, known_hosts) line by line
/// exactly as `ssh-keygen -l` does (ssh-keygen.c `do_fingerprint` in OpenSSH 9.2), so
/// that keysmith's listing of any file is the same, byte for byte.
///
/// Three of ssh-keygen's habits are kept on purpose:
/// - Lines end at a line feed only; a carriage return stays in the line, so a CR LF
///   file's comments end in `\r` and its keys still decode (base64 skips the `\r`).
/// - The key follows the host names or options after exactly one blank, and a line
///   that starts with a non-zero number and a blank (the old SSH-1 `bits e n` form) is
///   skipped.
/// - The comment is a pointer into getline's buffer that is not reset between lines: a
///   line without a comment of its own prints whatever text now stands in the buffer
///   where the last comment began (often an empty string, sometimes the tail of an
///   earlier, longer line). The reader keeps a copy of that buffer to print the same.
///   Where the buffer would have grown, glibc may move it and the old position is
///   undefined in C; the reader then behaves as if it had grown in place.
package struct KeygenLineReader {
    /// getline's buffer as it stands after the last line, with the NULs ssh-keygen wrote.
    private var buffer: [UInt8] = []
    /// Where in `buffer` the last comment began, if any line has set one.
    private var commentOffset: Int? = nil

    package init() {}

    /// One key line of the listing: the key, and the comment bytes ssh-keygen prints
    /// (nil: it prints "no comment").
    package struct Entry {
        package var key: SSHPublicKey
        package var comment: ArraySlice<UInt8>?
    }

    /// Reads one line (its bytes, with the trailing line feed when there is one) and
    /// returns the entry ssh-keygen prints for it, or nil when it prints nothing.
    package mutating func read(line: some Collection<UInt8>) -> Entry? {
        let n = line.count
        if self.buffer.count < n + 1 {
            self.buffer.append(contentsOf: repeatElement(0, count: n + 1 - self.buffer.count))
        }
        self.buffer.replaceSubrange(0..<n, with: line)
        self.buffer[n] = 0
        // cp[strcspn(cp, "\n")] = '\0'
        var end = 0
        while self.buffer[end] != 0x0A && self.buffer[end] != 0 { end += 1 }
        self.buffer[end] = 0

        var start = 0
        while start < end && isBlank(self.buffer[start]) { start += 1 }
        if start == end || self.buffer[start] == UInt8(ascii: "#") { return nil }

        var found = self.readKey(from: start, end: end)
        if found == nil {
            if self.startsWithNumberAndBlank(from: start, end: end) { return nil }
            self.commentOffset = start
            var quoted = false
            var cp = start
            while cp < end && (quoted || !isBlank(self.buffer[cp])) {
                if self.buffer[cp] == UInt8(ascii: "\\") && cp + 1 < end && self.buffer[cp + 1] == UInt8(ascii: "\"") {
                    cp += 1
                } else if self.buffer[cp] == UInt8(ascii: "\"") {
                    quoted.toggle()
                }
                cp += 1
            }
            if cp >= end { return nil }
            self.buffer[cp] = 0
            found = self.readKey(from: cp + 1, end: end)
        }
        guard let (key, after) = found else { return nil }
        var cp = after
        while cp < end && isBlank(self.buffer[cp]) { cp += 1 }
        if cp < end && self.buffer[cp] != UInt8(ascii: "#") { self.commentOffset = cp }
        return Entry(key: key, comment: self.commentOffset.map { self.cString(at: $0) })
    }

    /// The first key of a .pub file and its comment (empty when the line has none), as
    /// ssh's sshkey_try_load_public reads them: lines starting with `#` or empty are
    /// skipped, a private key's `-----BEGIN` line ends the search, the key starts the
    /// line after optional blanks (no options or host names), and the comment ends at
    /// the first CR or LF.
    package static func firstKey(
        inPublicKeyFile contents: some Collection<UInt8>
    ) -> (key: SSHPublicKey, comment: ArraySlice<UInt8>)? {
        let bytes = Array(contents)
        var start = 0
        while start < bytes.count {
            let next = bytes[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            var line = bytes[start..<next]
            start = next
            if let nul = line.firstIndex(of: 0) { line = line[..<nul] }
            guard let first = line.first, first != UInt8(ascii: "#"), first != 0x0A else { continue }
            if line.starts(with: "-----BEGIN".utf8) || line.elementsEqual("SSH PRIVATE KEY FILE".utf8) { return nil }
            var reader = KeygenLineReader()
            reader.buffer = Array(line) + [0]
            let end = line.count
            var cp = 0
            while cp < end && isBlank(reader.buffer[cp]) { cp += 1 }
            guard cp < end, let (key, after) = reader.readKey(from: cp, end: end) else { continue }
            var c = after
            while c < end && isBlank(reader.buffer[c]) { c += 1 }
            let stop = reader.buffer[c..<end].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) ?? end
            return (key, reader.buffer[c..<stop])
        }
        return nil
    }

    /// The bytes from `offset` to the next NUL in the buffer.
    private func cString(at offset: Int) -> ArraySlice<UInt8> {
        guard offset < self.buffer.count else { return [] }
        let stop = self.buffer[offset...].firstIndex(of: 0) ?? self.buffer.endIndex
        return self.buffer[offset..<stop]
    }

    /// sshkey_read at `start`: a key type, blanks, a base64 blob. The key and where the
    /// blob ends, or nil.
    private func readKey(from start: Int, end: Int) -> (SSHPublicKey, Int)? {
        var typeEnd = start
        while typeEnd < end && !isBlank(self.buffer[typeEnd]) { typeEnd += 1 }
        guard typeEnd < end, let type = SSHKeyType(sshName: self.buffer[start..<typeEnd]) else { return nil }
        var blob = typeEnd
        while blob < end && isBlank(self.buffer[blob]) { blob += 1 }
        guard blob < end else { return nil }
        var blobEnd = blob
        while blobEnd < end && !isBlank(self.buffer[blobEnd]) { blobEnd += 1 }
        guard let bytes = Base64.decode(self.buffer[blob..<blobEnd]),
            let key = try? SSHPublicKey(wireBlob: bytes), key.type == type
        else { return nil }
        return (key, blobEnd)
    }

    /// strtol(cp, &ep, 10) is non-zero and is followed by a blank.
    private func startsWithNumberAndBlank(from start: Int, end: Int) -> Bool {
        var i = start
        if i < end && (self.buffer[i] == UInt8(ascii: "+") || self.buffer[i] == UInt8(ascii: "-")) { i += 1 }
        var nonZero = false
        var digits = 0
        while i < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.buffer[i]) {
            if self.buffer[i] != UInt8(ascii: "0") { nonZero = true }
            digits += 1
            i += 1
        }
        return digits > 0 && nonZero && i < end && isBlank(self.buffer[i])
    }
}

private func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
