package import SSHCrypto

/// Base64 (RFC 4648 §4) without Foundation, as OpenSSH's b64_ntop / b64_pton use it.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Encodes `bytes` with `=` padding.
    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let v = UInt32(input[i]) << 16
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `prefix`, then `bytes` encoded in lines of `width` characters each ending in a newline,
    /// then `suffix`, written straight into secure storage: for an unencrypted private key
    /// the text is the key, and a String of it could not be wiped.
    package static func encodeSecure(
        _ bytes: [UInt8],
        lineWidth width: Int,
        prefix: String,
        suffix: String
    ) -> SecureBytes {
        let encodedCount = (bytes.count + 2) / 3 * 4
        let lines = (encodedCount + width - 1) / width
        let out = SecureBytes(count: prefix.utf8.count + encodedCount + lines + suffix.utf8.count)
        out.withUnsafeMutableBytes { p in
            var at = 0
            var column = 0
            func put(_ c: UInt8) {
                p[at] = c
                at += 1
            }
            func putEncoded(_ c: UInt8) {
                put(c)
                column += 1
                if column == width {
                    put(UInt8(ascii: "\n"))
                    column = 0
                }
            }
            for c in prefix.utf8 { put(c) }
            var i = 0
            while i < bytes.count {
                let b0 = UInt32(bytes[i])
                let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
                let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
                let v = b0 << 16 | b1 << 8 | b2
                putEncoded(alphabet[Int(v >> 18 & 63)])
                putEncoded(alphabet[Int(v >> 12 & 63)])
                putEncoded(i + 1 < bytes.count ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
                putEncoded(i + 2 < bytes.count ? alphabet[Int(v & 63)] : UInt8(ascii: "="))
                i += 3
            }
            if column != 0 { put(UInt8(ascii: "\n")) }
            for c in suffix.utf8 { put(c) }
            precondition(at == p.count)
        }
        return out
    }

    /// Encodes `bytes` and breaks the text into lines of `width` characters, each
    /// ending in a newline (OpenSSH's `sshbuf_dtob64(…, wrap)` uses 70).
    package static func encode(_ bytes: some Collection<UInt8>, lineWidth width: Int) -> String {
        let text = Array(encode(bytes).utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.count + text.count / width + 1)
        var i = 0
        while i < text.count {
            let end = min(i + width, text.count)
            out.append(contentsOf: text[i..<end])
            out.append(UInt8(ascii: "\n"))
            i = end
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64 text; whitespace is skipped, padding is optional at the end.
    /// Returns nil for any other character or a bad length.
    package static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.count / 4 * 3)
        var acc: UInt32 = 0
        var n = 0
        var padding = 0
        for c in text {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                continue
            case UInt8(ascii: "="):
                padding += 1
                if padding > 2 { return nil }
                continue
            default:
                if padding > 0 { return nil }
                let v = decodeTable[Int(c)]
                if v == 0xFF { return nil }
                acc = acc << 6 | UInt32(v)
                n += 1
                if n == 4 {
                    out.append(UInt8(truncatingIfNeeded: acc >> 16))
                    out.append(UInt8(truncatingIfNeeded: acc >> 8))
                    out.append(UInt8(truncatingIfNeeded: acc))
                    acc = 0
                    n = 0
                }
            }
        }
        switch n {
        case 0:
            if padding != 0 { return nil }
        case 2:
            if padding != 0 && padding != 2 { return nil }
            out.append(UInt8(truncatingIfNeeded: acc >> 4))
        case 3:
            if padding != 0 && padding != 1 { return nil }
            out.append(UInt8(truncatingIfNeeded: acc >> 10))
            out.append(UInt8(truncatingIfNeeded: acc >> 2))
        default:
            return nil
        }
        return out
    }

    /// Decodes base64 from a String.
    package static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }
}
