import Foundation
import KeysmithTestSupport
import Testing

/// Private keys on disk: written 0600 whatever the umask, and left alone by a refused operation.
@Suite("secrets and files")
struct SecretsTests {
    /// Runs keysmith with the umask cleared, as a careless login shell might leave it.
    static func underUmask000(_ arguments: [String]) throws -> ProcessResult {
        try runProcess("/bin/sh", ["-c", "umask 000; exec \"$@\"", "sh", keysmithPath] + arguments)
    }

    /// The permission bits of `path`, from stat(1).
    static func mode(_ path: String) throws -> String {
        try runProcess("/usr/bin/stat", ["-c", "%a", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a private key is written 0600 and its .pub 0644 under umask 000")
    func modesUnderUmask000() throws {
        let dir = try TempDir()
        let key = dir.path("id")
        let g = try Self.underUmask000(["generate", "-q", "-f", key, "-N", "old", "-a", "2", "-C", "modes"])
        #expect(g.status == 0, "\(g)")
        #expect(try Self.mode(key) == "600", "generate")
        #expect(try Self.mode(key + ".pub") == "644", "generate .pub")

        let p = try Self.underUmask000(["passphrase", "-f", key, "-P", "old", "-N", "newpass", "-a", "2"])
        #expect(p.status == 0, "\(p)")
        #expect(try Self.mode(key) == "600", "passphrase")

        let c = try Self.underUmask000(["comment", "-f", key, "-P", "newpass", "-C", "renamed", "-a", "2"])
        #expect(c.status == 0, "\(c)")
        #expect(try Self.mode(key) == "600", "comment")
        #expect(try Self.mode(key + ".pub") == "644", "comment .pub")

        // Ed25519 has no PEM form: PKCS#8 and back.
        for format in ["pkcs8", "openssh"] {
            let v = try Self.underUmask000(["convert", "-f", key, "-P", "newpass", "--to", format])
            #expect(v.status == 0, "\(v)")
            #expect(try Self.mode(key) == "600", "convert --to \(format)")
            #expect(try readText(key).contains(format == "pkcs8" ? "BEGIN ENCRYPTED PRIVATE KEY" : "BEGIN OPENSSH"))
        }

        // An RSA key in PEM straight from generate.
        let rsa = dir.path("id_rsa")
        let r = try Self.underUmask000(["generate", "-q", "-t", "rsa", "-b", "1024", "-m", "pem", "-f", rsa, "-N", ""])
        #expect(r.status == 0, "\(r)")
        #expect(try Self.mode(rsa) == "600", "generate -m pem")
        #expect(try Self.mode(rsa + ".pub") == "644", "generate -m pem .pub")
        // ssh-keygen reads what we wrote without complaint about permissions.
        #expect(try keygen(["-y", "-P", "", "-f", rsa]).status == 0)
    }
}
