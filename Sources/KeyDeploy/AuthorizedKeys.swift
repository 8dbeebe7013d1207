public import SSHKeys

/// authorized_keys text as keysmith edits it: lines kept as bytes, keys compared by blob.
public enum AuthorizedKeys {
    /// One line: its bytes without the newline, and whether a newline ended it.
    struct Line {
        var text: ArraySlice<UInt8>
        var hasNewline: Bool
    }

    /// Splits at `\n`; a last line without one is still a line.
    static func lines(of contents: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = 0
        while start < contents.count {
            if let nl = contents[start...].firstIndex(of: UInt8(ascii: "\n")) {
                out.append(Line(text: contents[start..<nl], hasNewline: true))
                start = nl + 1
            } else {
                out.append(Line(text: contents[start...], hasNewline: false))
                start = contents.count
            }
        }
        return out
    }

    /// The key blob (wire encoding) of a line, whatever its options and comment; nil for
    /// comments, blank lines and lines keysmith cannot read.
    static func keyBlob(ofLine line: Substring) -> [UInt8]? {
        var text = line
        if text.hasSuffix("\r") { text = text.dropLast() }
        return SSHPublicKey.parseLine(text)?.key.wireBlob
    }

    /// The key blobs of every readable line.
    static func keyBlobs(in contents: [UInt8]) -> [[UInt8]] {
        lines(of: contents).compactMap { keyBlob(ofLine: Substring(decoding: $0.text, as: UTF8.self)) }
    }

    /// The line to install: `options type base64 comment`. Callers check `options` with
    /// ``validateOptions(_:)`` and the comment for control characters first: either could
    /// otherwise hold a line feed, and so a second key line.
    public static func line(for key: SSHPublicKey, comment: String?, options: String?) -> String {
        let keyText = key.openSSHLine(comment: comment)
        guard let options, !options.isEmpty else { return keyText }
        return options + " " + keyText
    }

    /// Checks `options` as sshd would read them before a key: SSHKeys'
    /// ``AuthorizedKeyOptions/init(parsing:)``, the same parser that reads authorized_keys
    /// (auth-options.c `sshauthopt_parse`, OpenSSH 9.2). Empty options are refused too, since
    /// `--key-options ''` is more likely a mistake than a wish for none.
    ///
    /// - Throws: `.invalidKeyOptions` naming the first option sshd would refuse and sshd's reason.
    public static func validateOptions(_ options: String) throws(KeyDeployError) {
        func bad(_ why: String) -> KeyDeployError {
            KeyDeployError(.invalidKeyOptions, "the key options '\(options)' are invalid: \(why)")
        }
        guard !options.isEmpty else { throw bad("they are empty") }
        // sshd's parser would take a line feed inside a quoted value, and the file then holds a
        // second key line with no options at all. The options are not echoed: they hold the byte.
        if let control = KeyLineText.firstControlCharacter(in: options, allowingTab: false) {
            throw KeyDeployError(
                .invalidKeyOptions,
                "the key options hold the control character \(KeyLineText.describe(control)), which would break or disguise the authorized_keys line"
            )
        }
        do {
            _ = try AuthorizedKeyOptions(parsing: options)
        } catch {
            // sshd's reason does not say where; name the first option that fails on its own.
            let culprit = Self.optionsSplitAtCommas(options).first { piece in
                !piece.isEmpty && (try? AuthorizedKeyOptions(parsing: piece)) == nil
            }
            let valued = [
                "command", "environment", "expiry-time", "from", "permitlisten", "permitopen", "principals", "tunnel",
            ]
            if let culprit, valued.contains(culprit.lowercased()) {
                throw bad("'\(culprit)' needs a value in double quotes, as \(culprit)=\"…\"")
            }
            if let culprit, culprit != options {
                throw bad("'\(culprit)': \(error.message)")
            }
            throw bad(error.message)
        }
    }

    /// `options` split at the commas outside double quotes, where `\"` inside quotes is a
    /// quote character (misc.c `opt_dequote`).
    static func optionsSplitAtCommas(_ options: String) -> [String] {
        let bytes = Array(options.utf8)
        var pieces: [String] = []
        var start = 0
        var quoted = false
        var i = 0
        while i < bytes.count {
            if quoted && bytes[i] == UInt8(ascii: "\\") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                i += 2
                continue
            }
            if bytes[i] == UInt8(ascii: "\"") { quoted.toggle() }
            if bytes[i] == UInt8(ascii: ",") && !quoted {
                pieces.append(String(decoding: bytes[start..<i], as: UTF8.self))
                start = i + 1
            }
            i += 1
        }
        pieces.append(String(decoding: bytes[start...], as: UTF8.self))
        return pieces
    }
}
