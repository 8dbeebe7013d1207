import Foundation
import KeysmithTestSupport
import Testing

extension SSHKeygenLinkTests {
    /// What a file of host keys under `root` holds, less what is random: for each file its
    /// name and mode, and for a private key its first line, its key's size and type and its
    /// comment as ssh-keygen -l tells them.
    static func hostKeySummary(_ root: String) throws -> [String] {
        let directory = root + "/etc/ssh"
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { name in
            let path = directory + "/" + name
            var line = "\(name) \(String(try fileMode(path), radix: 8))"
            let listed = try keygen(["-l", "-f", path])
            let words = listed.stdout.split(separator: " ")
            if listed.status == 0 && words.count >= 4 {
                line += " " + ([words[0]] + words[2...]).joined(separator: " ")
            }
            if !name.hasSuffix(".pub") { line += " " + (try readText(path).split(separator: "\n").first ?? "") }
            return line
        }
    }

    /// ssh-keygen's mkstemp names (ten random letters) taken out.
    static func withoutTemporaryNames(_ text: String) -> String {
        text.replacing(/\.[A-Za-z0-9]{10}:/, with: ".XXXXXXXXXX:")
    }

    @Test("-A makes the missing host keys under -f's prefix as ssh-keygen does: names, modes, types, comments, lines")
    func generateHostKeys() throws {
        let pair = try Pair()
        for side in ["ours", "theirs"] {
            try FileManager.default.createDirectory(
                atPath: pair.dir.path(side + "/root/etc/ssh"),
                withIntermediateDirectories: true
            )
        }
        let first = try pair.expectSame(["-A", "-f", "root"], status: 0)
        #expect(first.stdout == "ssh-keygen: generating new host keys: RSA ECDSA ED25519 \n")
        let ours = try Self.hostKeySummary(pair.ours("root"))
        #expect(ours == (try Self.hostKeySummary(pair.theirs("root"))))
        #expect(ours.count == 6 && ours.contains { $0.hasPrefix("ssh_host_rsa_key 600 3072 ") }, "\(ours)")
        for name in ["rsa", "ecdsa", "ed25519"] {
            let path = pair.ours("root/etc/ssh/ssh_host_\(name)_key")
            let derived = try keygen(["-y", "-f", path])
            #expect(keyPart(derived.stdout) == keyPart(try readText(path + ".pub")), "\(derived)")
        }
        // Present keys stay; a missing one and an empty one are made again.
        try pair.expectSame(["-A", "-f", "root"], status: 0)
        for side in ["ours", "theirs"] {
            try FileManager.default.removeItem(atPath: pair.dir.path(side + "/root/etc/ssh/ssh_host_ecdsa_key"))
            try pair.dir.write(side + "/root/etc/ssh/ssh_host_ed25519_key", "")
        }
        let rsa = try readBytes(pair.ours("root/etc/ssh/ssh_host_rsa_key"))
        let again = try pair.expectSame(["-A", "-f", "root"], status: 0)
        #expect(again.stdout == "ssh-keygen: generating new host keys: ECDSA ED25519 \n")
        #expect(try readBytes(pair.ours("root/etc/ssh/ssh_host_rsa_key")) == rsa)
        #expect(try Self.hostKeySummary(pair.ours("root")) == (try Self.hostKeySummary(pair.theirs("root"))))
        // A prefix that is a file: stat's error for each key, nothing printed on stdout.
        try pair.write("plain", "x\n")
        try pair.expectSame(["-A", "-f", "plain"], status: 0)
        try pair.expectSame(["-A", "-f", "root", "extra"], status: 1)
    }

    @Test("-A without the directory: mkstemp's error for each key and the line started again, as ssh-keygen")
    func generateHostKeysWithoutDirectory() throws {
        let pair = try Pair()
        let (ours, theirs) = try pair.run(["-A", "-f", "nowhere"])
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.stdout == theirs.stdout, "\(ours.stdout) vs \(theirs.stdout)")
        #expect(Self.withoutTemporaryNames(ours.stderr) == Self.withoutTemporaryNames(theirs.stderr), "\(ours.stderr)")
        #expect(ours.stderr.contains("Could not save your private key in nowhere/etc/ssh/ssh_host_rsa_key."))
    }

    @Test("-A -m PEM writes the host keys in the PEM format, as ssh-keygen")
    func generateHostKeysPEM() throws {
        let pair = try Pair()
        for side in ["ours", "theirs"] {
            try FileManager.default.createDirectory(
                atPath: pair.dir.path(side + "/etc/ssh"),
                withIntermediateDirectories: true
            )
        }
        let prefix = pair.dir.path("ours")
        let (ours, theirs) = try (
            pair.run(pair.link, ["-A", "-m", "PEM", "-f", prefix], in: "ours"),
            pair.run(Tool.sshKeygen, ["-A", "-m", "PEM", "-f", pair.dir.path("theirs")], in: "theirs")
        )
        #expect(ours.status == 0 && ours.stdout == theirs.stdout && ours.stderr == theirs.stderr, "\(ours) \(theirs)")
        let summary = try Self.hostKeySummary(prefix)
        #expect(summary == (try Self.hostKeySummary(pair.dir.path("theirs"))))
        #expect(summary.contains { $0.hasSuffix("-----BEGIN RSA PRIVATE KEY-----") }, "\(summary)")
    }
}
