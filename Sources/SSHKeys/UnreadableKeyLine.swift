/// A line of a file of key lines (a .pub file, authorized_keys, known_hosts) that holds no
/// key keysmith reads, and why: a listing names every such line instead of dropping it.
///
/// Which lines are passed over without a word, as ssh-keygen -l passes them over by rule
/// (docs/key-lines.md): blank lines (blanks and a carriage return only) and lines whose first
/// non-blank byte is `#` are no key lines at all, and ``diagnose(_:lineNumber:)`` returns nil
/// for them. An SSH-1 RSA key (`bits exponent modulus`, after options or host names or not)
/// is a line of kind ``Kind/ssh1Key``: ssh-keygen -l skips it on purpose (do_fingerprint's
/// `strtol` test), so `fingerprint` says nothing of it, while `list-ids` lists it, since it
/// is a key that sshd no longer takes.
public struct UnreadableKeyLine: Sendable, Hashable, CustomStringConvertible {
    /// What kind of line it is, as a stable, extensible code.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// An SSH-1 RSA key, `[options or host names] bits exponent modulus [comment]`.
        public static let ssh1Key = Kind("SSH-1 key")
        /// A known_hosts line with a marker (`@cert-authority`, `@revoked`), for which
        /// ssh-keygen -l lists no key.
        public static let marker = Kind("marker")
        /// A key of a type keysmith does not read.
        public static let unknownKeyType = Kind("unknown key type")
        /// A key of a type keysmith reads whose base64 or blob is damaged.
        public static let damagedKey = Kind("damaged key")
        /// No key type and key where a key line has them.
        public static let notAKeyLine = Kind("not a key line")

        public var description: String { self.name }
    }

    /// The 1-based line number.
    public let lineNumber: Int
    /// What kind of line it is.
    public let kind: Kind
    /// Why no key is read from it: a clause without a final period; bytes from the file in
    /// it are printable ASCII (others escaped as `\xNN`).
    public let reason: String

    public init(lineNumber: Int, kind: Kind, reason: String) {
        self.lineNumber = lineNumber
        self.kind = kind
        self.reason = reason
    }

    /// `line N: REASON`.
    public var description: String { "line \(self.lineNumber): \(self.reason)" }

    /// Why `line` (its bytes, a final line feed and carriage return allowed) holds no key, or
    /// nil for a blank line or a `#` comment. Called for a line a reader found no key in; a
    /// line that does hold a key where ssh-keygen -l looks is described as laid out wrongly.
    ///
    /// The bytes are read as C sees them, up to the first NUL.
    public static func diagnose(_ line: some Collection<UInt8>, lineNumber: Int) -> UnreadableKeyLine? {
        var bytes = Array(line.prefix { $0 != 0 })
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        let words = Self.words(bytes)
        guard let first = words.first, first.first != UInt8(ascii: "#") else { return nil }
        func found(_ kind: Kind, _ reason: String) -> UnreadableKeyLine {
            UnreadableKeyLine(lineNumber: lineNumber, kind: kind, reason: reason)
        }

        // known_hosts (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT): a marker, host names, the key.
        if first.first == UInt8(ascii: "@") {
            return found(
                .marker,
                "a known_hosts line marked \(printable(first)), for which ssh-keygen -l lists no key"
            )
        }
        // The SSH-1 forms of authorized_keys and known_hosts: bits, exponent, modulus.
        for start in 0...1 where words.count >= start + 3 && words[start..<start + 3].allSatisfy(isDecimal) {
            return found(.ssh1Key, "an SSH-1 RSA key (bits, exponent, modulus), which OpenSSH no longer reads")
        }
        // A type keysmith reads, wherever it stands.
        for (index, word) in words.enumerated() {
            guard let type = SSHKeyType(sshName: word) else { continue }
            guard index + 1 < words.count else {
                return found(.damagedKey, "the \(type.sshName) key has no base64 after its type")
            }
            guard let blob = Base64.decode(words[index + 1]) else {
                return found(.damagedKey, "the \(type.sshName) key's base64 is damaged")
            }
            let key: SSHPublicKey
            do { key = try SSHPublicKey(wireBlob: blob) } catch {
                if let name = Self.blobTypeName(blob), !name.elementsEqual(type.sshName.utf8) {
                    return found(.damagedKey, "the line names \(type.sshName) but its key is \(printable(name))")
                }
                let what = type.isCertificate ? "certificate" : "key"
                return found(.damagedKey, "the \(type.sshName) \(what) is damaged: \(error.message)")
            }
            guard key.type == type else {
                return found(.damagedKey, "the line names \(type.sshName) but its key is \(key.type.sshName)")
            }
            if index >= 2 {
                return found(
                    .notAKeyLine,
                    "\(index) words stand before the key where one at most (options or host names) may"
                )
            }
            return found(.notAKeyLine, "the key is not laid out as ssh-keygen -l reads a key line")
        }
        // A type keysmith does not read: a word and then a blob that names it.
        for index in 0..<min(2, words.count - 1) {
            if let blob = Base64.decode(words[index + 1]), let name = Self.blobTypeName(blob), !name.isEmpty,
                name.elementsEqual(words[index])
            {
                return found(.unknownKeyType, "the key type \(printable(name)) is not one keysmith reads")
            }
        }
        return found(.notAKeyLine, "no key type and base64 key are on it")
    }

    /// The line's words: runs of bytes between blanks, where a double-quoted span (options'
    /// values) may hold blanks and `\"` is part of the word (authfile.c
    /// `sshkey_advance_past_options`). A carriage return counts as a blank.
    private static func words(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        let isBlank = { (b: UInt8) in b == 0x20 || b == 0x09 || b == 0x0D }
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count && isBlank(bytes[i]) { i += 1 }
            guard i < bytes.count else { break }
            let start = i
            var quoted = false
            while i < bytes.count && (quoted || !isBlank(bytes[i])) {
                if bytes[i] == UInt8(ascii: "\\") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                    i += 1
                } else if bytes[i] == UInt8(ascii: "\"") {
                    quoted.toggle()
                }
                i += 1
            }
            out.append(bytes[start..<min(i, bytes.count)])
        }
        return out
    }

    /// The key type name a wire blob starts with (RFC 4253 §6.6), if it starts with a string.
    private static func blobTypeName(_ blob: [UInt8]) -> ArraySlice<UInt8>? {
        var reader = SSHWireReader(blob)
        return try? reader.readString()
    }
}

private func isDecimal(_ word: ArraySlice<UInt8>) -> Bool {
    !word.isEmpty && word.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
}
