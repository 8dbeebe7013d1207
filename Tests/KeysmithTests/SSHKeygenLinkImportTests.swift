import Foundation
import KeysmithTestSupport
import SSHKeys
import Testing

extension SSHKeygenLinkTests {
    /// RFC 4716 armour around `blob`: the base64 in lines of 70, as ssh-keygen -e writes it.
    static func ssh2Armour(
        _ blob: [UInt8],
        kind: String = "PUBLIC KEY",
        headers: String = "",
        eol: String = "\n"
    )
        -> String
    {
        let text = Data(blob).base64EncodedString()
        var lines: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(70)))
            rest = rest.dropFirst(70)
        }
        return
            (["---- BEGIN SSH2 \(kind) ----"] + (headers.isEmpty ? [] : [headers]) + lines
            + ["---- END SSH2 \(kind) ----"]).joined(separator: eol) + eol
    }

    /// The wire blob of the key in a public key line.
    static func blob(ofLine line: String) -> [UInt8] {
        Array(Data(base64Encoded: String(line.split(separator: " ")[1]))!)
    }

    @Test("-i imports RFC 4716, PKCS8 and PEM public keys as ssh-keygen does, and refuses the others alike")
    func importPublic() throws {
        let pair = try Pair()
        try pair.key("ed", ["-t", "ed25519", "-N", ""])
        try pair.key("ec", ["-t", "ecdsa", "-b", "384", "-N", ""])
        try pair.key("rsa", ["-t", "rsa", "-b", "1024", "-N", ""])
        let exports = [
            ("ed", ["RFC4716"]), ("ec", ["RFC4716", "PKCS8", "PEM"]), ("rsa", ["RFC4716", "PKCS8", "PEM"]),
        ]
        for (name, formats) in exports {
            for format in formats {
                let exported = try keygen(["-e", "-m", format, "-f", pair.dir.path(name)])
                try #require(exported.status == 0, "\(exported)")
                try pair.write("\(name).\(format)", exported.stdout)
            }
        }
        // ssh-keygen -e -m PEM writes an ECDSA key as SubjectPublicKeyInfo, which only -m PKCS8
        // reads back; -m PKCS8 (OpenSSL 3's PEM_read_PUBKEY) reads a PKCS#1 RSA key too.
        for (format, file) in [
            ("RFC4716", "ed.RFC4716"), ("RFC4716", "ec.RFC4716"), ("RFC4716", "rsa.RFC4716"), ("PKCS8", "ec.PKCS8"),
            ("PKCS8", "ec.PEM"), ("PKCS8", "rsa.PKCS8"), ("PKCS8", "rsa.PEM"), ("PEM", "rsa.PEM"),
        ] {
            let ours = try pair.expectSame(["-i", "-m", format, "-f", file], status: 0)
            let name = String(file.prefix { $0 != "." })
            #expect(keyPart(ours.stdout) == keyPart(try readText(pair.ours(name + ".pub"))))
        }
        try pair.expectSame(["-i", "-f", "ed.RFC4716"], status: 0)
        try pair.expectSame(["-X", "-f", "rsa.RFC4716"], status: 0)
        try pair.expectSame(["-i"], input: "ec.RFC4716\n", status: 0)
        for (format, file) in [
            ("PEM", "ec.PEM"), ("PEM", "rsa.PKCS8"), ("PEM", "rsa.RFC4716"), ("PKCS8", "ed.RFC4716"),
        ] {
            try pair.expectSame(["-i", "-m", format, "-f", file], status: 255)
        }
        let edLine = try readText(pair.ours("ed.pub"))
        let ed25519SPKI = try SSHPublicKey(openSSHLine: edLine).pkcs8Representation()
        try pair.write("ed.spki", ed25519SPKI)
        try pair.expectSame(["-i", "-m", "PKCS8", "-f", "ed.spki"], status: 255)
        // DSA: its RFC 4716 public key is read; its SubjectPublicKeyInfo is refused.
        try pair.key("dsa", ["-t", "dsa", "-N", ""])
        for format in ["RFC4716", "PKCS8"] {
            let exported = try keygen(["-e", "-m", format, "-f", pair.dir.path("dsa")])
            try #require(exported.status == 0, "\(exported)")
            try pair.write("dsa.\(format)", exported.stdout)
        }
        try pair.expectSame(["-i", "-f", "dsa.RFC4716"], status: 0)
        let refused = try pair.run(pair.link, ["-i", "-m", "PKCS8", "-f", "dsa.PKCS8"], in: "ours")
        #expect(
            refused.status == 1 && refused.stdout.isEmpty && refused.stderr.contains("not implemented"),
            "\(refused)"
        )
        // Keys of other algorithms and sizes, made by openssl.
        let made: [(name: String, script: String)] = [
            ("x25519", "openssl genpkey -algorithm x25519 | openssl pkey -pubout"),
            ("ed448", "openssl genpkey -algorithm ed448 | openssl pkey -pubout"),
            ("rsa512", "openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:512 | openssl pkey -pubout"),
            ("k1", "openssl ecparam -name secp256k1 -genkey -noout | openssl ec -pubout"),
        ]
        for (name, script) in made {
            let key = try runProcess("/bin/sh", ["-c", script + " 2>/dev/null"])
            try #require(key.status == 0 && key.stdout.contains("BEGIN PUBLIC KEY"), "\(key)")
            try pair.write(name, key.stdout)
        }
        try pair.expectSame(["-i", "-m", "PKCS8", "-f", "x25519"], status: 255)
        try pair.expectSame(["-i", "-m", "PKCS8", "-f", "ed448"], status: 255)
        for name in ["rsa512", "k1"] {
            let ours = try pair.run(pair.link, ["-i", "-m", "PKCS8", "-f", name], in: "ours")
            #expect(ours.status == 1 && ours.stdout.isEmpty && ours.stderr.contains("not implemented"), "\(ours)")
        }
        try pair.expectSame(["-i", "-f", "ed.pub"], status: 255)
        try pair.expectSame(["-i", "-f", "missing"], status: 255)
        try pair.expectSame(["-i", "-m", "PKCS8", "-f", "missing"], status: 255)
    }

    @Test("-i reads RFC 4716 as ssh-keygen's loose reader does: headers, continuations, CR LF, no armour")
    func importRFC4716Variants() throws {
        let pair = try Pair()
        try pair.key("ed", ["-t", "ed25519", "-N", ""])
        try pair.key("user", ["-t", "ecdsa", "-N", ""])
        let signed = try keygen(["-q", "-s", pair.dir.path("ed"), "-I", "id", pair.dir.path("user.pub")])
        try #require(signed.status == 0, "\(signed)")
        let blob = Self.blob(ofLine: try readText(pair.ours("ed.pub")))
        let base64 = Data(blob).base64EncodedString()
        let certificate = Self.blob(ofLine: try readText(pair.dir.path("user-cert.pub")))
        var truncatedKey = Array(blob.prefix(30))
        truncatedKey[3] = 11
        let cases: [(String, String, Int32)] = [
            ("crlf", Self.ssh2Armour(blob, headers: "Comment: \"a \\\r\ncontinued\"\r\nx-tag: v", eol: "\r\n"), 0),
            ("cr", Self.ssh2Armour(blob, eol: "\r"), 0),
            ("bare", base64 + "\n", 0),
            ("noend", "---- BEGIN SSH2 PUBLIC KEY ----\n" + base64 + "\n", 0),
            ("unended", "---- BEGIN SSH2 PUBLIC KEY ----\n" + base64, 255),
            ("escaped", "---- BEGIN SSH2 PUBLIC KEY ----\nabc\\\n" + base64 + "\n---- END x\n", 0),
            ("twice", "---- BEGIN SSH2 PUBLIC KEY ----\n" + base64 + "\n" + base64 + "\n---- END x\n", 255),
            ("cert", Self.ssh2Armour(certificate), 0),
            ("empty", "", 255),
            ("garbage", "not base64 at all!\n", 255),
            ("nul", Self.ssh2Armour([0, 0, 0]), 255),
            ("unknown", Self.ssh2Armour([0, 0, 0, 7] + Array("ssh-foo".utf8)), 255),
            ("short", Self.ssh2Armour(Array(blob.prefix(30))), 255),
            ("shortkey", Self.ssh2Armour(truncatedKey + [0, 0, 0, 1, 9]), 255),
            ("trailing", Self.ssh2Armour(blob + [0]), 255),
            ("padding", "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA=\n", 255),
            ("toolong", String(repeating: "A", count: 1100) + "\n", 255),
        ]
        for (name, text, status) in cases {
            try pair.write(name, text)
            try pair.expectSame(["-i", "-f", name], status: status)
        }
        try FileManager.default.createDirectory(atPath: pair.ours("dir"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: pair.theirs("dir"), withIntermediateDirectories: true)
        try pair.expectSame(["-i", "-f", "dir"], status: 255)
    }

    /// An unencrypted SSH2 (ssh.com) RSA private key, as do_convert_private_ssh2 reads one.
    static func ssh2PrivateKey(
        _ key: SSHPrivateKey,
        magic: UInt32 = 0x3f6f_f9eb,
        type: String = "if-modn{sign{rsa-pkcs1-sha1},encrypt{rsa-pkcs1v2-oaep}}",
        cipher: String = "none",
        trailing: [UInt8] = []
    ) throws -> [UInt8] {
        var fields = SSHWireWriter()
        key.writePrivateFields(to: &fields)
        var reader = SSHWireReader(fields.take())
        _ = try reader.readString()
        let (n, e, d, iqmp, p, q) = (
            try reader.readPositiveMPInt(), try reader.readPositiveMPInt(), try reader.readPositiveMPInt(),
            try reader.readPositiveMPInt(), try reader.readPositiveMPInt(), try reader.readPositiveMPInt()
        )
        func bits(_ number: ArraySlice<UInt8>) -> UInt32 {
            UInt32((number.count - 1) * 8 + 8 - number.first!.leadingZeroBitCount)
        }
        var body = SSHWireWriter()
        body.writeUInt32(bits(e))
        body.writeBytes(e)
        for number in [d, n, iqmp, q, p] {
            body.writeUInt32(bits(number))
            body.writeBytes(number)
        }
        let keyData = body.take() + trailing
        var w = SSHWireWriter()
        w.writeUInt32(magic)
        w.writeUInt32(0)
        w.writeString(type)
        w.writeString(cipher)
        w.writeUInt32(UInt32(keyData.count + 4))
        w.writeUInt32(UInt32(keyData.count))
        w.writeBytes(keyData)
        return w.take()
    }

    @Test("-i turns an unencrypted SSH2 RSA private key into the PEM key ssh-keygen writes, with its errors")
    func importSSH2Private() throws {
        let pair = try Pair()
        try pair.key("rsa", ["-t", "rsa", "-b", "1024", "-N", ""])
        let key = try SSHPrivateKey(fileContents: Array(try readBytes(pair.ours("rsa"))), passphrase: nil)
        let good = try Self.ssh2PrivateKey(key)
        let cases: [(String, [UInt8], Int32)] = [
            ("good", good, 0),
            ("trailing", try Self.ssh2PrivateKey(key, trailing: [1, 2]), 0),
            ("magic", try Self.ssh2PrivateKey(key, magic: 1), 255),
            ("cipher", try Self.ssh2PrivateKey(key, cipher: "3des-cbc"), 255),
            ("type", try Self.ssh2PrivateKey(key, type: "ed448"), 255),
            ("cut", Array(good.prefix(good.count - 20)), 255),
            ("header", Array(good.prefix(10)), 255),
        ]
        for (name, blob, status) in cases {
            try pair.write(name, Self.ssh2Armour(blob, kind: "ENCRYPTED PRIVATE KEY", headers: "Comment: \"k\""))
            let ours = try pair.expectSame(["-i", "-f", name], status: status)
            guard name == "good" else { continue }
            #expect(ours.stdout.hasPrefix("-----BEGIN RSA PRIVATE KEY-----\n"))
            // ssh-keygen reads the key keysmith wrote, the same key as before.
            try pair.dir.write("imported", ours.stdout)
            chmod(pair.dir.path("imported"), 0o600)
            let derived = try keygen(["-y", "-f", pair.dir.path("imported")])
            #expect(keyPart(derived.stdout) == keyPart(try readText(pair.ours("rsa.pub"))), "\(derived)")
        }
    }
}
