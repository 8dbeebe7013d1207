#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `s` as OpenSSH's mprintf shows it (utf8.c `vasnmprintf`): characters the locale can
/// print are kept, tab, CR and LF pass as they are, and every other byte is shown as a
/// three-digit octal escape (`\033`).
package func escapeForTerminal(_ s: String) -> String {
    var out = ""
    appendEscapedForTerminal(s.utf8, to: &out)
    return out
}

/// Appends `bytes` to `out` as `escapeForTerminal` shows them. The text ends at the
/// first NUL, as a C string does.
///
/// Printable ASCII, the usual comment, is copied as it is. Anything else is decoded as
/// ssh-keygen decodes it: with mbtowc and wcwidth in the LC_CTYPE locale its
/// msetlocale chooses, so that a UTF-8 locale keeps printable non-ASCII text and the C
/// locale escapes it.
package func appendEscapedForTerminal(_ bytes: some Collection<UInt8>, to out: inout String) {
    var text = bytes[...]
    if let nul = text.firstIndex(of: 0) { text = text[..<nul] }
    if text.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
        out += String(decoding: text, as: UTF8.self)
        return
    }
    _ = terminalLocale
    var cString = Array(text).map { CChar(bitPattern: $0) }
    cString.append(0)
    let maxLength = Int(__ctype_get_mb_cur_max())
    var kept: [UInt8] = []
    cString.withUnsafeBufferPointer { buf in
        var p = 0
        while buf[p] != 0 {
            var wc: wchar_t = 0
            let len = Int(mbtowc(&wc, buf.baseAddress! + p, maxLength))
            let printable: Bool
            if len <= 0 {
                _ = mbtowc(nil, nil, 0)
                printable = false
            } else if wc == 0x0A || wc == 0x0D || wc == 0x09 {
                printable = true
            } else {
                printable = columnWidth(wc) >= 0
            }
            let count = max(len, 1)
            for b in buf[p..<(p + count)] {
                let byte = UInt8(bitPattern: b)
                if printable {
                    kept.append(byte)
                } else {
                    kept.append(UInt8(ascii: "\\"))
                    kept.append(UInt8(ascii: "0") + (byte >> 6))
                    kept.append(UInt8(ascii: "0") + (byte >> 3) & 7)
                    kept.append(UInt8(ascii: "0") + byte & 7)
                }
            }
            p += count
        }
    }
    out += String(decoding: kept, as: UTF8.self)
}

/// Text that came from a peer (a server's keyboard-interactive name, instruction and
/// prompts, remote paths, modes and authorized_keys lines, remote stderr) as
/// `escapeForTerminal` shows it, with NUL, carriage return and, unless `multiline`, line
/// feed escaped as well: a field can neither end the line keysmith prints, nor write over
/// it, nor cut short what follows.
package func escapePeerText(_ s: some StringProtocol, multiline: Bool = false) -> String {
    var out = ""
    var segment: [UInt8] = []
    for byte in s.utf8 {
        if byte == 0 || byte == 0x0D || (byte == 0x0A && !multiline) {
            appendEscapedForTerminal(segment, to: &out)
            segment.removeAll()
            appendOctal(byte, to: &out)
        } else {
            segment.append(byte)
        }
    }
    appendEscapedForTerminal(segment, to: &out)
    return out
}

/// `message` with every C0 control character but tab and line feed, DEL, and the C1
/// controls (U+0080 to U+009F, which a UTF-8 terminal may obey) shown as octal escapes of
/// their bytes. The last guard before stderr: keysmith's own sentences hold none of them,
/// so only text that came from elsewhere and was not escaped on its way changes.
package func escapeControlCharacters(_ message: String) -> String {
    guard message.unicodeScalars.contains(where: isControl) else { return message }
    var out = ""
    for scalar in message.unicodeScalars {
        if isControl(scalar) {
            for byte in String(scalar).utf8 { appendOctal(byte, to: &out) }
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
}

/// `\ooo`, as OpenSSH's vis(3) with VIS_OCTAL and its mprintf show a byte.
private func appendOctal(_ byte: UInt8, to out: inout String) {
    out += "\\" + String(byte >> 6) + String((byte >> 3) & 7) + String(byte & 7)
}

/// LC_CTYPE set once as OpenSSH's msetlocale sets it: from the environment, except that
/// Turkish locales fall back to C.UTF-8 (or C), whose case rules ssh cannot cope with.
private let terminalLocale: Void = {
    for name in ["LC_ALL", "LC_CTYPE", "LANG"] {
        guard let value = getenv(name).map({ String(cString: $0) }) else { continue }
        guard value.lowercased().hasPrefix("tr") else { break }
        let lower = value.lowercased()
        if lower.contains("utf-8") || lower.contains("utf8"),
            setlocale(LC_CTYPE, "C.UTF-8") != nil || setlocale(LC_CTYPE, "POSIX.UTF-8") != nil
        {
            return
        }
        setlocale(LC_CTYPE, "C")
        return
    }
    setlocale(LC_CTYPE, "")
}()

/// wcwidth(3). Glibc's module map leaves it out (it needs _XOPEN_SOURCE), so it is
/// declared here; it takes and returns plain C ints.
@_silgen_name("wcwidth")
private func columnWidth(_ c: wchar_t) -> Int32
