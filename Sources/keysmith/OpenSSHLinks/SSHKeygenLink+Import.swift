import CommandLineText
import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ssh-keygen -i: a key in another format printed in OpenSSH's (do_convert_from).
extension SSHKeygenLink.Invocation {
    /// ssh-keygen -i [-m RFC4716|PKCS8|PEM] [-f FILE]: an RFC 4716 public key or an
    /// unencrypted SSH2 private key (RFC4716), a SubjectPublicKeyInfo (PKCS8) or a PKCS#1 RSA
    /// public key (PEM), printed as an OpenSSH public key line, or for the SSH2 private key
    /// as a PEM RSA private key.
    func convertFrom() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SSHKeygenLink.fatal("ssh-keygen: \(path): \(String(cString: strerror(errno)))")
        }
        let contents: [UInt8]
        do { contents = try KeyFileIO.readFile(path) } catch {
            // fopen(3) opens a directory, whose reads then end at once.
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw SSHKeygenLink.fatal("ssh-keygen: \(path): \(Self.systemReason(path))")
            }
            contents = []
        }
        switch self.conversionFormat {
        case "PKCS8":
            // OpenSSL 3's PEM_read_PUBKEY decodes a PKCS#1 RSA public key too.
            let line = try Self.importPEMPublicKey(contents, labels: ["PUBLIC KEY", "RSA PUBLIC KEY"]) {
                SSHKeygenLink.fatal("do_convert_from_pkcs8: \(path) is not a recognised public key format")
            }
            writeOut(line + "\n")
        case "PEM":
            let line = try Self.importPEMPublicKey(contents, labels: ["RSA PUBLIC KEY"]) {
                SSHKeygenLink.fatal("do_convert_from_pem: unrecognised raw private key format")
            }
            writeOut(line + "\n")
        default:
            let (blob, isPrivate) = try Self.ssh2Body(contents)
            if isPrivate {
                let key = try Self.ssh2PrivateKey(blob)
                let pem: SecureBytes
                do { pem = try key.pemRepresentation(format: .traditional) } catch {
                    throw SSHKeygenLink.fatal("key write failed")
                }
                pem.withUnsafeBytes { writeOut(String(decoding: $0, as: UTF8.self)) }
            } else {
                let key: SSHPublicKey
                do { key = try SSHPublicKey(wireBlob: blob) } catch {
                    throw SSHKeygenLink.fatal("do_convert_from_ssh2: parse key: \(Self.fromBlobReason(blob, error))")
                }
                writeOut(key.openSSHLine(comment: nil) + "\n")
            }
        }
        return 0
    }

    /// do_convert_from_ssh2's reading of the file: lines that begin with `----` or hold `: `
    /// are headers (a BEGIN SSH2 ENCRYPTED PRIVATE KEY line marks a private key, a line with
    /// ` END ` ends the reading), a line ending in `\` hides the next body line, the rest is
    /// base64 joined up. Returns the decoded bytes and whether the key is private.
    static func ssh2Body(_ contents: [UInt8]) throws -> (blob: [UInt8], isPrivate: Bool) {
        var encoded: [UInt8] = []
        var isPrivate = false
        var escaped = 0
        var at = 0
        // get_line: a line ends at LF, CR or CR LF; the last one, unended, is never returned.
        lines: while true {
            var line: [UInt8] = []
            var ended = false
            while at < contents.count {
                let c = contents[at]
                at += 1
                // get_line's buffer is 1024 bytes with its terminating NUL.
                if line.count >= 1023 { throw SSHKeygenLink.fatal("input line too long.") }
                if c == 0x0A {
                    ended = true
                    break
                }
                if c == 0x0D {
                    if at < contents.count && contents[at] == 0x0A { at += 1 }
                    ended = true
                    break
                }
                line.append(c)
            }
            guard ended else { break }
            if line.last == UInt8(ascii: "\\") { escaped += 1 }
            // The string functions stop at a NUL.
            let text = Array(line.prefix { $0 != 0 })
            if text.starts(with: Array("----".utf8)) || text.firstRange(of: Array(": ".utf8)) != nil {
                if text.firstRange(of: Array("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----".utf8)) != nil {
                    isPrivate = true
                }
                if text.firstRange(of: Array(" END ".utf8)) != nil { break lines }
                continue
            }
            if escaped > 0 {
                escaped -= 1
                continue
            }
            // strlcat into an 8096-byte buffer.
            encoded += text.prefix(max(0, 8095 - encoded.count))
        }
        let n = encoded.count
        if n % 4 == 3 && encoded.suffix(3).allSatisfy({ $0 == UInt8(ascii: "=") }) { encoded.removeLast(3) }
        guard let blob = Self.b64pton(encoded) else {
            throw SSHKeygenLink.fatal("do_convert_from_ssh2: base64 decode: invalid format")
        }
        return (blob, isPrivate)
    }

    /// b64_pton as OpenSSH's sshbuf_b64tod runs it: blanks skipped anywhere, padding only
    /// where a group ends with it, nothing but blanks after it, and the unused bits zero.
    static func b64pton(_ text: [UInt8]) -> [UInt8]? {
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): 62
            case UInt8(ascii: "/"): 63
            default: nil
            }
        }
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }
        var out: [UInt8] = []
        var state = 0
        var pending: UInt32 = 0
        var i = 0
        while i < text.count {
            let c = text[i]
            i += 1
            if isSpace(c) { continue }
            if c == UInt8(ascii: "=") {
                switch state {
                case 0, 1: return nil
                case 2:
                    while i < text.count && isSpace(text[i]) { i += 1 }
                    guard i < text.count && text[i] == UInt8(ascii: "=") else { return nil }
                    i += 1
                default: break
                }
                guard text[i...].allSatisfy(isSpace), pending == 0 else { return nil }
                return out
            }
            guard let v = value(c) else { return nil }
            switch state {
            case 0: pending = v << 2
            case 1:
                out.append(UInt8(pending | v >> 4))
                pending = (v & 0x0F) << 4
            case 2:
                out.append(UInt8(pending | v >> 2))
                pending = (v & 0x03) << 6
            default:
                out.append(UInt8(pending | v))
                pending = 0
            }
            state = (state + 1) % 4
        }
        return state == 0 ? out : nil
    }

    /// ssh_err's text for why sshkey_fromb refused `blob`.
    static func fromBlobReason(_ blob: [UInt8], _ error: SSHKeyError) -> String {
        var reader = SSHWireReader(blob)
        guard let name = try? reader.readString(), !name.contains(0) else { return "invalid format" }
        if SSHKeyType(sshName: name) == nil { return "unknown or unsupported key type" }
        return error.code == .truncated ? "incomplete message" : "invalid format"
    }

    /// The OpenSSH public key line of the first PEM block of `contents` with one of `labels`,
    /// as OpenSSL's PEM_read_PUBKEY and PEM_read_RSAPublicKey (RSA PUBLIC KEY) find it and
    /// sshkey_write writes it: RSA keys and ECDSA keys on OpenSSH's curves;
    /// do_convert_from_pkcs8's "unsupported pubkey type" for the key types it names by NID.
    static func importPEMPublicKey(
        _ contents: [UInt8],
        labels: [String],
        unreadable: () -> SSHKeygenLink.Exit
    ) throws -> String {
        let blocks = labels.compactMap { label -> Range<Int>? in
            var from = 0
            while let start = contents[from...].firstRange(of: Array("-----BEGIN \(label)-----".utf8)) {
                from = start.upperBound
                guard start.lowerBound == 0 || contents[start.lowerBound - 1] == 0x0A else { continue }
                guard let stop = contents[start.upperBound...].firstRange(of: Array("-----END \(label)-----".utf8))
                else { return nil }
                return start.lowerBound..<stop.upperBound
            }
            return nil
        }
        guard let block = blocks.min(by: { $0.lowerBound < $1.lowerBound }) else { throw unreadable() }
        let pem = Array(contents[block] + [0x0A])
        let decoded: OpenSSLPublicKey
        do { decoded = try PEMCodec.decodePublicKey(pem) } catch  where error.code == .unsupported {
            // The algorithm's OID in the SubjectPublicKeyInfo, and EVP_PKEY_base_id's NID for it.
            let der = Self.b64pton(Array(pem.split(separator: 0x0A).dropFirst().dropLast().joined())) ?? []
            let named: [(oid: [UInt8], nid: Int)] = [
                ([0x2B, 0x65, 0x6E], 1034), ([0x2B, 0x65, 0x6F], 1035), ([0x2B, 0x65, 0x71], 1088),
            ]
            for (oid, nid) in named where der.firstRange(of: [0x06, 0x03] + oid) != nil {
                throw SSHKeygenLink.fatal("do_convert_from_pkcs8: unsupported pubkey type \(nid)")
            }
            let isDSA = der.firstRange(of: [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01]) != nil
            throw SSHKeygenLink.Exit(
                status: OpenSSHLink.notImplemented(
                    .sshKeygen,
                    isDSA ? "-i of DSA keys" : "-i of ECDSA keys on curves other than P-256, P-384 and P-521"
                )
            )
        } catch  where error.code == .invalidKey {
            // Read, but outside what keysmith's RSA keys allow (RSAKey's checks).
            throw SSHKeygenLink.Exit(
                status: OpenSSHLink.notImplemented(.sshKeygen, "-i of RSA keys outside 1024 to 16384 bits")
            )
        } catch {
            throw unreadable()
        }
        switch decoded {
        case .rsa(let key):
            var w = SSHWireWriter()
            w.writeString("ssh-rsa")
            w.writeMPInt(key.e)
            w.writeMPInt(key.n)
            return "ssh-rsa " + Base64.encode(w.take())
        case .ed25519:
            // EVP_PKEY_base_id of an Ed25519 key: NID_ED25519.
            throw SSHKeygenLink.fatal("do_convert_from_pkcs8: unsupported pubkey type 1087")
        case .ecdsa:
            do { return try SSHPublicKey(pem: pem).openSSHLine(comment: nil) } catch { throw unreadable() }
        }
    }

    /// do_convert_private_ssh2: an unencrypted SSH2 (ssh.com) RSA private key:
    /// uint32 magic 0x3f6ff9eb, uint32 length, string type, string cipher "none", three
    /// uint32 (the last the bit count of e, whose bytes follow: three of them when the
    /// first is below 30, else one), then d, n, iqmp, q and p, each a uint32 bit count and
    /// its bytes.
    static func ssh2PrivateKey(_ blob: [UInt8]) throws -> SSHPrivateKey {
        var r = SSH2Reader(bytes: blob[...])
        func failed() -> SSHKeygenLink.Exit {
            SSHKeygenLink.fatal("do_convert_from_ssh2: private key conversion failed")
        }
        let magic = try r.uint32("parse magic")
        guard magic == 0x3f6f_f9eb else {
            SSHKeygenLink.log("bad magic 0x\(String(magic, radix: 16)) != 0x3f6ff9eb")
            throw failed()
        }
        _ = try r.uint32("parse")
        let type = try r.cstring("parse")
        let cipher = try r.cstring("parse")
        for _ in 0..<3 { _ = try r.uint32("parse") }
        guard cipher == "none" else {
            SSHKeygenLink.log("unsupported cipher \(cipher)")
            throw failed()
        }
        if type.contains("dsa") {
            throw SSHKeygenLink.Exit(status: OpenSSHLink.notImplemented(.sshKeygen, "-i of SSH2 DSA private keys"))
        }
        guard type.contains("rsa") else { throw failed() }
        let e1 = try r.byte("parse RSA")
        var e = [e1]
        if e1 < 30 { e += [try r.byte("parse RSA"), try r.byte("parse RSA")] }
        let d = try r.bignumBits()
        let n = try r.bignumBits()
        let iqmp = try r.bignumBits()
        let q = try r.bignumBits()
        let p = try r.bignumBits()
        if !r.bytes.isEmpty {
            SSHKeygenLink.log("do_convert_private_ssh2: remaining bytes in key blob \(r.bytes.count)")
        }
        let modulus = n.drop { $0 == 0 }
        let bits = modulus.isEmpty ? 0 : (modulus.count - 1) * 8 + (8 - modulus.first!.leadingZeroBitCount)
        if bits < 1024 || bits > 16384 {
            SSHKeygenLink.log("do_convert_private_ssh2: signing with converted key failed: Invalid key length")
            throw failed()
        }
        var w = SSHWireWriter()
        w.writeString("ssh-rsa")
        for number in [n, e, d, iqmp, p, q] {
            w.writeMPInt(number)
        }
        var reader = SSHWireReader(w.take())
        do { return try SSHPrivateKey.readPrivateFields(from: &reader) } catch {
            SSHKeygenLink.log("do_convert_private_ssh2: verification with converted key failed: incorrect signature")
            throw failed()
        }
    }

    /// The reads of do_convert_private_ssh2, fatal as its fatal_fr calls are.
    struct SSH2Reader {
        var bytes: ArraySlice<UInt8>

        mutating func take(
            _ count: Int,
            _ what: String,
            in function: String = "do_convert_private_ssh2"
        ) throws -> ArraySlice<UInt8> {
            guard self.bytes.count >= count else {
                throw SSHKeygenLink.fatal("\(function): \(what): incomplete message")
            }
            defer { self.bytes = self.bytes.dropFirst(count) }
            return self.bytes.prefix(count)
        }

        mutating func byte(_ what: String) throws -> UInt8 { try self.take(1, what).first! }

        mutating func uint32(_ what: String, in function: String = "do_convert_private_ssh2") throws -> UInt32 {
            try self.take(4, what, in: function).reduce(0) { $0 << 8 | UInt32($1) }
        }

        /// sshbuf_get_cstring: a string without a NUL in it.
        mutating func cstring(_ what: String) throws -> String {
            let length = Int(try self.uint32(what))
            let text = try self.take(length, what)
            guard !text.contains(0) else {
                throw SSHKeygenLink.fatal("do_convert_private_ssh2: \(what): invalid format")
            }
            return String(decoding: text, as: UTF8.self)
        }

        /// buffer_get_bignum_bits: a uint32 count of bits, then (bits + 7) / 8 bytes.
        mutating func bignumBits() throws -> [UInt8] {
            let bits = try self.uint32("parse", in: "buffer_get_bignum_bits")
            let count = Int((bits &+ 7) / 8)
            guard self.bytes.count >= count else {
                throw SSHKeygenLink.fatal(
                    "buffer_get_bignum_bits: input buffer too small: need \(count) have \(self.bytes.count)"
                )
            }
            return Array(try self.take(count, "consume", in: "buffer_get_bignum_bits"))
        }
    }
}
