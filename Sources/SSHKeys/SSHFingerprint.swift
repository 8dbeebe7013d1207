public import SSHCrypto

/// A key fingerprint: a hash of the key's wire encoding.
public struct SSHFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// The hash function.
    public let hash: HashFunction
    /// The raw digest.
    public let digest: [UInt8]

    public init(hash: HashFunction, digest: [UInt8]) {
        self.hash = hash
        self.digest = digest
    }

    /// The name ssh-keygen puts before the digest and in randomart footers.
    public var hashName: String {
        switch self.hash {
        case .md5: "MD5"
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        case .sha384: "SHA384"
        case .sha512: "SHA512"
        }
    }

    /// As ssh-keygen prints it: `SHA256:` and unpadded base64, or `MD5:` and hex pairs joined by colons.
    public var description: String {
        switch self.hash {
        case .md5:
            return "MD5:" + self.digest.map(hex2).joined(separator: ":")
        default:
            var b64 = Base64.encode(self.digest)
            while b64.hasSuffix("=") { b64.removeLast() }
            return self.hashName + ":" + b64
        }
    }

    /// The "bubble babble" encoding of the digest (ssh-keygen -B uses SHA-1).
    public var bubbleBabble: String {
        let vowels = Array("aeiouy".utf8)
        let consonants = Array("bcdfghklmnprstvzx".utf8)
        let d = self.digest.map(Int.init)
        let rounds = d.count / 2 + 1
        var seed = 1
        var out: [UInt8] = [UInt8(ascii: "x")]
        for i in 0..<rounds {
            if i + 1 < rounds || d.count % 2 != 0 {
                let b0 = d[2 * i]
                out.append(vowels[((b0 >> 6) & 3 + seed) % 6])
                out.append(consonants[(b0 >> 2) & 15])
                out.append(vowels[((b0 & 3) + seed / 6) % 6])
                if i + 1 < rounds {
                    let b1 = d[2 * i + 1]
                    out.append(consonants[(b1 >> 4) & 15])
                    out.append(UInt8(ascii: "-"))
                    out.append(consonants[b1 & 15])
                    seed = (seed * 5 + b0 * 7 + b1) % 36
                }
            } else {
                out.append(vowels[seed % 6])
                out.append(consonants[16])
                out.append(vowels[seed / 6])
            }
        }
        out.append(UInt8(ascii: "x"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The "drunken bishop" picture ssh-keygen prints with -v, without a final newline.
    ///
    /// `title` is the key's `TYPE BITS`, e.g. `ED25519 256`.
    public func randomArt(title: String) -> String {
        let width = 17
        let height = 9
        let symbols = Array(" .o+=*BOX@%&#/^SE".utf8)
        let top = symbols.count - 1
        var field = [[Int]](repeating: [Int](repeating: 0, count: height), count: width)
        var x = width / 2
        var y = height / 2
        for byte in self.digest {
            var input = Int(byte)
            for _ in 0..<4 {
                x += (input & 1) != 0 ? 1 : -1
                y += (input & 2) != 0 ? 1 : -1
                x = min(max(x, 0), width - 1)
                y = min(max(y, 0), height - 1)
                if field[x][y] < top - 2 { field[x][y] += 1 }
                input >>= 2
            }
        }
        field[width / 2][height / 2] = top - 1
        field[x][y] = top

        func border(_ label: String) -> [UInt8] {
            var text = Array(label.utf8)
            // The C buffer holds width - 1 characters and a NUL.
            if text.count > width - 1 { text = Array(text.prefix(width - 1)) }
            let left = (width - text.count) / 2
            var line: [UInt8] = [UInt8(ascii: "+")]
            line += [UInt8](repeating: UInt8(ascii: "-"), count: left)
            line += text
            line += [UInt8](repeating: UInt8(ascii: "-"), count: width - left - text.count)
            line.append(UInt8(ascii: "+"))
            return line
        }

        // ssh-keygen falls back to "[TYPE]" when "[TYPE BITS]" does not fit.
        var label = "[\(title)]"
        if label.utf8.count > width, let type = title.split(separator: " ").first { label = "[\(type)]" }
        var out = border(label)
        out.append(UInt8(ascii: "\n"))
        for row in 0..<height {
            out.append(UInt8(ascii: "|"))
            for col in 0..<width { out.append(symbols[min(field[col][row], top)]) }
            out.append(UInt8(ascii: "|"))
            out.append(UInt8(ascii: "\n"))
        }
        out += border("[\(self.hashName)]")
        return String(decoding: out, as: UTF8.self)
    }
}
