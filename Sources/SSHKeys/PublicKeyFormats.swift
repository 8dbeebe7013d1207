public import SSHCrypto

/// One key found in a line of a public key, authorized_keys or known_hosts file.
public struct SSHPublicKeyLine: Sendable {
    /// What stood before the key: authorized_keys options or known_hosts host names (and marker), if any.
    public var prefix: String?
    /// The key.
    public var key: SSHPublicKey
    /// The text after the key, or nil when there is none.
    public var comment: String?
}

extension SSHPublicKey {
    /// Reads `type base64 [comment]` at the start of `text` (leading blanks skipped).
    /// Returns the key and the rest of the text after the base64, or nil if the text
    /// does not start with a known key type and valid key.
    static func readKey(at text: Substring.UTF8View) -> (SSHPublicKey, Substring.UTF8View)? {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        let t = text.drop(while: blank)
        let typeEnd = t.firstIndex(where: blank) ?? t.endIndex
        guard let type = SSHKeyType(sshName: t[t.startIndex..<typeEnd]) else { return nil }
        let b = t[typeEnd...].drop(while: blank)
        let blobEnd = b.firstIndex(where: blank) ?? b.endIndex
        guard let blob = Base64.decode(b[b.startIndex..<blobEnd]),
            let key = try? SSHPublicKey(wireBlob: blob), key.type == type
        else { return nil }
        return (key, b[blobEnd...])
    }

    /// Parses one line as ssh-keygen -l reads it: a bare key, or a key after
    /// authorized_keys options or known_hosts host names. Blank lines and `#`
    /// comments give nil, as do lines without a key.
    public static func parseLine(_ line: Substring) -> SSHPublicKeyLine? {
        var rest = line.utf8
        if let nl = rest.firstIndex(where: { $0 == 0x0A }) { rest = rest[rest.startIndex..<nl] }
        rest = rest.drop { $0 == 0x20 || $0 == 0x09 }
        guard let first = rest.first, first != UInt8(ascii: "#") else { return nil }

        var prefix: Substring? = nil
        var found = readKey(at: rest)
        if found == nil {
            // Skip the leading options or host names: a token in which quoted
            // spans may hold blanks (ssh-keygen.c do_fingerprint).
            var quoted = false
            var i = rest.startIndex
            while i < rest.endIndex {
                let c = rest[i]
                if !quoted && (c == 0x20 || c == 0x09) { break }
                if c == UInt8(ascii: "\\"), rest.index(after: i) < rest.endIndex,
                    rest[rest.index(after: i)] == UInt8(ascii: "\"")
                {
                    i = rest.index(after: i)
                } else if c == UInt8(ascii: "\"") {
                    quoted.toggle()
                }
                i = rest.index(after: i)
            }
            guard i < rest.endIndex else { return nil }
            prefix = Substring(rest[rest.startIndex..<i])
            found = readKey(at: rest[rest.index(after: i)...])
        }
        guard let (key, after) = found else { return nil }
        let tail = after.drop { $0 == 0x20 || $0 == 0x09 }
        var comment: String? = nil
        if let c = tail.first, c != UInt8(ascii: "#") { comment = String(Substring(tail)) }
        return SSHPublicKeyLine(prefix: prefix.map(String.init), key: key, comment: comment)
    }

    /// A key from an OpenSSH public key line (`ssh-ed25519 AAAA… comment`), options allowed before it.
    public init(openSSHLine line: String) throws(SSHKeyError) {
        guard let parsed = SSHPublicKey.parseLine(Substring(line)) else {
            throw SSHKeyError(.invalidFormat, "not an OpenSSH public key")
        }
        self = parsed.key
    }
}

/// RFC 4716, the SSH public key file format ("SSH2" / SECSH).
package enum RFC4716 {
    static let begin = "---- BEGIN SSH2 PUBLIC KEY ----"
    static let end = "---- END SSH2 PUBLIC KEY ----"

    /// Whether `text` holds an RFC 4716 public key.
    package static func matches(_ text: some Collection<UInt8>) -> Bool {
        Array(text).firstRange(of: Array(begin.utf8)) != nil
    }

    /// RFC 4716 §3: begin line, headers (`Tag: value`, a trailing `\` continues a
    /// header on the next line), base64 body, end line. Returns the key and the
    /// `Comment` header if present.
    package static func decode(_ text: some Collection<UInt8>) throws(SSHKeyError) -> (SSHPublicKey, String?) {
        let lines = String(decoding: Array(text), as: UTF8.self).split(
            separator: "\n",
            omittingEmptySubsequences: false
        )
        .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let start = lines.firstIndex(where: { $0.trimmingBlanks() == begin }) else {
            throw SSHKeyError(.invalidFormat, "not an RFC 4716 public key")
        }
        var body: [UInt8] = []
        var comment: String? = nil
        var i = lines.index(after: start)
        var sawEnd = false
        var inHeaders = true
        while i < lines.endIndex {
            let line = lines[i].trimmingBlanks()
            i += 1
            if line == end {
                sawEnd = true
                break
            }
            if inHeaders, line.contains(":") {
                var header = String(line)
                while header.hasSuffix("\\"), i < lines.endIndex {
                    header.removeLast()
                    header += lines[i].trimmingBlanks()
                    i += 1
                }
                let colon = header.firstIndex(of: ":")!
                let tag = header[..<colon].lowercased()
                var value = header[header.index(after: colon)...].trimmingBlanks()
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = value.dropFirst().dropLast()
                }
                if tag == "comment" { comment = String(value) }
                continue
            }
            inHeaders = false
            body += Array(line.utf8)
        }
        guard sawEnd else { throw SSHKeyError(.truncated, "the RFC 4716 key has no end line") }
        guard let blob = Base64.decode(body) else {
            throw SSHKeyError(.invalidFormat, "the RFC 4716 key's base64 is damaged")
        }
        return (try SSHPublicKey(wireBlob: blob), comment)
    }

    /// The key as ssh-keygen -e writes it: a `Comment:` header and base64 wrapped at 70 columns.
    /// The comment is cut to 60 characters, as ssh-keygen does to keep lines within RFC 4716's 72.
    package static func encode(_ key: SSHPublicKey, comment: String) -> String {
        let cut = String(decoding: Array(comment.utf8.prefix(60)), as: UTF8.self)
        return begin + "\n" + "Comment: \"\(cut)\"\n" + Base64.encode(key.wireBlob, lineWidth: 70) + end + "\n"
    }
}

extension StringProtocol {
    func trimmingBlanks() -> Substring {
        let s = Substring(self)
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = s.firstIndex(where: { !isBlank($0) }) else { return s[s.endIndex...] }
        let last = s.lastIndex(where: { !isBlank($0) })!
        return s[first...last]
    }
}

extension SSHPublicKey {
    /// The key in RFC 4716 format with `comment` as its Comment header.
    public func rfc4716Representation(comment: String) -> String { RFC4716.encode(self, comment: comment) }

    /// The key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`), as `ssh-keygen -e -m PKCS8` writes it.
    public func pkcs8Representation() throws(SSHKeyError) -> String {
        try wrapCrypto("encoding the public key") { () throws(CryptoError) in
            try PEMCodec.encodePublicKeySPKI(try self.openSSLKey())
        }
    }

    /// The key as `ssh-keygen -e -m PEM` writes it: PKCS#1 (`BEGIN RSA PUBLIC KEY`) for RSA,
    /// SubjectPublicKeyInfo for ECDSA.
    public func pemRepresentation() throws(SSHKeyError) -> String {
        if case .rsa(let key) = self.plainKey.backing {
            return try wrapCrypto("encoding the public key") { () throws(CryptoError) in
                try PEMCodec.encodeRSAPublicKeyPKCS1(key)
            }
        }
        return try self.pkcs8Representation()
    }

    /// A key from PEM or DER: SubjectPublicKeyInfo or PKCS#1 RSA.
    public init(pem data: some Collection<UInt8>) throws(SSHKeyError) {
        let decoded = try wrapCrypto("reading the public key") { () throws(CryptoError) in
            try PEMCodec.decodePublicKey(data)
        }
        switch decoded {
        case .rsa(let key):
            try SSHPublicKey.checkRSABits(key.bits)
            self.init(backing: .rsa(key))
        case .ecdsa(let key): self.init(backing: .ecdsa(key))
        case .ed25519(let pk): self.init(backing: .ed25519(pk))
        }
    }

    /// The key as OpenSSL holds it: a certificate's certified key; security keys and DSA
    /// keys have no such form here (ssh-keygen -e -m PKCS8 refuses security keys too).
    func openSSLKey() throws(CryptoError) -> OpenSSLPublicKey {
        switch self.plainKey.backing {
        case .ed25519(let pk): return .ed25519(publicKey: pk)
        case .rsa(let key): return .rsa(key)
        case .ecdsa(let key): return .ecdsa(key)
        case .skEd25519, .skECDSA, .dsa, .certificate:
            throw CryptoError(.unsupported, "\(self.type.displayName) keys have no PEM or PKCS#8 form")
        }
    }
}

extension SSHPrivateKey {
    /// A key from PEM or DER: PKCS#1, SEC1 or PKCS#8, encrypted or not. PEM keys carry no comment.
    public init(pem data: some Collection<UInt8>, passphrase: SecureBytes?) throws(SSHKeyError) {
        // Before OpenSSL runs the file's own KDF parameters: they may ask for hours of work.
        try PasswordKDFLimits.checkPKCS8(data)
        let decoded = try wrapCrypto("reading the private key") { () throws(CryptoError) in
            try PEMCodec.decodePrivateKey(data, passphrase: passphrase)
        }
        switch decoded {
        case .rsa(let key):
            try SSHPublicKey.checkRSABits(key.bits)
            self.init(backing: .rsa(key), comment: "")
        case .ecdsa(let key):
            self.init(backing: .ecdsa(key), comment: "")
        case .ed25519(let seed):
            let pk = try wrapCrypto("reading the Ed25519 key") { () throws(CryptoError) in
                try Ed25519.publicKey(seed: seed)
            }
            self.init(backing: .ed25519(seed: seed, publicKey: pk), comment: "")
        }
    }

    /// The key as PEM: PKCS#1/SEC1 (`.traditional`) or PKCS#8, encrypted when a non-empty passphrase is given.
    /// - Throws: `.unsupported` for Ed25519 in the traditional format, which has none.
    package func pemRepresentation(
        format: PEMPrivateKeyFormat,
        passphrase: SecureBytes? = nil
    ) throws(SSHKeyError) -> SecureBytes {
        let key: OpenSSLPrivateKey =
            switch self.backing {
            case .ed25519(let seed, _): .ed25519(seed: seed)
            case .rsa(let k): .rsa(k)
            case .ecdsa(let k): .ecdsa(k)
            }
        if case .ed25519 = self.backing, format == .traditional {
            throw SSHKeyError(
                .unsupported,
                "Ed25519 keys have no PEM (PKCS#1/SEC1) form; use PKCS#8 or the OpenSSH format"
            )
        }
        let pass = passphrase.flatMap { $0.isEmpty ? nil : $0 }
        // sshkey_private_to_blob_pem_pkcs8: PEM passphrases of 1–4 bytes are refused.
        if let pass, pass.count <= 4 {
            throw SSHKeyError(.invalidParameter, "passphrases for PEM and PKCS#8 keys must be at least five characters")
        }
        return try wrapCrypto("encoding the private key") { () throws(CryptoError) in
            try PEMCodec.encodePrivateKeySecure(key, format: format, passphrase: pass)
        }
    }
}
