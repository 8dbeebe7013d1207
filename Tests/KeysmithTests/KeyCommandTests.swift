import Foundation
import KeysmithTestSupport
import Testing

@Suite("passphrase, comment, convert")
struct KeyCommandTests {
    @Test(
        "passphrase change is read by ssh-keygen with the new passphrase only",
        arguments: ["ed25519", "rsa", "ecdsa"]
    )
    func changePassphrase(_ type: String) throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", type, "-f", key, "-N", "old", "-a", "2", "-C", "cmt"]).status == 0)
        let pub = try readText(key + ".pub")
        let r = try keysmith("passphrase", "-f", key, "-P", "old", "-N", "new", "-a", "3")
        #expect(r.status == 0, "\(r)")
        #expect(try fileMode(key) == 0o600)
        #expect(try keygen(["-y", "-P", "old", "-f", key]).status != 0)
        let y = try keygen(["-y", "-P", "new", "-f", key])
        #expect(y.stdout == pub)
        // Remove it.
        #expect(try keysmith("passphrase", "-f", key, "-P", "new", "-N", "").status == 0)
        #expect(try keygen(["-y", "-P", "", "-f", key]).stdout == pub)
        // Wrong old passphrase: refused, file unchanged.
        try #require(try keysmith("passphrase", "-f", key, "-P", "", "-N", "x", "-a", "2").status == 0)
        let before = try readBytes(key)
        let bad = try keysmith("passphrase", "-f", key, "-P", "wrong", "-N", "y")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("incorrect passphrase"))
        #expect(try readBytes(key) == before)
    }

    @Test("comment change matches ssh-keygen -c")
    func changeComment() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(
            try keygen(["-q", "-t", "ed25519", "-f", key, "-N", "pw", "-a", "2", "-C", "old comment"]).status == 0
        )
        let r = try keysmith("comment", "-f", key, "-P", "pw", "-C", "new comment", "-a", "2")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "Old comment: old comment\nComment 'new comment' applied\n")
        let y = try keygen(["-y", "-P", "pw", "-f", key])
        #expect(y.stdout.hasSuffix(" new comment\n"))
        #expect(try readText(key + ".pub") == y.stdout)
        #expect(try keygen(["-l", "-f", key]).stdout == (try keysmith("fingerprint", "-f", key)).stdout)
    }

    @Test("convert public keys as ssh-keygen -e / -i", arguments: ["rsa", "ecdsa", "ed25519"])
    func convertPublic(_ type: String) throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", type, "-f", key, "-N", ""]).status == 0)
        let formats = type == "ed25519" ? ["rfc4716"] : ["rfc4716", "pem", "pkcs8"]
        for fmt in formats {
            let mine = try keysmith("convert", "-f", key + ".pub", "--to", fmt)
            #expect(mine.status == 0, "\(mine)")
            let m = fmt == "rfc4716" ? "RFC4716" : fmt.uppercased()
            let theirs = try keygen(["-e", "-m", m, "-f", key + ".pub"])
            if fmt == "rfc4716" {
                // The Comment header names user and host; the key body must match exactly.
                let strip: (String) -> String = {
                    $0.split(separator: "\n").filter { !$0.hasPrefix("Comment:") }.joined(separator: "\n")
                }
                #expect(strip(mine.stdout) == strip(theirs.stdout))
                #expect(mine.stdout.contains("Comment: \""))
            } else {
                #expect(mine.stdout == theirs.stdout, "\(fmt)")
            }
            // ssh-keygen -i reads ours back; we read theirs back.
            try writeText(dir.path("conv"), mine.stdout, mode: 0o644)
            // ssh-keygen -i -m PEM reads only PKCS#1 RSA keys; ECDSA "PEM" is SubjectPublicKeyInfo.
            let importFormat = (fmt == "pem" && type != "rsa") ? "PKCS8" : m
            let back = try keygen(["-i", "-m", importFormat, "-f", dir.path("conv")])
            #expect(keyPart(back.stdout) == keyPart(try readText(key + ".pub")))
            try writeText(dir.path("theirs"), theirs.stdout, mode: 0o644)
            let ours = try keysmith("convert", "-f", dir.path("theirs"), "--to", "openssh")
            #expect(ours.stdout == back.stdout)
        }
    }

    @Test("convert a private key to PEM and PKCS#8 in place", arguments: ["rsa", "ecdsa"])
    func convertPrivate(_ type: String) throws {
        let dir = try TempDir()
        let key = dir.path("k")
        try #require(try keygen(["-q", "-t", type, "-f", key, "-N", ""]).status == 0)
        let y = try keygen(["-y", "-f", key]).stdout
        for (to, header) in [
            ("pem", type == "rsa" ? "RSA PRIVATE KEY" : "EC PRIVATE KEY"), ("pkcs8", "PRIVATE KEY"),
            ("openssh", "OPENSSH PRIVATE KEY"),
        ] {
            let r = try keysmith("convert", "-f", key, "--to", to)
            #expect(r.status == 0, "\(r)")
            #expect(try readText(key).hasPrefix("-----BEGIN \(header)-----\n"))
            #expect(keyPart(try keygen(["-y", "-f", key]).stdout) == keyPart(y))
        }
        // An unencrypted PEM key we write is byte-identical to ssh-keygen's conversion.
        let copy = dir.path("copy")
        try FileManager.default.copyItem(atPath: key, toPath: copy)
        try #require(try keygen(["-q", "-p", "-N", "", "-P", "", "-m", "PEM", "-f", copy]).status == 0)
        try #require(try keysmith("convert", "-f", key, "--to", "pem").status == 0)
        #expect(try readBytes(key) == (try readBytes(copy)))
    }
}
