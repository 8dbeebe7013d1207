import Foundation
import KeysmithTestSupport
import Testing

/// Keys keysmith generates are read by the real ssh-keygen with the same key and fingerprint.
@Suite("generate: ssh-keygen reads what we write")
struct GenerateInteropTests {
    struct Variant: CustomTestStringConvertible, Sendable {
        var type: String
        var bits: String?
        var passphrase: String?
        var cipher: String?
        var format: String?
        var rounds: String = "4"
        var testDescription: String {
            [type, bits, passphrase == nil ? "plain" : "passphrase", cipher, format].compactMap { $0 }.joined(
                separator: " "
            )
        }
    }

    static let variants: [Variant] = {
        var v: [Variant] = []
        for (t, b) in [("ed25519", nil), ("rsa", "2048"), ("ecdsa", "256"), ("ecdsa", "384"), ("ecdsa", "521")]
            as [(String, String?)]
        {
            v.append(Variant(type: t, bits: b))
            v.append(Variant(type: t, bits: b, passphrase: "correct horse"))
            if t != "ed25519" {
                for m in ["pem", "pkcs8"] {
                    v.append(Variant(type: t, bits: b, format: m))
                    v.append(Variant(type: t, bits: b, passphrase: "pw for \(m)", format: m))
                }
            }
        }
        for cipher in [
            "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc",
            "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "3des-cbc",
        ] {
            v.append(Variant(type: "ed25519", passphrase: "s3cret", cipher: cipher))
        }
        v.append(Variant(type: "rsa", bits: "1024", passphrase: "x", cipher: "aes256-gcm@openssh.com"))
        v.append(Variant(type: "rsa", bits: "3072", passphrase: "default rounds", rounds: "24"))
        return v
    }()

    @Test("generated key is read by ssh-keygen -y and -l", arguments: variants)
    func generatedKeyReadByOpenSSH(_ v: Variant) throws {
        let dir = try TempDir()
        let key = dir.path("id")
        var args = [
            "generate", "-q", "-t", v.type, "-f", key, "-C", "test comment é", "-N", v.passphrase ?? "", "-a", v.rounds,
        ]
        if let b = v.bits { args += ["-b", b] }
        if let c = v.cipher { args += ["-Z", c] }
        if let m = v.format { args += ["-m", m] }
        let gen = try keysmith(arguments: args)
        #expect(gen.status == 0, "\(gen)")
        #expect(gen.stdout.isEmpty && gen.stderr.isEmpty, "-q prints nothing: \(gen)")
        #expect(try fileMode(key) == 0o600)
        #expect(try fileMode(key + ".pub") == 0o644)

        let pub = try readText(key + ".pub")
        #expect(pub.hasSuffix(" test comment é\n"))

        // ssh-keygen -y reads any cipher, rounds and format: check the ones asked for were written.
        let written = try readText(key)
        switch v.format {
        case nil:
            let header = try #require(OpenSSHKeyHeader(written), "\(written)")
            let encrypted = v.passphrase != nil
            #expect(header.cipher == (encrypted ? v.cipher ?? "aes256-ctr" : "none"))
            #expect(header.kdf == (encrypted ? "bcrypt" : "none"))
            #expect(header.rounds == (encrypted ? UInt32(v.rounds) : nil))
        case "pem":
            let label = v.type == "rsa" ? "RSA PRIVATE KEY" : "EC PRIVATE KEY"
            #expect(written.hasPrefix("-----BEGIN \(label)-----\n"), "\(written)")
            #expect(written.hasSuffix("-----END \(label)-----\n"), "\(written)")
            // RFC 1421 encapsulated headers: present exactly when there is a passphrase.
            #expect(written.contains("\nProc-Type: 4,ENCRYPTED\nDEK-Info: ") == (v.passphrase != nil), "\(written)")
        default:
            let label = v.passphrase == nil ? "PRIVATE KEY" : "ENCRYPTED PRIVATE KEY"
            #expect(written.hasPrefix("-----BEGIN \(label)-----\n"), "\(written)")
            #expect(written.hasSuffix("-----END \(label)-----\n"), "\(written)")
            #expect(!written.contains("Proc-Type:"), "\(written)")
        }

        // ssh-keygen derives the same public key from our private key file.
        let y = try keygen(["-y", "-P", v.passphrase ?? "", "-f", key])
        #expect(y.status == 0, "\(y)")
        #expect(keyPart(y.stdout) == keyPart(pub))
        if v.format == nil {
            // Only the OpenSSH format stores the comment.
            #expect(y.stdout == pub)
        }

        // Fingerprints match, line for line.
        let theirs = try keygen(["-l", "-f", key])
        let ours = try keysmith("fingerprint", "-f", key)
        #expect(theirs.status == 0, "\(theirs)")
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdout == theirs.stdout)

        // And we read our own file back, with the passphrase.
        let back = try keysmith(arguments: ["public", "-f", key, "-P", v.passphrase ?? ""])
        #expect(back.status == 0, "\(back)")
        #expect(keyPart(back.stdout) == keyPart(pub))
    }

    @Test(
        "Ed25519 with -m pem or -m pkcs8 is written in the OpenSSH format, as ssh-keygen writes it",
        arguments: ["pem", "pkcs8", "PKCS8"]
    )
    func ed25519FormatAsKeygen(format: String) throws {
        let dir = try TempDir()
        let gen = try keysmith("generate", "-q", "-t", "ed25519", "-m", format, "-N", "", "-f", dir.path("ours"))
        #expect(gen.status == 0, "\(gen)")
        let theirs = try keygen(["-q", "-t", "ed25519", "-m", format, "-N", "", "-f", dir.path("theirs")])
        try #require(theirs.status == 0, "\(theirs)")
        let header = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        #expect(try readText(dir.path("theirs")).hasPrefix(header))
        #expect(try readText(dir.path("ours")).hasPrefix(header))
        let back = try keygen(["-y", "-f", dir.path("ours")])
        #expect(back.status == 0, "\(back)")

        // passphrase -m rewrites it the same way.
        let rewritten = try keysmith("passphrase", "-f", dir.path("ours"), "-P", "", "-N", "", "-m", format)
        #expect(rewritten.status == 0, "\(rewritten)")
        #expect(try readText(dir.path("ours")).hasPrefix(header))
    }

    @Test("Ed25519 in PKCS#8, asked for with --ed25519-pkcs8, is read by OpenSSL with the same key")
    func ed25519PKCS8() throws {
        let dir = try TempDir()
        let key = dir.path("id")
        let gen = try keysmith(
            "generate",
            "-q",
            "-t",
            "ed25519",
            "-m",
            "pkcs8",
            "--ed25519-pkcs8",
            "-N",
            "",
            "-f",
            key
        )
        #expect(gen.status == 0, "\(gen)")
        #expect(try readText(key).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let openssl = try runProcess(Tool.openssl, ["pkey", "-in", key, "-pubout", "-outform", "DER"])
        #expect(openssl.status == 0, "\(openssl)")
        // The last 32 bytes of the SubjectPublicKeyInfo are the raw public key.
        let raw = openssl.stdoutData.suffix(32)
        let pubLine = try readText(key + ".pub")
        let blob = Data(base64Encoded: String(pubLine.split(separator: " ")[1]))!
        #expect(Data(blob.suffix(32)) == Data(raw))
    }

    @Test("default generation shows fingerprint and randomart like ssh-keygen")
    func generateOutput() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        let gen = try keysmith("generate", "-t", "ecdsa", "-f", key, "-N", "", "-C", "me@example")
        #expect(gen.status == 0, "\(gen)")
        let lv = try keygen(["-lv", "-f", key])
        let lines = lv.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        // ssh-keygen -lv: "256 SHA256:… comment (ECDSA)" then the art.
        let fp = lines[0].split(separator: " ")[1]
        #expect(gen.stdout.contains("\(fp) me@example\n"))
        #expect(gen.stdout.contains(lines[1...].joined(separator: "\n")))
    }

    @Test("an empty comment leaves the .pub file as ssh-keygen writes it")
    func emptyComment() throws {
        let dir = try TempDir()
        let ours = dir.path("ours")
        let theirs = dir.path("theirs")
        #expect(try keysmith("generate", "-q", "-f", ours, "-N", "", "-C", "").status == 0)
        try #require(try keygen(["-q", "-t", "ed25519", "-f", theirs, "-N", "", "-C", ""]).status == 0)
        let y = try keygen(["-y", "-f", ours])
        #expect(y.stdout.hasSuffix("\n") && !y.stdout.hasSuffix(" \n"))
        // ssh-keygen keeps the separating space in .pub files even with no comment.
        #expect(try readText(ours + ".pub") == keyPart(y.stdout) + " \n")
        #expect(try readText(theirs + ".pub").hasSuffix(" \n"))
    }

    @Test("without -f the key goes to ~/.ssh/id_TYPE, creating ~/.ssh 0700")
    func defaultPath() throws {
        let home = try TempDir()
        let r = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ecdsa", "-N", ""],
            environment: ["HOME": home.url.path]
        )
        #expect(r.status == 0, "\(r)")
        #expect(try fileMode(home.path(".ssh")) == 0o700)
        #expect(try fileMode(home.path(".ssh/id_ecdsa")) == 0o600)
        #expect(try keygen(["-y", "-f", home.path(".ssh/id_ecdsa")]).status == 0)
        // A second run refuses to replace it.
        let again = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ecdsa", "-N", ""],
            environment: ["HOME": home.url.path]
        )
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
    }

    @Test("an existing key file is not replaced without --force")
    func refusesOverwrite() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try writeText(key, "precious\n")
        let gen = try keysmith("generate", "-q", "-f", key, "-N", "")
        #expect(gen.status == 1)
        #expect(gen.stderr.split(separator: "\n").count == 1, "\(gen)")
        #expect(gen.stderr.contains("--force"))
        #expect(try readText(key) == "precious\n")
        #expect(!FileManager.default.fileExists(atPath: key + ".pub"))
        let forced = try keysmith("generate", "-q", "-f", key, "-N", "", "--force")
        #expect(forced.status == 0, "\(forced)")
        #expect(try keygen(["-y", "-f", key]).status == 0)
    }

    @Test(
        "usage errors exit 64",
        arguments: [
            ["generate", "-t", "dsa"], ["generate", "-t", "rsa", "-b", "512"],
            ["generate", "-t", "ecdsa", "-b", "123"],
            ["generate", "-Z", "rot13"], ["fingerprint"], ["generate", "-a", "0"],
        ]
    )
    func usageErrors(_ args: [String]) throws {
        let dir = try TempDir()
        let r = try keysmith(arguments: args + ["-f", dir.path("k"), "-N", ""].filter { _ in args[0] == "generate" })
        #expect(r.status == 64, "\(r)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("k")))
    }
}

/// The unencrypted header of an openssh-key-v1 file (PROTOCOL.key): the cipher and KDF
/// names and, for bcrypt, the rounds in the KDF options.
struct OpenSSHKeyHeader {
    var cipher: String
    var kdf: String
    var rounds: UInt32?

    init?(_ text: String) {
        let armour = "-----BEGIN OPENSSH PRIVATE KEY-----"
        guard text.hasPrefix(armour + "\n") else { return nil }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return nil }
        var bytes = [UInt8](data)[...]
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard bytes.starts(with: magic) else { return nil }
        bytes = bytes.dropFirst(magic.count)
        func string() -> ArraySlice<UInt8>? {
            guard bytes.count >= 4 else { return nil }
            let n = bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            bytes = bytes.dropFirst(4)
            guard bytes.count >= n else { return nil }
            defer { bytes = bytes.dropFirst(n) }
            return bytes.prefix(n)
        }
        guard let cipher = string(), let kdf = string(), var options = string() else { return nil }
        self.cipher = String(decoding: cipher, as: UTF8.self)
        self.kdf = String(decoding: kdf, as: UTF8.self)
        if self.kdf == "bcrypt" {
            // string salt, uint32 rounds
            guard options.count >= 4 else { return nil }
            let saltLength = options.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            options = options.dropFirst(4 + saltLength)
            guard options.count == 4 else { return nil }
            self.rounds = options.reduce(0) { $0 << 8 | UInt32($1) }
        } else {
            guard options.isEmpty else { return nil }
            self.rounds = nil
        }
    }
}
