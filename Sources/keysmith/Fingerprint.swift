import ArgumentParser
import SSHCrypto
import SSHKeys

struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint",
        abstract: "Show the fingerprints of the keys in a file (ssh-keygen -l).",
        discussion: """
            FILE may be a public key, a private key (its FILE.pub is used for the \
            comment when present), an authorized_keys or a known_hosts file; one \
            line is printed per key, exactly as ssh-keygen -l prints it. Use - for \
            standard input.
            """
    )

    enum HashName: String, ExpressibleByArgument, CaseIterable {
        case sha256, md5
    }

    @Option(
        name: .customShort("f"),
        help: ArgumentHelp("Key file, authorized_keys or known_hosts ('-' for standard input).", valueName: "file")
    )
    var file: String

    @Option(
        name: .customShort("E"),
        help: ArgumentHelp("Fingerprint hash: sha256 (default) or md5.", valueName: "hash")
    )
    var hash: HashName = .sha256

    @Flag(name: .customShort("v"), help: "Also draw the key's randomart.")
    var visual = false

    @Flag(name: .customShort("B"), help: "Print the bubblebabble digest instead.")
    var bubbleBabble = false

    @Flag(help: "Print a JSON array of {bits, fingerprint, comment, type}.")
    var json = false

    func run() throws {
        try reportingFailures {
            let path = self.file == "-" ? "(stdin)" : expandTilde(self.file)
            let contents = self.file == "-" ? try readStandardInput() : try KeyFileIO.readFile(path)
            let function: HashFunction = self.hash == .md5 ? .md5 : .sha256
            if !self.json, KeyFileKind(contents: contents) == .publicKeyLines {
                guard let out = self.fingerprintLines(contents, function: function) else {
                    throw Failure("\(path) is not a public key file")
                }
                writeOut(out)
                return
            }
            let entries = try self.keys(in: contents, path: path)
            var out = ""
            var objects: [String] = []
            for (key, comment) in entries {
                let fp = key.fingerprint(function)
                let shown = self.bubbleBabble ? key.fingerprint(.sha1).bubbleBabble : fp.description
                let text = comment ?? "no comment"
                if self.json {
                    objects.append(
                        "{\"bits\":\(key.bits),\"fingerprint\":\(jsonString(shown)),\"comment\":\(comment.map(jsonString) ?? "null"),\"type\":\(jsonString(key.type.displayName))}"
                    )
                    continue
                }
                out += "\(key.bits) \(shown) \(escapeForTerminal(text)) (\(key.type.displayName))\n"
                if self.visual {
                    out += fp.randomArt(title: "\(key.type.displayName) \(key.bits)") + "\n"
                }
            }
            if self.json { out = "[" + objects.joined(separator: ",") + "]\n" }
            writeOut(out)
        }
    }

    /// The output for a file of key lines (a public key, authorized_keys, known_hosts),
    /// or nil when no line holds a key.
    ///
    /// A streaming pass over a file of thousands of lines: each line is parsed, printed
    /// into one output buffer and dropped, with no list of keys kept. The lines are the
    /// ones `SSHPublicKey.keys(inFile:)` reads (the text split at line feeds, a CR LF
    /// pair staying inside its line, as Swift's `Character` split keeps it).
    private func fingerprintLines(_ contents: [UInt8], function: HashFunction) -> String? {
        let text = String(decoding: contents, as: UTF8.self)
        let utf8 = text.utf8
        var out = ""
        out.reserveCapacity(contents.count + contents.count / 4)
        var found = false
        var start = utf8.startIndex
        var previous: UInt8 = 0
        var index = start
        while index < utf8.endIndex {
            let byte = utf8[index]
            let next = utf8.index(after: index)
            if byte == 0x0A && previous != 0x0D || next == utf8.endIndex {
                let end = byte == 0x0A && previous != 0x0D ? index : next
                if start < end, let line = SSHPublicKey.parseLine(Substring(utf8[start..<end])) {
                    found = true
                    self.appendLine(for: line.key, comment: line.comment ?? line.prefix, function: function, to: &out)
                }
                start = next
            }
            previous = byte
            index = next
        }
        return found ? out : nil
    }

    /// Appends ssh-keygen -l's line for `key` (and its randomart with -v) to `out`.
    private func appendLine(for key: SSHPublicKey, comment: String?, function: HashFunction, to out: inout String) {
        let fp = key.fingerprint(function)
        out += String(key.bits)
        out += " "
        out += self.bubbleBabble ? key.fingerprint(.sha1).bubbleBabble : fp.description
        out += " "
        if let comment {
            appendEscapedForTerminal(comment, to: &out)
        } else {
            out += "no comment"
        }
        out += " ("
        out += key.type.displayName
        out += ")\n"
        if self.visual {
            out += fp.randomArt(title: "\(key.type.displayName) \(key.bits)") + "\n"
        }
    }

    /// The keys and comments ssh-keygen -l would list for `contents`.
    private func keys(in contents: [UInt8], path: String) throws -> [(SSHPublicKey, String?)] {
        let kind = KeyFileKind(contents: contents)
        if (kind == .openSSHPrivateKey || kind == .pemPrivateKey) && self.file != "-" {
            return [try self.privateKeyFile(contents, path: path)]
        }
        do {
            return try SSHPublicKey.keys(inFile: contents).map { line in
                (line.key, line.comment ?? line.prefix)
            }
        } catch {
            throw Failure("\(path) is not a public key file")
        }
    }

    /// As ssh-keygen's fingerprint_private: the key from FILE.pub or the file's own
    /// clear public part, the comment from FILE.pub or else the unencrypted private key.
    private func privateKeyFile(_ contents: [UInt8], path: String) throws -> (SSHPublicKey, String?) {
        var key: SSHPublicKey? = nil
        var comment: String? = nil
        if let pub = try? KeyFileIO.readFile(path + ".pub"), let line = try? SSHPublicKey.keys(inFile: pub).first {
            key = line.key
            comment = line.comment
        }
        if key == nil { key = SSHPublicKey.fromPrivateKeyFile(contents) }
        if comment?.isEmpty ?? true, let priv = try? SSHPrivateKey(fileContents: contents, passphrase: nil) {
            if key == nil { key = priv.publicKey }
            comment = priv.comment.isEmpty ? nil : priv.comment
        }
        guard let key else {
            throw Failure("\(path) is not a key file, or is encrypted without a \(path).pub beside it")
        }
        return (key, comment)
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Control characters as octal escapes (`\011`), as OpenSSH's mprintf shows them
/// in a UTF-8 locale; printable text, including non-ASCII, is kept.
func escapeForTerminal(_ s: String) -> String {
    var out = ""
    appendEscapedForTerminal(s, to: &out)
    return out
}

/// Appends `s` to `out` as `escapeForTerminal` shows it; printable ASCII, the usual
/// comment, is copied as it is.
func appendEscapedForTerminal(_ s: String, to out: inout String) {
    if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
        out += s
        return
    }
    for u in s.unicodeScalars {
        if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) {
            for b in String(u).utf8 {
                let o = String(b, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - o.count) + o
            }
        } else {
            out.unicodeScalars.append(u)
        }
    }
}
