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

    /// The line to install: `options type base64 comment`.
    public static func line(for key: SSHPublicKey, comment: String?, options: String?) -> String {
        let keyText = key.openSSHLine(comment: comment)
        guard let options, !options.isEmpty else { return keyText }
        return options + " " + keyText
    }

    /// Checks `options` against sshd's authorized_keys option grammar (auth-options.c
    /// `sshauthopt_parse`, OpenSSH 9.2): comma-separated, case-insensitive names; the flags
    /// `restrict`, `cert-authority` and (also with `no-`) `port-forwarding`, `agent-forwarding`,
    /// `x11-forwarding`, `touch-required`, `verify-required`, `pty`, `user-rc`; and
    /// `name="value"` for `command`, `principals`, `from`, `expiry-time`, `environment`,
    /// `permitopen`, `permitlisten`, `tunnel`, where `\"` is a quote inside the value.
    /// No blank may appear outside quotes (a blank ends the options in sshd).
    ///
    /// - Throws: `.invalidKeyOptions` with the offending option and what is wrong.
    public static func validateOptions(_ options: String) throws(KeyDeployError) {
        func bad(_ why: String) -> KeyDeployError {
            KeyDeployError(.invalidKeyOptions, "the key options '\(options)' are invalid: \(why)")
        }
        let negatable: Set<String> = [
            "port-forwarding", "agent-forwarding", "x11-forwarding", "touch-required", "verify-required", "pty",
            "user-rc",
        ]
        let flags: Set<String> = ["restrict", "cert-authority"]
        let valued: Set<String> = [
            "command", "principals", "from", "expiry-time", "environment", "permitopen", "permitlisten", "tunnel",
        ]
        let s = Array(options.utf8)
        guard !s.isEmpty else { throw bad("they are empty") }
        var i = 0
        while true {
            let nameStart = i
            while i < s.count && s[i] != UInt8(ascii: ",") && s[i] != UInt8(ascii: "=") {
                if s[i] == UInt8(ascii: " ") || s[i] == UInt8(ascii: "\t") {
                    throw bad("blanks are allowed only inside quoted values")
                }
                if s[i] == UInt8(ascii: "\"") { throw bad("a quote may only follow 'name='") }
                i += 1
            }
            let name = String(decoding: s[nameStart..<i], as: UTF8.self).lowercased()
            if name.isEmpty { throw bad("an option name is missing") }
            if i < s.count && s[i] == UInt8(ascii: "=") {
                guard valued.contains(name) else { throw bad("'\(name)' takes no value or is not a known option") }
                i += 1
                guard i < s.count && s[i] == UInt8(ascii: "\"") else {
                    throw bad("the value of '\(name)' must be in double quotes")
                }
                i += 1
                var value: [UInt8] = []
                while i < s.count && s[i] != UInt8(ascii: "\"") {
                    if s[i] == UInt8(ascii: "\\") && i + 1 < s.count && s[i + 1] == UInt8(ascii: "\"") { i += 1 }
                    value.append(s[i])
                    i += 1
                }
                guard i < s.count else { throw bad("the value of '\(name)' has no closing quote") }
                i += 1
                try checkValue(name: name, value: String(decoding: value, as: UTF8.self), bad: bad)
            } else {
                let base = name.hasPrefix("no-") ? String(name.dropFirst(3)) : name
                let known = flags.contains(name) || negatable.contains(base)
                if !known {
                    throw bad(
                        valued.contains(name)
                            ? "'\(name)' needs a value (\(name)=\"…\")" : "'\(name)' is not a known option"
                    )
                }
            }
            if i == s.count { return }
            guard s[i] == UInt8(ascii: ",") else { throw bad("options must be separated by commas, without blanks") }
            i += 1
            if i == s.count { throw bad("they end with a comma") }
        }
    }

    private static func checkValue(
        name: String,
        value: String,
        bad: (String) -> KeyDeployError
    ) throws(KeyDeployError) {
        switch name {
        case "expiry-time":
            // auth-options.c parse_absolute_time: YYYYMMDD[HHMM[SS]].
            guard value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber), [8, 12, 14].contains(value.count) else {
                throw bad("expiry-time must be YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS")
            }
        case "tunnel":
            guard value == "any" || (Int(value).map { $0 >= 0 } ?? false) else {
                throw bad("tunnel must be a device number or \"any\"")
            }
        case "environment":
            guard let eq = value.firstIndex(of: "="), eq != value.startIndex,
                value[..<eq].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else { throw bad("environment must be \"NAME=value\"") }
        case "permitopen", "permitlisten":
            guard value.contains(":") || name == "permitlisten" else {
                throw bad("\(name) must be \"host:port\"")
            }
        case "from", "principals":
            guard !value.isEmpty else { throw bad("\(name) must not be empty") }
        default:
            break
        }
    }
}
