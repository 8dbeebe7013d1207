import Foundation
import KeysmithTestSupport
import Testing

/// ssh-keygen -r through the link against the real ssh-keygen: the SSHFP records of each key
/// type, RFC 3597's generic form with -g, the host keys under /etc/ssh without -f, and
/// ssh-keygen's sentences for what holds no record.
@Suite("ssh-keygen link: -r")
struct SSHKeygenLinkResourceRecordTests {
    @Test("-r prints the SHA-1 and SHA-256 SSHFP records of RSA, DSA, ECDSA and Ed25519 keys, -g in generic form")
    func records() throws {
        let pair = try SSHKeygenLinkTests.Pair()
        let keys: [(name: String, arguments: [String])] = [
            ("rsa", ["-t", "rsa", "-b", "1024"]), ("dsa", ["-t", "dsa"]), ("ec256", ["-t", "ecdsa"]),
            ("ec384", ["-t", "ecdsa", "-b", "384"]), ("ec521", ["-t", "ecdsa", "-b", "521"]),
            ("ed", ["-t", "ed25519"]),
            ("pem", ["-t", "rsa", "-b", "1024", "-m", "PEM"]),
        ]
        for key in keys { try pair.key(key.name, key.arguments + ["-N", ""]) }
        for key in keys {
            for generic in [[], ["-g"]] {
                let ours = try pair.expectSame(["-r", "host.example.", "-f", key.name + ".pub"] + generic, status: 0)
                #expect(ours.stdout.split(separator: "\n").count == 2, "\(ours)")
                try pair.expectSame(generic + ["-r", "h", "-f", key.name], status: 0)
            }
        }
        // The first key line of a file; an OpenSSH private key without its .pub by the public
        // half it holds, a PEM one not at all.
        let lines = try ["ed", "rsa"].map { try readText(pair.ours($0 + ".pub")) }
        try pair.write("several", "# keys\n\n  " + lines[0] + lines[1])
        try pair.expectSame(["-r", "several", "-f", "several"], status: 0)
        for (name, status) in [("ed", Int32(0)), ("pem", 255)] {
            for side in ["ours/", "theirs/"] {
                try FileManager.default.copyItem(
                    atPath: pair.dir.path(side + name),
                    toPath: pair.dir.path(side + "solo-" + name)
                )
            }
            try pair.expectSame(["-r", "solo", "-f", "solo-" + name], status: status)
        }
    }

    @Test("-r of a certificate or a security key prints no record but export_dns_rr's error, exit 0")
    func noRecord() throws {
        let pair = try SSHKeygenLinkTests.Pair()
        try pair.key("ca", ["-t", "ed25519", "-N", ""])
        try pair.key("user", ["-t", "ecdsa", "-N", ""])
        let signed = try keygen(["-q", "-s", pair.dir.path("ca"), "-I", "id", pair.dir.path("user.pub")])
        try #require(signed.status == 0, "\(signed)")
        try pair.write("user-cert.pub", try readText(pair.dir.path("user-cert.pub")))
        // Security keys' public lines (PROTOCOL.u2f): the key, then the application.
        let ecdsa = try Self.strings(
            Data(base64Encoded: String(readText(pair.ours("user.pub")).split(separator: " ")[1]))!
        )
        let ed = try Self.strings(Data(base64Encoded: String(readText(pair.ours("ca.pub")).split(separator: " ")[1]))!)
        try pair.write(
            "sk-ecdsa.pub",
            "sk-ecdsa-sha2-nistp256@openssh.com "
                + Self.blob(
                    ["sk-ecdsa-sha2-nistp256@openssh.com", "nistp256"].map { Data($0.utf8) } + [
                        ecdsa[2], Data("ssh:".utf8),
                    ]
                )
                + " sk\n"
        )
        try pair.write(
            "sk-ed.pub",
            "sk-ssh-ed25519@openssh.com "
                + Self.blob([Data("sk-ssh-ed25519@openssh.com".utf8), ed[1], Data("ssh:".utf8)]) + "\n"
        )
        for name in ["user-cert.pub", "sk-ecdsa.pub", "sk-ed.pub"] {
            for generic in [[], ["-g"]] {
                let ours = try pair.expectSame(["-r", "host", "-f", name] + generic, status: 0)
                #expect(ours.stdout.isEmpty && ours.stderr.contains("unsupported algorithm"), "\(name): \(ours)")
            }
        }
    }

    @Test("-r without -f prints the records of the host keys under /etc/ssh")
    func hostKeys() throws {
        let pair = try SSHKeygenLinkTests.Pair()
        try pair.expectSame(["-r", "this.host"])
        try pair.expectSame(["-g", "-r", "this.host"])
    }

    @Test(
        "-r of a missing, bad or empty file or a directory: ssh-keygen's sentence, exit 255",
        arguments: [["-f", "missing"], ["-f", "garbage"], ["-f", "empty"], ["-f", "dir"], ["-f", "missing", "-g"]]
    )
    func failures(arguments: [String]) throws {
        let pair = try SSHKeygenLinkTests.Pair()
        try pair.write("garbage", "not a key\nssh-ed25519 AAAA\n")
        try pair.write("empty", "")
        for side in ["ours/", "theirs/"] {
            try FileManager.default.createDirectory(
                atPath: pair.dir.path(side + "dir"),
                withIntermediateDirectories: true
            )
        }
        let ours = try pair.expectSame(["-r", "host"] + arguments, status: 255)
        #expect(ours.stdout.isEmpty)
    }

    /// The RFC 4251 strings of a key blob.
    static func strings(_ blob: Data) throws -> [Data] {
        var rest = blob[...]
        var strings: [Data] = []
        while rest.count >= 4 {
            let length = rest.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            rest = rest.dropFirst(4)
            try #require(rest.count >= length)
            strings.append(Data(rest.prefix(length)))
            rest = rest.dropFirst(length)
        }
        return strings
    }

    /// A key blob of `strings`, base64 encoded.
    static func blob(_ strings: [Data]) -> String {
        var blob = Data()
        for string in strings {
            withUnsafeBytes(of: UInt32(string.count).bigEndian) { blob.append(contentsOf: $0) }
            blob.append(string)
        }
        return blob.base64EncodedString()
    }
}
