import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

/// Key files whose passphrase KDF asks for hours of CPU or gigabytes of memory are refused
/// at once, with one sentence, before any work is done; real files of every tool still read.
@Suite("caps on the work a key file's KDF may ask for")
struct KDFLimitsTests {
    // MARK: openssh-key-v1

    /// An ssh-keygen key encrypted with 4 bcrypt rounds, its rounds field set to `rounds`.
    static func openSSHKey(rounds: UInt32, in dir: TempDir) throws -> [UInt8] {
        let path = dir.path("k\(rounds)")
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".pub")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "secret", "-a", "4", "-C", "", "-f", path]).checked("ssh-keygen")
        let text = try readText(path)
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        var blob = [UInt8](Data(base64Encoded: body)!)
        // magic (15), string cipher, string kdfname, string kdfoptions = (string salt, uint32 rounds).
        var i = 15
        for _ in 0..<2 { i += 4 + Int(blob[i..<i + 4].reduce(0) { $0 << 8 | UInt32($1) }) }
        i += 4
        i += 4 + Int(blob[i..<i + 4].reduce(0) { $0 << 8 | UInt32($1) })
        #expect(blob[i..<i + 4] == [0, 0, 0, 4][...], "the rounds field is where PROTOCOL.key puts it")
        blob.replaceSubrange(i..<i + 4, with: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: rounds >> $0) })
        let armored =
            "-----BEGIN OPENSSH PRIVATE KEY-----\n" + Data(blob).base64EncodedString(options: .lineLength64Characters)
            + "\n-----END OPENSSH PRIVATE KEY-----\n"
        return Array(armored.utf8)
    }

    @Test("openssh-key-v1: more than 1024 bcrypt rounds is refused before any passphrase is asked for")
    func bcryptRounds() throws {
        let dir = try TempDir()
        let pass = SecureBytes(utf8: "secret")
        // The unchanged file (4 rounds) reads: the patching itself breaks nothing.
        let plain = try Self.openSSHKey(rounds: 4, in: dir)
        _ = try SSHPrivateKey(fileContents: plain, passphrase: pass)
        // At the cap the file is still an encrypted key (the header is accepted; nothing is derived here).
        #expect(SSHPrivateKey.isEncrypted(fileContents: try Self.openSSHKey(rounds: 1024, in: dir)))
        for rounds: UInt32 in [1025, 1 << 20, .max] {
            let hostile = try Self.openSSHKey(rounds: rounds, in: dir)
            // Not "encrypted": reading it must report the refusal rather than prompt first.
            #expect(!SSHPrivateKey.isEncrypted(fileContents: hostile))
            for passphrase in [nil, pass] {
                #expect {
                    _ = try SSHPrivateKey(fileContents: hostile, passphrase: passphrase)
                } throws: { error in
                    (error as? SSHKeyError)?.code == .unsupported && "\(error)".contains("\(rounds) bcrypt rounds")
                }
            }
        }
        let path = dir.path("hostile")
        try writeText(path, String(decoding: try Self.openSSHKey(rounds: .max, in: dir), as: UTF8.self))
        let r = try runProcess(keysmithPath, ["public", "-f", path, "-P", "secret"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("4294967295 bcrypt rounds"), "\(r)")
        // Writing is bounded the same way: keysmith never writes a file it would refuse to read.
        let w = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ed25519", "-N", "x", "-a", "1025", "-f", path + "2"]
        )
        #expect(w.status != 0 && w.stderr.contains("between 1 and 1024"), "\(w)")
        #expect(!FileManager.default.fileExists(atPath: path + "2"))
    }

    // MARK: PKCS#8

    /// A DER element.
    static func der(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var length: [UInt8]
        if contents.count < 0x80 {
            length = [UInt8(contents.count)]
        } else {
            var n = contents.count
            length = []
            while n > 0 {
                length.insert(UInt8(n & 0xFF), at: 0)
                n >>= 8
            }
            length.insert(0x80 | UInt8(length.count), at: 0)
        }
        return [tag] + length + contents
    }

    static func integer(_ magnitude: [UInt8]) -> [UInt8] { der(0x02, magnitude) }
    static func integer(_ v: UInt64) -> [UInt8] {
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) }
        while bytes.count > 1 && bytes[0] == 0 && bytes[1] < 0x80 { bytes.removeFirst() }
        if bytes[0] >= 0x80 { bytes.insert(0, at: 0) }
        return der(0x02, bytes)
    }
    static func oid(_ bytes: [UInt8]) -> [UInt8] { der(0x06, bytes) }
    static func seq(_ parts: [UInt8]...) -> [UInt8] { der(0x30, parts.flatMap { $0 }) }

    static let pbes2OID: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D]
    static let pbkdf2OID: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C]
    static let scryptOID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x04, 0x0B]
    static let hmacSHA256OID: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x09]
    static let aes256CBCOID: [UInt8] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A]
    /// pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 §C).
    static let pkcs12TripleDESOID: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01, 0x03]

    /// EncryptedPrivateKeyInfo with `algorithm` and 48 bytes of (random) ciphertext.
    static func epki(_ algorithm: [UInt8]) -> [UInt8] {
        seq(algorithm, der(0x04, (0..<48).map { _ in UInt8.random(in: 0...255) }))
    }

    /// PBES2 with PBKDF2 (hmacWithSHA256) and AES-256-CBC, laid out as OpenSSL writes it.
    static func pbkdf2(iterations: [UInt8]) -> [UInt8] {
        let salt = der(0x04, Array(repeating: 7, count: 8))
        let prf = seq(oid(hmacSHA256OID), [0x05, 0x00])
        let kdf = seq(oid(pbkdf2OID), seq(salt, iterations, prf))
        let scheme = seq(oid(aes256CBCOID), der(0x04, Array(repeating: 1, count: 16)))
        return epki(seq(oid(pbes2OID), seq(kdf, scheme)))
    }

    static func scrypt(n: UInt64, r: UInt64, p: UInt64) -> [UInt8] {
        let kdf = seq(oid(scryptOID), seq(der(0x04, [1, 2, 3, 4, 5, 6, 7, 8]), integer(n), integer(r), integer(p)))
        let scheme = seq(oid(aes256CBCOID), der(0x04, Array(repeating: 1, count: 16)))
        return epki(seq(oid(pbes2OID), seq(kdf, scheme)))
    }

    static func pem(_ der: [UInt8]) -> [UInt8] {
        Array(
            ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters)
                + "\n-----END ENCRYPTED PRIVATE KEY-----\n").utf8
        )
    }

    /// Reading `file` with a passphrase: the error's code and text.
    static func readError(_ file: [UInt8]) -> (SSHKeyError.Code, String)? {
        do {
            _ = try SSHPrivateKey(fileContents: file, passphrase: SecureBytes(utf8: "secret"))
            return nil
        } catch {
            return (error.code, error.message)
        }
    }

    @Test("PKCS#8 PBKDF2 and PKCS#12 PBE: more than 10,000,000 iterations is refused, PEM or DER")
    func pbkdf2Iterations() throws {
        let hostile: [(file: [UInt8], shown: String)] = [
            (Self.pbkdf2(iterations: Self.integer(10_000_001)), "10000001"),
            (Self.pbkdf2(iterations: Self.integer(1 << 40)), "1099511627776"),
            (Self.pbkdf2(iterations: Self.integer([0x01] + Array(repeating: 0, count: 12))), "beyond 2^63"),
            (Self.pbkdf2(iterations: Self.integer([0x80])), "-128"),
            (
                Self.epki(
                    Self.seq(Self.oid(Self.pkcs12TripleDESOID), Self.seq(Self.der(0x04, [1]), Self.integer(1 << 31)))
                ),
                "2147483648"
            ),
        ]
        for (der, shown) in hostile {
            for file in [der, Self.pem(der)] {
                let error = Self.readError(file)
                #expect(error?.0 == .unsupported, "\(String(describing: error))")
                #expect(
                    error?.1.contains("iteration count \(shown) is outside 1 to 10000000") == true,
                    "\(String(describing: error))"
                )
                #expect(!SSHPrivateKey.isEncrypted(fileContents: file))
            }
        }
        // The same layout with OpenSSL's count passes the check and fails only on the (random) ciphertext.
        for file in [
            Self.pbkdf2(iterations: Self.integer(2048)), Self.pem(Self.pbkdf2(iterations: Self.integer(2048))),
        ] {
            let error = Self.readError(file)
            #expect(error != nil && error?.0 != .unsupported, "\(String(describing: error))")
            #expect(SSHPrivateKey.isEncrypted(fileContents: file))
        }
    }

    @Test("PKCS#8 scrypt: N·r·p above 2^22 or more than 32 MiB is refused; OpenSSL's own scrypt files read")
    func scryptParameters() throws {
        for (n, r, p) in [
            (UInt64(1) << 20, UInt64(8), UInt64(1)), (1 << 14, 8, 64), (2, 1, 1 << 21), (1 << 62, 1 << 62, 1),
        ] {
            let error = Self.readError(Self.pem(Self.scrypt(n: n, r: r, p: p)))
            #expect(
                error?.0 == .unsupported && error?.1.contains("scrypt parameters") == true,
                "\(n) \(r) \(p): \(String(describing: error))"
            )
        }
        let within = Self.readError(Self.pem(Self.scrypt(n: 1 << 14, r: 8, p: 1)))
        #expect(within != nil && within?.0 != .unsupported, "\(String(describing: within))")

        // Real files from OpenSSL: its scrypt default (N 16384, r 8, p 1) reads; p 33 (N·r·p just over 2^22) does not.
        let dir = try TempDir()
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-m", "PEM", "-f", dir.path("ec")]).checked("ssh-keygen")
        for (p, readable) in [(1, true), (33, false)] {
            let out = dir.path("scrypt\(p).pem")
            _ = try runProcess(
                "/usr/bin/openssl",
                [
                    "pkcs8", "-topk8", "-in", dir.path("ec"), "-out", out, "-passout", "pass:secret", "-scrypt",
                    "-scrypt_N", "16384", "-scrypt_r", "8", "-scrypt_p", String(p),
                ]
            ).checked("openssl pkcs8")
            let error = Self.readError(Array(try readBytes(out)))
            if readable {
                #expect(error == nil, "\(String(describing: error))")
            } else {
                #expect(error?.0 == .unsupported && error?.1.contains("p 33") == true, "\(String(describing: error))")
                let r = try runProcess(keysmithPath, ["public", "-f", out, "-P", "secret"])
                #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1, "\(r)")
                #expect(r.stderr.contains("scrypt parameters (N 16384, r 8, p 33)"), "\(r)")
            }
        }
    }

    // MARK: BER

    /// `der` with every constructed element re-encoded with a BER indefinite length (X.690
    /// §8.1.3.6: 0x80, the contents, two zero octets) and each primitive element passed through `replace`.
    static func indefinite(_ der: ArraySlice<UInt8>, _ replace: ([UInt8]) -> [UInt8] = { $0 }) -> [UInt8] {
        var rest = der
        var out: [UInt8] = []
        while let tag = rest.popFirst(), let first = rest.popFirst() {
            var length = Int(first)
            var header = [tag, first]
            if first & 0x80 != 0 {
                let octets = Int(first & 0x7F)
                header += rest.prefix(octets)
                length = rest.prefix(octets).reduce(0) { $0 << 8 | Int($1) }
                rest = rest.dropFirst(octets)
            }
            let contents = rest.prefix(length)
            rest = rest.dropFirst(length)
            if tag & 0x20 != 0 {
                out += [tag, 0x80] + indefinite(contents, replace) + [0, 0]
            } else {
                out += replace(header + contents)
            }
        }
        return out
    }

    @Test("PKCS#8 in BER with indefinite lengths, which OpenSSL decrypts, is bounded the same way")
    func berIndefiniteLengths() throws {
        let dir = try TempDir()
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-m", "PEM", "-f", dir.path("ec")]).checked("ssh-keygen")
        _ = try runProcess(
            "/usr/bin/openssl",
            [
                "pkcs8", "-topk8", "-in", dir.path("ec"), "-outform", "DER", "-out", dir.path("ec.der"),
                "-passout", "pass:secret", "-iter", "2048",
            ]
        ).checked("openssl pkcs8")
        let der = Array(try readBytes(dir.path("ec.der")))
        func ber(iterations: UInt64) -> [UInt8] {
            Self.indefinite(der[...]) { $0 == Self.integer(2048) ? Self.integer(iterations) : $0 }
        }
        // OpenSSL 3 decrypts the BER form with its own count: the hostile forms below are files it would run.
        let readable = ber(iterations: 2048)
        #expect(readable != der && readable.contains(0x80))
        try Data(readable).write(to: URL(fileURLWithPath: dir.path("ber.der")))
        let openssl = try runProcess(
            "/usr/bin/openssl",
            ["pkcs8", "-inform", "DER", "-in", dir.path("ber.der"), "-passin", "pass:secret"]
        )
        #expect(openssl.status == 0 && openssl.stdout.contains("BEGIN PRIVATE KEY"), "\(openssl)")
        for file in [readable, Self.pem(readable)] {
            let error = Self.readError(file)
            #expect(error == nil, "\(String(describing: error))")
        }

        let hostile: [(file: [UInt8], shown: String)] = [
            (ber(iterations: 10_000_001), "iteration count 10000001 is outside"),
            (ber(iterations: 1 << 40), "iteration count 1099511627776 is outside"),
            (Self.indefinite(Self.scrypt(n: 1 << 20, r: 8, p: 1)[...]), "scrypt parameters (N 1048576, r 8, p 1)"),
        ]
        for (der, shown) in hostile {
            for file in [der, Self.pem(der)] {
                #expect(throws: SSHKeyError.self) { try PasswordKDFLimits.checkPKCS8(file) }
                let error = Self.readError(file)
                #expect(error?.0 == .unsupported && error?.1.contains(shown) == true, "\(String(describing: error))")
                #expect(!SSHPrivateKey.isEncrypted(fileContents: file))
            }
        }

        // From the command line: one sentence, exit 1, at once. OpenSSL would spend about 20 minutes
        // per output block on 2,000,000,000 iterations (it reads the count into an int, so 2^40 would fail).
        let path = dir.path("hostile.der")
        try Data(ber(iterations: 2_000_000_000)).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let clock = ContinuousClock()
        let start = clock.now
        let r = try runProcess("/usr/bin/timeout", ["60", keysmithPath, "public", "-f", path, "-P", "secret"])
        let elapsed = clock.now - start
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("2000000000"), "\(r)")
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }

    @Test("PKCS#8 whose KDF parameters OpenSSL cannot read, or cannot be seen before decrypting, is refused")
    func unreadableParameters() throws {
        // PBES2 with PBKDF2 whose parameters are not a SEQUENCE.
        let salt = Self.der(0x04, Array(repeating: 7, count: 8))
        let scheme = Self.seq(Self.oid(Self.aes256CBCOID), Self.der(0x04, Array(repeating: 1, count: 16)))
        let broken = Self.epki(
            Self.seq(Self.oid(Self.pbes2OID), Self.seq(Self.seq(Self.oid(Self.pbkdf2OID), salt), scheme))
        )
        // Legacy PEM encryption around an EncryptedPrivateKeyInfo: OpenSSL would decrypt the
        // outer layer and then run whatever KDF is inside.
        let legacy = Array(
            ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                + "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
                + Data(Self.pbkdf2(iterations: Self.integer(2048))).base64EncodedString(
                    options: .lineLength64Characters
                )
                + "\n-----END ENCRYPTED PRIVATE KEY-----\n").utf8
        )
        for file in [broken, Self.pem(broken), legacy] {
            let error = Self.readError(file)
            #expect(
                error?.0 == .unsupported && error?.1.contains("the work it asks for is unknown") == true,
                "\(String(describing: error))"
            )
        }
    }
}
