import Foundation
import KeysmithTestSupport
import Testing

/// Every variant ssh-keygen writes is read by keysmith with the same key and fingerprint.
@Suite("public / fingerprint: we read what ssh-keygen writes")
struct ReadInteropTests {
    struct Variant: CustomTestStringConvertible, Sendable {
        var type: String
        var bits: String?
        var extra: [String] = []
        var passphrase: String = ""
        var testDescription: String {
            ([type, bits].compactMap { $0 } + extra + [passphrase.isEmpty ? "plain" : "passphrase"]).joined(
                separator: " "
            )
        }
    }

    static let variants: [Variant] = {
        var v: [Variant] = []
        let types: [(String, String?)] = [
            ("ed25519", nil), ("rsa", "2048"), ("ecdsa", "256"), ("ecdsa", "384"), ("ecdsa", "521"),
        ]
        for (t, b) in types {
            v.append(Variant(type: t, bits: b))
            v.append(Variant(type: t, bits: b, extra: ["-a", "3"], passphrase: "pass phrase"))
            if t != "ed25519" {
                v.append(Variant(type: t, bits: b, extra: ["-m", "PEM"]))
                v.append(Variant(type: t, bits: b, extra: ["-m", "PEM"], passphrase: "pem pass"))
                v.append(Variant(type: t, bits: b, extra: ["-m", "PKCS8"]))
                v.append(Variant(type: t, bits: b, extra: ["-m", "PKCS8"], passphrase: "pkcs8 pass"))
            }
        }
        for cipher in [
            "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc",
            "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "3des-cbc",
        ] {
            v.append(Variant(type: "ed25519", extra: ["-a", "2", "-Z", cipher], passphrase: "pw"))
        }
        v.append(
            Variant(
                type: "ecdsa",
                bits: "384",
                extra: ["-a", "1", "-Z", "chacha20-poly1305@openssh.com"],
                passphrase: "pw"
            )
        )
        v.append(
            Variant(type: "rsa", bits: "3072", extra: ["-Z", "aes128-gcm@openssh.com"], passphrase: "sixteen rounds")
        )
        return v
    }()

    static let comments = ["plain", "with several spaces  in it", "ünïcødé ключ 🔑"]

    /// Every variant with its first comment and `-l`; the full tier also reads the `-a 3`
    /// variants with every comment and fingerprints every key with every flag, the default
    /// tier the keys of each type without options only.
    @Test("public and fingerprint agree with ssh-keygen", arguments: variants)
    func readsOpenSSHKeys(_ v: Variant) throws {
        let dir = try TempDir()
        let allComments = v.extra.isEmpty || (TestTier.isFull && v.extra == ["-a", "3"])
        for (i, comment) in Self.comments.enumerated() where i == 0 || allComments {
            let key = dir.path("key\(i)")
            var args = ["-q", "-t", v.type, "-f", key, "-N", v.passphrase, "-C", comment] + v.extra
            if let b = v.bits { args += ["-b", b] }
            let gen = try keygen(args)
            try #require(gen.status == 0, "\(gen)")

            let theirs = try keygen(["-y", "-P", v.passphrase, "-f", key])
            let ours = try keysmith(arguments: ["public", "-P", v.passphrase, "-f", key])
            #expect(ours.status == 0, "\(ours)")
            #expect(ours.stdout == theirs.stdout, "\(v.testDescription) comment \(comment)")

            let everyFlag = TestTier.isFull || (i == 0 && v.extra.isEmpty)
            for flags in everyFlag ? [["-l"], ["-l", "-E", "md5"], ["-lv"], ["-l", "-B"]] : [["-l"]] {
                let t = try keygen(flags + ["-f", key])
                var mine = ["fingerprint", "-f", key]
                if flags.contains("-E") { mine += ["-E", "md5"] }
                if flags.contains("-lv") { mine += ["-v"] }
                if flags.contains("-B") { mine += ["-B"] }
                let o = try keysmith(arguments: mine)
                #expect(o.status == t.status, "\(o)\n\(t)")
                #expect(o.stdout == t.stdout, "\(flags)")
            }
            // The .pub file too.
            let tp = try keygen(["-l", "-f", key + ".pub"])
            let op = try keysmith("fingerprint", "-f", key + ".pub")
            #expect(op.stdout == tp.stdout)
        }
    }

    @Test("a private key without its .pub is fingerprinted like ssh-keygen does")
    func privateWithoutPub() throws {
        let dir = try TempDir()
        for (type, pass) in [("ed25519", ""), ("ed25519", "pw"), ("rsa", ""), ("ecdsa", "")] {
            let key = dir.path("k-\(type)-\(pass.isEmpty)")
            try #require(try keygen(["-q", "-t", type, "-a", "2", "-f", key, "-N", pass, "-C", "c m"]).status == 0)
            try FileManager.default.removeItem(atPath: key + ".pub")
            let t = try keygen(["-l", "-f", key])
            let o = try keysmith("fingerprint", "-f", key)
            #expect(o.stdout == t.stdout, "\(type) \(pass)")
        }
    }

    @Test("authorized_keys and known_hosts files list every key like ssh-keygen -l")
    func multiKeyFiles() throws {
        let dir = try TempDir()
        var lines: [String] = []
        for (i, type) in ["ed25519", "rsa", "ecdsa"].enumerated() {
            let key = dir.path("k\(i)")
            try #require(try keygen(["-q", "-t", type, "-f", key, "-N", "", "-C", "user\(i)@host"]).status == 0)
            lines.append(try readText(key + ".pub").trimmingCharacters(in: .newlines))
        }
        let keyOnly = lines.map(keyPart)
        let authorized = """
            # a comment line

            \(lines[0])
            command="echo \\"hi there\\"",no-pty \(lines[1])
            restrict,from="10.0.0.0/8" \(keyOnly[2])
              \(lines[2])
            not a key line
            """
        try writeText(dir.path("authorized_keys"), authorized + "\n")
        let knownHosts = """
            host.example,192.0.2.1 \(keyOnly[0])
            [host.example]:2222 \(keyOnly[1])
            @cert-authority *.example \(keyOnly[2]) ca key
            @revoked bad.example \(keyOnly[0])
            |1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= \(keyOnly[2])
            """
        try writeText(dir.path("known_hosts"), knownHosts + "\n")
        for file in ["authorized_keys", "known_hosts"] {
            for extra in [[], ["-E", "md5"]] {
                let t = try keygen(["-l", "-f", dir.path(file)] + extra)
                let o = try keysmith(arguments: ["fingerprint", "-f", dir.path(file)] + extra)
                #expect(t.status == 0)
                #expect(o.status == 0, "\(o)")
                #expect(o.stdout == t.stdout, "\(file)")
            }
        }
        // Standard input works too.
        let t = try keygen(["-l", "-f", "-"], input: Data(authorized.utf8))
        let o = try keysmith("fingerprint", "-f", "-", input: Data(authorized.utf8))
        #expect(o.stdout == t.stdout)
    }

    // fingerprint prints a file of key lines in one streaming pass; --json goes through
    // SSHPublicKey.keys(inFile:). Both, and ssh-keygen -l where it is the oracle, must agree.
    @Test("a long authorized_keys prints like ssh-keygen -l, -v and -B, and lists the keys --json lists")
    func longFiles() throws {
        let dir = try TempDir()
        var lines: [String] = []
        for (i, type) in ["ed25519", "rsa", "ecdsa"].enumerated() {
            let key = dir.path("k\(i)")
            try #require(try keygen(["-q", "-t", type, "-f", key, "-N", "", "-C", "user\(i)@host"]).status == 0)
            lines.append(try readText(key + ".pub").trimmingCharacters(in: .newlines))
        }
        var text = ""
        for i in 0..<600 {
            let line = lines[i % 3]
            switch i % 5 {
            case 0: text += line + " extra words \(i)\n"
            case 1: text += "no-pty,command=\"echo \\\"a b\\\"\" " + line + "\n"
            case 2: text += "# comment \(i)\n\n"
            case 3: text += "\t " + line + "\n"
            default: text += "garbage line \(i)\n" + line + "\n"
            }
        }
        try writeText(dir.path("authorized_keys"), text)
        for extra in [[], ["-v"], ["-B"], ["-E", "md5"]] {
            let t = try keygen(["-l", "-f", dir.path("authorized_keys")] + extra)
            let o = try keysmith(arguments: ["fingerprint", "-f", dir.path("authorized_keys")] + extra)
            #expect(t.status == 0 && o.status == 0)
            #expect(o.stdout == t.stdout, "\(extra)")
        }

        // Lines ending in CR LF, a control character in a comment, no final newline.
        let quirky = lines[0] + " a\tb\r\n" + lines[1] + "\r\n\n" + keyPart(lines[2])
        try writeText(dir.path("quirky"), quirky)
        let plain = try keysmith("fingerprint", "-f", dir.path("quirky"))
        let json = try keysmith("fingerprint", "--json", "-f", dir.path("quirky"))
        #expect(plain.status == 0 && json.status == 0)
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let printed = plain.stdout.split(separator: "\n").map { $0.split(separator: " ")[1] }
        #expect(printed.map(String.init) == listed.map { $0["fingerprint"] as? String ?? "?" })
    }

    @Test("--json lists each key")
    func json() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(
            try keygen(["-q", "-t", "ed25519", "-f", key, "-N", "", "-C", "a \"quoted\" comment"]).status == 0
        )
        let o = try keysmith("fingerprint", "--json", "-f", key + ".pub")
        #expect(o.status == 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [[String: Any]]
        let first = try #require(parsed?.first)
        #expect(first["bits"] as? Int == 256)
        #expect(first["type"] as? String == "ED25519")
        #expect(first["comment"] as? String == "a \"quoted\" comment")
        let t = try keygen(["-l", "-f", key])
        #expect(t.stdout.contains(first["fingerprint"] as? String ?? "?"))
    }

    @Test("legacy encrypted PEM from OpenSSL is read", arguments: ["-aes128", "-aes192", "-aes256", "-des3"])
    func legacyPEM(_ cipher: String) throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-f", key, "-N", ""]).status == 0)
        let enc = dir.path("enc")
        let o = try runProcess(
            Tool.openssl,
            ["rsa", "-traditional", "-in", key, cipher, "-passout", "pass:legacy pw", "-out", enc]
        )
        try #require(o.status == 0, "\(o)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: enc)
        #expect(try readText(enc).contains("DEK-Info:"))
        let ours = try keysmith("public", "-f", enc, "-P", "legacy pw")
        let theirs = try keygen(["-y", "-f", enc, "-P", "legacy pw"])
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdout == theirs.stdout)
        let wrong = try keysmith("public", "-f", enc, "-P", "nope")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("incorrect passphrase"), "\(wrong)")
    }
}
