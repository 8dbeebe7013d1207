import Foundation
import KeysmithTestSupport
import Testing

/// keysmith run through a link named `ssh-keygen` against the real ssh-keygen: the same
/// command line in two directories (`ours/`, `theirs/`) holding the same files, compared
/// byte for byte on stdout, stderr and exit status. Only what is random is normalised (a
/// fresh key's fingerprint and randomart); the files each writes are then read by the other.
@Suite("ssh-keygen link")
struct SSHKeygenLinkTests {
    /// Two working directories with the same files and a `ssh-keygen` link to keysmith.
    final class Pair: Sendable {
        let dir: TempDir
        let link: String

        init() throws {
            self.dir = try TempDir()
            self.link = self.dir.path("bin/ssh-keygen")
            for sub in ["bin", "ours", "theirs"] {
                try FileManager.default.createDirectory(atPath: self.dir.path(sub), withIntermediateDirectories: true)
            }
            try FileManager.default.createSymbolicLink(atPath: self.link, withDestinationPath: keysmithPath)
        }

        func ours(_ name: String) -> String { self.dir.path("ours/" + name) }
        func theirs(_ name: String) -> String { self.dir.path("theirs/" + name) }

        /// Makes a key with the real ssh-keygen and copies it into both directories.
        func key(_ name: String, _ arguments: [String]) throws {
            let made = try keygen(["-q", "-f", self.dir.path(name)] + arguments)
            try #require(made.status == 0, "\(made)")
            for suffix in ["", ".pub"] {
                let bytes = try readBytes(self.dir.path(name + suffix))
                for side in ["ours/", "theirs/"] {
                    try bytes.write(to: URL(fileURLWithPath: self.dir.path(side + name + suffix)))
                    chmod(self.dir.path(side + name + suffix), suffix.isEmpty ? 0o600 : 0o644)
                }
            }
        }

        func write(_ name: String, _ text: String) throws {
            try self.dir.write("ours/" + name, text)
            try self.dir.write("theirs/" + name, text)
        }

        /// Runs `arguments` through the link in ours/ and through ssh-keygen in theirs/,
        /// without a controlling terminal (setsid) and without askpass, so a prompt reads
        /// standard input as ssh-keygen's readpassphrase then does.
        func run(
            _ arguments: [String],
            input: String? = nil,
            environment: [String: String] = [:]
        ) throws -> (ours: ProcessResult, theirs: ProcessResult) {
            let ours = try self.run(self.link, arguments, input: input, environment: environment, in: "ours")
            let theirs = try self.run(Tool.sshKeygen, arguments, input: input, environment: environment, in: "theirs")
            return (ours, theirs)
        }

        func run(
            _ program: String,
            _ arguments: [String],
            input: String? = nil,
            environment: [String: String] = [:],
            in side: String
        ) throws -> ProcessResult {
            try runProcess(
                "/usr/bin/setsid",
                ["-w", program] + arguments,
                input: input.map { Data($0.utf8) },
                environment: ["DISPLAY": "", "WAYLAND_DISPLAY": "", "SSH_ASKPASS": "", "SSH_ASKPASS_REQUIRE": ""]
                    .merging(environment) { _, new in new },
                directory: URL(fileURLWithPath: self.dir.path(side))
            )
        }

        /// Runs `arguments` both ways and expects the same bytes and status.
        @discardableResult
        func expectSame(
            _ arguments: [String],
            input: String? = nil,
            environment: [String: String] = [:],
            status: Int32? = nil,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> ProcessResult {
            let (ours, theirs) = try self.run(arguments, input: input, environment: environment)
            #expect(ours.stdout == theirs.stdout, "stdout of \(arguments)", sourceLocation: sourceLocation)
            #expect(
                ours.stderrData == theirs.stderrData,
                "stderr of \(arguments): \(ours.stderr) vs \(theirs.stderr)",
                sourceLocation: sourceLocation
            )
            #expect(
                ours.status == theirs.status,
                "status of \(arguments): \(ours) vs \(theirs)",
                sourceLocation: sourceLocation
            )
            if let status { #expect(theirs.status == status, "\(theirs)", sourceLocation: sourceLocation) }
            return ours
        }
    }

    @Test(
        "usage errors: getopt's message, then ssh-keygen's usage text, exit 1",
        arguments: [
            ["-x"], ["-f"], ["-t"], ["-y", "-f", "k", "extra"], ["-p", "-c", "-f", "k"], ["-l", "-R", "host"],
            ["-l", "-H"], ["-s", "ca.pub", "-I", "id"], ["-yx"],
        ]
    )
    func usageErrors(arguments: [String]) throws {
        let pair = try Pair()
        let ours = try pair.expectSame(arguments, status: 1)
        #expect(ours.stderr.contains("usage: ssh-keygen [-q] [-a rounds]"))
    }

    @Test(
        "fatal option values: ssh-keygen's sentence and exit 255",
        arguments: [
            ["-b", "abc"], ["-b", "0"], ["-b", "99999999999"], ["-E", "sha3", "-l", "-f", "k.pub"], ["-m", "der"],
            ["-Z", "rot13"], ["-a", "0"], ["-a", "x"], ["-t", "foo", "-f", "n", "-N", ""],
            ["-t", "rsa", "-b", "100", "-f", "n", "-N", ""], ["-t", "rsa", "-b", "20000", "-f", "n", "-N", ""],
            ["-t", "ecdsa", "-b", "300", "-f", "n", "-N", ""], ["-M", "sieve"],
        ]
    )
    func fatalValues(arguments: [String]) throws {
        let pair = try Pair()
        try pair.key("k", ["-t", "ed25519", "-N", ""])
        try pair.expectSame(arguments, status: 255)
        #expect(!FileManager.default.fileExists(atPath: pair.ours("n")))
    }

    @Test("-y prints the public key of plain and encrypted keys, by -P or a passphrase read from standard input")
    func printPublic() throws {
        let pair = try Pair()
        try pair.key("plain", ["-t", "ed25519", "-N", "", "-C", "plain comment"])
        try pair.key("enc", ["-t", "ecdsa", "-N", "secret", "-C", "c1"])
        try pair.key("rsa", ["-t", "rsa", "-b", "1024", "-N", "", "-m", "PEM"])
        try pair.key("nocomment", ["-t", "ed25519", "-N", "", "-C", ""])
        try pair.expectSame(["-y", "-f", "plain"], status: 0)
        try pair.expectSame(["-y", "-f", "rsa"], status: 0)
        try pair.expectSame(["-yf", "nocomment"], status: 0)
        try pair.expectSame(["-y", "-f", "enc", "-P", "secret"], status: 0)
        try pair.expectSame(["-y", "-f", "enc"], input: "secret\n", status: 0)
        try pair.expectSame(["-y", "-f", "enc", "-P", "wrong"], status: 255)
        try pair.expectSame(["-y", "-f", "enc"], input: "wrong\n", status: 255)
        try pair.expectSame(["-y", "-f", "enc"], status: 255)
        try pair.expectSame(["-y", "-f", "missing"], status: 255)
        try pair.expectSame(["-y", "-f", "plain.pub"], status: 255)
        try pair.expectSame(["-y"], input: "plain\n", status: 0)
        try pair.expectSame(["-y"], status: 1)
    }

    @Test("-l, -l -v, -E and -B list keys of every kind of file as ssh-keygen does")
    func fingerprints() throws {
        let pair = try Pair()
        try pair.key("ed", ["-t", "ed25519", "-N", "", "-C", "ed comment"])
        try pair.key("ec", ["-t", "ecdsa", "-b", "384", "-N", "pw", "-C", "ec"])
        try pair.key("rsa", ["-t", "rsa", "-b", "1024", "-N", "", "-m", "PEM"])
        let lines = try [readText(pair.ours("ed.pub")), readText(pair.ours("ec.pub"))]
        try pair.write("authorized_keys", "# keys\n\nfrom=\"10.0.0.1\" " + lines[0] + "not a key\n" + lines[1])
        try pair.write("known_hosts", "host1,10.0.0.2 " + lines[1] + "[host2]:2222 " + lines[0])
        try pair.write("text", "nothing here\n")
        try pair.write("mixed", "word\r\n  # comment\n\"quoted host\" " + lines[0] + "2048 35 12345 ssh1\n")
        for file in ["ed.pub", "ed", "ec", "ec.pub", "rsa", "rsa.pub", "authorized_keys", "known_hosts", "mixed"] {
            try pair.expectSame(["-l", "-f", file], status: 0)
            try pair.expectSame(["-lv", "-f", file], status: 0)
            try pair.expectSame(["-l", "-E", "md5", "-f", file], status: 0)
            try pair.expectSame(["-B", "-f", file], status: 0)
        }
        try pair.expectSame(["-l", "-f", "-"], input: lines[0], status: 0)
        try pair.expectSame(["-l", "-f", "missing"], status: 255)
        try pair.expectSame(["-B", "-f", "missing"], status: 255)
        try pair.expectSame(["-l", "-f", "text"], status: 255)
    }

    /// The stdout of key generation with the fresh key's fingerprint and randomart taken out.
    static func normalised(_ stdout: String) -> String {
        var lines = stdout.components(separatedBy: "\n")
        if let index = lines.firstIndex(of: "The key fingerprint is:"), index + 1 < lines.count {
            lines[index + 1] = lines[index + 1].split(separator: " ").dropFirst().joined(separator: " ")
            for row in (index + 4)..<min(index + 13, lines.count) { lines[row] = "|(randomart)|" }
        }
        return lines.joined(separator: "\n")
    }

    @Test(
        "generating keys: the same lines, and each tool reads the other's files",
        arguments: [
            ["-t", "ed25519"], ["-t", "ecdsa"], ["-t", "ecdsa", "-b", "521"], ["-t", "ecdsa-sha2-nistp384"],
            ["-t", "rsa", "-b", "1024"], ["-t", "ED25519", "-E", "md5"], ["-t", "ed25519", "-m", "PEM"],
            ["-t", "ecdsa", "-m", "PKCS8"], ["-t", "ed25519", "-Z", "aes128-ctr", "-a", "4"], ["-q", "-t", "ed25519"],
            [],
        ]
    )
    func generate(arguments: [String]) throws {
        let pair = try Pair()
        let (ours, theirs) = try pair.run(arguments + ["-C", "made here", "-N", "secret", "-f", "k"])
        #expect(ours.status == 0 && theirs.status == 0, "\(ours) \(theirs)")
        #expect(ours.stderrData == theirs.stderrData)
        #expect(Self.normalised(ours.stdout) == Self.normalised(theirs.stdout), "\(ours.stdout)\n\(theirs.stdout)")
        // ssh-keygen reads keysmith's key and prints the fingerprint keysmith printed.
        let publicLine = try readText(pair.ours("k.pub"))
        let derived = try keygen(["-y", "-P", "secret", "-f", pair.ours("k")])
        #expect(derived.status == 0 && keyPart(derived.stdout) == keyPart(publicLine))
        #expect(publicLine.hasSuffix(" made here\n"))
        #expect(try fileMode(pair.ours("k")) == 0o600 && fileMode(pair.ours("k.pub")) == 0o644)
        if !arguments.contains("-q") {
            let hash = arguments.contains("md5") ? ["-E", "md5"] : []
            let listed = try keygen(["-l", "-f", pair.ours("k.pub")] + hash)
            let shown = ours.stdout.components(separatedBy: "\n").drop { $0 != "The key fingerprint is:" }.dropFirst()
                .first
            #expect(
                listed.stdout.split(separator: " ").dropFirst().first.map(String.init)
                    == shown?.split(separator: " ").first.map(String.init)
            )
        }
        // The link reads what ssh-keygen wrote.
        let back = try pair.run(["-y", "-P", "secret", "-f", pair.theirs("k")])
        #expect(back.ours.status == 0 && back.ours.stdout == back.theirs.stdout)
    }

    @Test("generating asks the file name, whether to overwrite, and the passphrase twice as ssh-keygen asks")
    func generatePrompts() throws {
        let pair = try Pair()
        // The file name (the default is under the password entry's home, the same for both).
        var (ours, theirs) = try pair.run(["-t", "ed25519", "-N", "", "-C", "c"], input: "k\n")
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(Self.normalised(ours.stdout) == Self.normalised(theirs.stdout), "\(ours.stdout)\n\(theirs.stdout)")
        // An existing file: "n" and end of input leave it; "y" replaces it.
        try pair.expectSame(["-t", "ed25519", "-N", "", "-f", "k"], input: "n\n", status: 1)
        try pair.expectSame(["-t", "ed25519", "-N", "", "-f", "k"], status: 1)
        (ours, theirs) = try pair.run(["-t", "ed25519", "-N", "", "-f", "k", "-C", "c"], input: "y\n")
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(Self.normalised(ours.stdout) == Self.normalised(theirs.stdout), "\(ours.stdout)\n\(theirs.stdout)")
        // The passphrase twice; a mismatch asks again.
        (ours, theirs) = try pair.run(["-t", "ed25519", "-f", "p", "-C", "c"], input: "one\ntwo\nsame\nsame\n")
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.stderrData == theirs.stderrData, "\(ours.stderr)")
        #expect(Self.normalised(ours.stdout) == Self.normalised(theirs.stdout), "\(ours.stdout)\n\(theirs.stdout)")
        #expect(try keygen(["-y", "-P", "same", "-f", pair.ours("p")]).status == 0)
    }

    @Test("-p changes the passphrase, by options or asked, and refuses a wrong one")
    func changePassphrase() throws {
        let pair = try Pair()
        try pair.key("k", ["-t", "ed25519", "-N", "old", "-C", "c1"])
        try pair.key("rsa", ["-t", "rsa", "-b", "1024", "-N", "", "-m", "PEM"])
        try pair.expectSame(["-p", "-f", "k", "-P", "wrong", "-N", "new"], status: 255)
        try pair.expectSame(["-p", "-f", "missing", "-N", "x"], status: 255)
        try pair.expectSame(["-p", "-f", "k", "-P", "old", "-N", "new"], status: 0)
        try pair.expectSame(["-p", "-f", "k"], input: "new\nnewer\nnewer\n", status: 0)
        try pair.expectSame(["-p", "-f", "k"], input: "newer\na\nb\n", status: 1)
        try pair.expectSame(["-p", "-f", "rsa", "-N", "pw", "-m", "PEM"], status: 1)
        try pair.expectSame(["-p", "-f", "rsa", "-N", "secret", "-m", "PEM"], status: 0)
        for side in [pair.ours("k"), pair.theirs("k")] {
            #expect(try keygen(["-y", "-P", "newer", "-f", side]).status == 0)
        }
        let ours = try keygen(["-y", "-P", "secret", "-f", pair.ours("rsa")])
        let theirs = try keygen(["-y", "-P", "secret", "-f", pair.theirs("rsa")])
        #expect(ours.status == 0 && ours.stdout == theirs.stdout)
        #expect(try readText(pair.ours("rsa")).hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
    }

    @Test("-c changes the comment of the key and its .pub")
    func changeComment() throws {
        let pair = try Pair()
        try pair.key("k", ["-t", "ed25519", "-N", "", "-C", "old"])
        try pair.key("enc", ["-t", "ecdsa", "-N", "pw", "-C", "e"])
        try pair.expectSame(["-c", "-f", "k", "-C", "new comment"], status: 0)
        try pair.expectSame(["-c", "-f", "k", "-C", "new comment"], status: 0)
        try pair.expectSame(["-c", "-f", "k"], input: "typed\n", status: 0)
        try pair.expectSame(["-c", "-f", "k", "-C", ""], status: 0)
        try pair.expectSame(["-c", "-f", "enc", "-P", "pw", "-C", "x"], status: 0)
        try pair.expectSame(["-c", "-f", "enc", "-P", "bad", "-C", "y"], status: 255)
        try pair.expectSame(["-c", "-f", "missing", "-C", "y"], status: 255)
        #expect(try readText(pair.ours("k.pub")) == readText(pair.theirs("k.pub")))
        let listed = try keygen(["-l", "-f", pair.ours("enc")])
        #expect(listed.stdout.contains(" x (ECDSA)"), "\(listed)")
    }

    @Test(
        "operations keysmith does not implement are refused in one sentence with exit status 1",
        arguments: [
            ["-M", "generate", "out"], ["-D", "/lib/p11.so"], ["-t", "dsa", "-f", "d", "-N", ""],
        ]
    )
    func refused(arguments: [String]) throws {
        let pair = try Pair()
        // (ssh-keygen itself would search for moduli or a FIDO token here.)
        let ours = try pair.run(pair.link, arguments, in: "ours")
        #expect(ours.status == 1 && ours.stdout.isEmpty)
        #expect(ours.stderr.hasPrefix("ssh-keygen (keysmith): ") && ours.stderr.contains("not implemented"), "\(ours)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: pair.dir.path("ours")).filter { $0 != "k.pub" } == []
        )
    }
}

extension SSHKeygenLinkTests {
    @Test("-L shows certificates, and names the lines that hold none")
    func showCertificates() throws {
        let pair = try Pair()
        try pair.key("ca", ["-t", "ed25519", "-N", ""])
        try pair.key("user", ["-t", "ecdsa", "-N", ""])
        let signed = try keygen([
            "-q", "-s", pair.dir.path("ca"), "-I", "someone", "-n", "alice,bob", "-V", "20200101:20300101", "-z", "7",
            "-O", "force-command=/bin/true", pair.dir.path("user.pub"),
        ])
        try #require(signed.status == 0, "\(signed)")
        let certificate = try readText(pair.dir.path("user-cert.pub"))
        try pair.write("user-cert.pub", certificate)
        try pair.write("mixed", "# c\n" + (try readText(pair.dir.path("ca.pub"))) + "garbage here\n" + certificate)
        try pair.expectSame(["-L", "-f", "user-cert.pub"], status: 0)
        try pair.expectSame(["-L", "-f", "mixed"], status: 0)
        for hash in ["md5", "sha1", "SHA512"] {
            try pair.expectSame(["-L", "-E", hash, "-f", "mixed"], status: 0)
        }
        try pair.expectSame(["-L", "-f", "-"], input: certificate, status: 0)
        try pair.expectSame(["-L", "-f", "ca.pub"], status: 1)
        try pair.expectSame(["-L", "-f", "missing"], status: 255)
    }
}

extension SSHKeygenLinkTests {
    @Test("-e exports public keys as RFC 4716, PKCS8 and PEM; ssh-keygen -i reads them back")
    func export() throws {
        let pair = try Pair()
        try pair.key("ed", ["-t", "ed25519", "-N", ""])
        try pair.key("ec", ["-t", "ecdsa", "-b", "384", "-N", ""])
        try pair.key("rsa", ["-t", "rsa", "-b", "1024", "-N", "secret"])
        try FileManager.default.removeItem(atPath: pair.ours("rsa.pub"))
        try FileManager.default.removeItem(atPath: pair.theirs("rsa.pub"))
        for file in ["ed", "ed.pub", "ec", "ec.pub"] {
            for format in ["RFC4716", "PKCS8", "PEM"] {
                try pair.expectSame(["-e", "-f", file, "-m", format])
            }
        }
        for format in ["RFC4716", "PKCS8", "PEM"] {
            let ours = try pair.expectSame(["-e", "-f", "rsa", "-m", format, "-P", "secret"], status: 0)
            try pair.write("exported", ours.stdout)
            let back = try keygen(["-i", "-m", format, "-f", pair.ours("exported")])
            #expect(back.status == 0 && back.stdout.hasPrefix("ssh-rsa "), "\(back)")
        }
        try pair.expectSame(["-e", "-f", "rsa"], status: 0)
        // A PEM private key holds no public half: its passphrase is asked.
        try pair.key("pem", ["-t", "ecdsa", "-N", "secret", "-m", "PEM"])
        try FileManager.default.removeItem(atPath: pair.ours("pem.pub"))
        try FileManager.default.removeItem(atPath: pair.theirs("pem.pub"))
        try pair.expectSame(["-e", "-f", "pem"], input: "secret\n", status: 0)
        try pair.expectSame(["-e", "-f", "missing"], status: 255)
    }
}

extension SSHKeygenLinkTests {
    @Test("-F finds, -R removes and -H hashes known_hosts entries as ssh-keygen does")
    func knownHosts() throws {
        let pair = try Pair()
        try pair.key("a", ["-t", "ed25519", "-N", ""])
        try pair.key("b", ["-t", "ecdsa", "-N", ""])
        let a = keyPart(try readText(pair.ours("a.pub")))
        let b = keyPart(try readText(pair.ours("b.pub")))
        let text = "host1,10.0.0.2 \(a)\n# comment\n[host2]:2222 \(b)\n@cert-authority *.example \(a)\nhost3 \(b)\n"
        try pair.write("kh", text)
        try pair.expectSame(["-F", "host1", "-f", "kh"], status: 0)
        try pair.expectSame(["-F", "[host2]:2222", "-f", "kh"], status: 0)
        try pair.expectSame(["-F", "nohost", "-f", "kh"], status: 1)
        try pair.expectSame(["-R", "nohost", "-f", "kh"], status: 0)
        try pair.expectSame(["-R", "host1", "-f", "kh"], status: 0)
        #expect(try readText(pair.ours("kh")) == readText(pair.theirs("kh")))
        #expect(try readText(pair.ours("kh.old")) == text)
        try pair.expectSame(["-H", "-f", "kh"], status: 0)
        // Hashed names are salted at random: ssh-keygen finds the hosts in keysmith's file.
        for host in ["[host2]:2222", "host3"] {
            let found = try keygen(["-F", host, "-f", pair.ours("kh")])
            #expect(found.status == 0 && found.stdout.contains(b), "\(found)")
        }
        try pair.expectSame(["-F", "host3", "-f", "missing"], status: 255)
        try pair.expectSame(["-R", "host3", "-f", "missing"], status: 255)
    }
}

extension SSHKeygenLinkTests {
    @Test("-F -l [-v] [-E] [-B] prints found entries' fingerprints, -R -H hashes and finds nothing, as ssh-keygen 9.2")
    func knownHostsFingerprints() throws {
        let pair = try Pair()
        try pair.key("a", ["-t", "ed25519", "-N", ""])
        try pair.key("b", ["-t", "rsa", "-b", "1024", "-N", ""])
        let a = keyPart(try readText(pair.ours("a.pub")))
        let b = keyPart(try readText(pair.ours("b.pub")))
        let valid = "host1,10.0.0.2 \(a) first one\n# comment\n@cert-authority host1 \(b)\n*.example \(b)\nhost2 \(b)\n"
        try pair.write("kh", valid)
        // A key that does not decode (-F without -l prints it, -l passes over it) and a bad marker.
        try pair.write("bad", valid + "host1 ssh-ed25519 AAAAnotakey\n@bogus host1 \(a)\n")
        for arguments in [
            ["-F", "host1", "-l"], ["-F", "host1", "-l", "-v"], ["-F", "host1", "-v"], ["-F", "HOST1", "-lE", "md5"],
            ["-F", "host1", "-lB"], ["-F", "host2", "-lv", "-E", "sha512"],
        ] {
            try pair.expectSame(arguments + ["-f", "kh"], status: 0)
            try pair.expectSame(arguments + ["-f", "bad"], status: 0)
        }
        try pair.expectSame(["-F", "nohost", "-l", "-f", "kh"], status: 1)
        // -q leaves out the "found" lines; -F -l finds no entry whose key does not decode.
        try pair.write("undecodable", "host9 ssh-ed25519 AAAAnotakey\n")
        try pair.expectSame(["-F", "host9", "-l", "-f", "undecodable"], status: 1)
        try pair.expectSame(["-F", "host9", "-f", "undecodable"], status: 0)
        for arguments in [["-F", "host1", "-q"], ["-F", "host1", "-ql"], ["-F", "host1", "-q", "-v"]] {
            try pair.expectSame(arguments + ["-f", "kh"], status: 0)
        }
        try pair.expectSame(["-F", "host1", "-l", "-f", "missing"], status: 255)
        for arguments in [["-R", "host1", "-H"], ["-R", "nohost", "-H", "-v"]] {
            try pair.expectSame(arguments + ["-f", "kh"], status: 0)
            #expect(try readText(pair.ours("kh")) == valid)
            #expect(!FileManager.default.fileExists(atPath: pair.ours("kh.old")))
        }
        for arguments in [
            ["-R", "host1", "-H"], ["-R", "host1", "-H", "-v"], ["-H", "-v"], ["-R", "host1", "-v"],
            ["-R", "host1", "-q"],
        ] {
            try pair.expectSame(arguments + ["-f", "bad"], status: 1)
        }
        // -F with -R deletes onto stdout and leaves the file; the last of -F and -R names the host.
        try pair.write("cut", valid + "host1 ssh-ed25519\n")
        for arguments in [
            ["-F", "host1", "-R", "host1"], ["-R", "nohost", "-F", "host1", "-q"], ["-F", "host1", "-R", "nohost"],
            ["-F", "*.example", "-R", "*.example"],
        ] {
            try pair.expectSame(arguments + ["-f", "kh"])
            try pair.expectSame(arguments + ["-f", "cut"])
        }
        #expect(try readText(pair.ours("kh")) == valid)
        try pair.expectSame(["-R", "host2", "-q", "-f", "kh"], status: 0)
        #expect(try readText(pair.ours("kh")) == readText(pair.theirs("kh")))
    }
}

extension SSHKeygenLinkTests {
    @Test("-s signs user and host certificates as ssh-keygen does, and ssh-keygen -L reads them alike")
    func signCertificates() throws {
        let pair = try Pair()
        try pair.key("ca", ["-t", "ed25519", "-N", ""])
        try pair.key("rsaca", ["-t", "rsa", "-b", "1024", "-N", "secret"])
        try pair.key("user", ["-t", "ecdsa", "-N", ""])
        try pair.key("host", ["-t", "ed25519", "-N", ""])
        try pair.write("junk", "not a key\n")
        try pair.write("junk.pub", "not a key either\n")
        let signings: [(arguments: [String], input: String?, certificates: [String])] = [
            (
                [
                    "-s", "ca", "-I", "someone", "-n", "alice,bob", "-V", "20200101:20300101", "-z", "7", "-O",
                    "force-command=/bin/true", "-O", "no-pty", "user.pub",
                ], nil, ["user-cert.pub"]
            ),
            (
                ["-s", "ca", "-I", "h", "-h", "-z", "+3", "-n", "host.example", "host", "user"], nil,
                ["host-cert.pub", "user-cert.pub"]
            ),
            (["-s", "rsaca", "-P", "secret", "-I", "r", "-t", "rsa-sha2-256", "user.pub"], nil, ["user-cert.pub"]),
            (["-s", "rsaca", "-I", "r", "-V", "always:20300101", "user.pub"], "secret\n", ["user-cert.pub"]),
            (
                ["-q", "-s", "ca", "-I", "q", "-O", "clear", "-O", "source-address=10.0.0.0/8", "host.pub"], nil,
                ["host-cert.pub"]
            ),
        ]
        for signing in signings {
            try pair.expectSame(signing.arguments, input: signing.input, status: 0)
            try Self.expectSameCertificates(pair, signing.certificates, signing.arguments)
        }
        for arguments in [
            ["-s", "ca", "-I", "x", "missing.pub"], ["-s", "nothing", "-I", "x", "user.pub"],
            ["-s", "ca", "-I", "x", "-O", "bogus", "user.pub"],
            ["-s", "ca", "-I", "x", "-V", "20300101:20200101", "user.pub"],
            ["-s", "ca", "-I", "x", "-V", "2020:2030", "user.pub"], ["-s", "ca", "-I", "x", "-z", "abc", "user.pub"],
            ["-s", "ca", "-I", "x", "-t", "rsa-sha2-256", "user.pub"],
            ["-s", "ca", "-I", "x", "-n", "a,,b", "user.pub"],
            ["-s", "ca", "-I", "x", "user-cert.pub"], ["-s", "ca", "user.pub"], ["-s", "ca", "-I", "x", "junk"],
            ["-k", "-f", "krl", "-s", "junk", "user.pub"],
        ] {
            try pair.expectSame(arguments, status: 255)
        }
    }
}

extension SSHKeygenLinkTests {
    /// The certificates `names` that each side wrote, as ssh-keygen -L reads (and verifies)
    /// them, the same but for the nonce and signature, which are random; their comments too.
    static func expectSameCertificates(
        _ pair: Pair,
        _ names: [String],
        _ arguments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for name in names {
            let ours = try keygen(["-L", "-f", pair.ours(name)])
            let theirs = try keygen(["-L", "-f", pair.theirs(name)])
            #expect(ours.status == 0 && !ours.stdout.isEmpty, "\(ours)", sourceLocation: sourceLocation)
            #expect(
                ours.stdout.replacingOccurrences(of: "/ours/", with: "/theirs/") == theirs.stdout,
                "\(arguments)",
                sourceLocation: sourceLocation
            )
            #expect(
                try readText(pair.ours(name)).split(separator: " ").last
                    == (try readText(pair.theirs(name))).split(separator: " ").last,
                sourceLocation: sourceLocation
            )
        }
    }

    @Test("-s -U signs with the CA key ssh-agent holds, and fails as ssh-keygen does when it cannot")
    func signWithAgent() throws {
        let pair = try Pair()
        try pair.key("ca", ["-t", "ed25519", "-N", ""])
        try pair.key("rsaca", ["-t", "rsa", "-b", "1024", "-N", ""])
        try pair.key("confirmed", ["-t", "ed25519", "-N", ""])
        try pair.key("user", ["-t", "ecdsa", "-N", ""])
        try pair.key("host", ["-t", "ed25519", "-N", ""])
        // An agent whose askpass says no: a key added with -c is then refused at each use.
        let agent = try SSHAgentFixture(environment: ["SSH_ASKPASS": "/bin/false", "DISPLAY": ":0"])
        let env = ["SSH_AUTH_SOCK": agent.socket]
        let sign = ["-s", "ca.pub", "-U", "-I", "id", "user.pub"]
        try pair.expectSame(sign, environment: ["SSH_AUTH_SOCK": ""], status: 255)
        try pair.expectSame(sign, environment: ["SSH_AUTH_SOCK": pair.dir.path("no-agent")], status: 255)
        try pair.expectSame(sign, environment: env, status: 255)
        func add(_ arguments: [String]) throws {
            _ = try runProcess("/usr/bin/ssh-add", ["-q"] + arguments, environment: env).checked("ssh-add")
        }
        try add([pair.dir.path("host")])
        try pair.expectSame(sign, environment: env, status: 255)
        try add([pair.dir.path("ca"), pair.dir.path("rsaca")])
        try add(["-c", pair.dir.path("confirmed")])
        let signings: [(arguments: [String], certificates: [String])] = [
            (
                [
                    "-s", "ca.pub", "-U", "-I", "someone", "-n", "alice,bob", "-V", "20200101:20300101", "-z", "+7",
                    "-O", "no-pty", "user.pub", "host",
                ], ["user-cert.pub", "host-cert.pub"]
            ),
            (["-s", "ca", "-U", "-h", "-I", "h", "-n", "host.example", "host.pub"], ["host-cert.pub"]),
            (["-s", "rsaca.pub", "-U", "-I", "r", "user.pub"], ["user-cert.pub"]),
            (["-q", "-s", "rsaca", "-U", "-I", "r", "-t", "rsa-sha2-256", "user.pub"], ["user-cert.pub"]),
        ]
        for signing in signings {
            try pair.expectSame(signing.arguments, environment: env, status: 0)
            try Self.expectSameCertificates(pair, signing.certificates, signing.arguments)
        }
        for arguments in [
            ["-s", "missing.pub", "-U", "-I", "x", "user.pub"], ["-s", "ca.pub", "-U", "-I", "x", "missing.pub"],
            ["-s", "ca.pub", "-U", "-I", "x", "-t", "rsa-sha2-256", "user.pub"],
            ["-s", "confirmed.pub", "-U", "-I", "x", "user.pub"],
        ] {
            try pair.expectSame(arguments, environment: env, status: 255)
        }
    }

    @Test(
        "-s with a security key CA signs on the authenticator of -w or SSH_SK_PROVIDER",
        arguments: ["ed25519-sk", "ecdsa-sk"]
    )
    func signWithSecurityKey(_ type: String) throws {
        let pair = try Pair()
        let library = try SoftAuthenticator.path()
        try pair.key("ca", ["-t", type, "-w", library, "-N", ""])
        try pair.key("verified", ["-t", type, "-w", library, "-N", "", "-O", "verify-required"])
        try pair.key("user", ["-t", "ed25519", "-N", ""])
        let pin = SoftAuthenticator.environment([.pin: "4321"])
        let signings: [(arguments: [String], input: String?, environment: [String: String])] = [
            (["-s", "ca", "-I", "id", "-n", "alice", "-z", "3", "-w", library, "user.pub"], nil, [:]),
            (["-s", "ca", "-I", "id", "-h", "user"], nil, ["SSH_SK_PROVIDER": library]),
            (["-s", "verified", "-I", "v", "-w", library, "user.pub"], "4321\n", pin),
        ]
        for signing in signings {
            try pair.expectSame(signing.arguments, input: signing.input, environment: signing.environment, status: 0)
            try Self.expectSameCertificates(pair, ["user-cert.pub"], signing.arguments)
        }
        // A wrong PIN, an authenticator that fails, and -t naming another type.
        try pair.expectSame(
            ["-s", "verified", "-I", "v", "-w", library, "user.pub"],
            input: "1111\n",
            environment: pin,
            status: 255
        )
        try pair.expectSame(
            ["-s", "ca", "-I", "x", "-w", library, "user.pub"],
            environment: SoftAuthenticator.environment([.fail: "sign"]),
            status: 255
        )
        try pair.expectSame(["-s", "ca", "-I", "x", "-w", library, "-t", "ssh-ed25519", "user.pub"], status: 255)
    }
}

extension SSHKeygenLinkTests {
    /// The files the KRL tests share: keys ca, user and gone, user-cert.pub (serial 9 under
    /// ca), a spec revoking serials 1-5 and 9 and ID bob, a bad spec and a file that is no key.
    static func revocationPair() throws -> Pair {
        let pair = try Pair()
        try pair.key("ca", ["-t", "ed25519", "-N", ""])
        try pair.key("user", ["-t", "ecdsa", "-N", ""])
        try pair.key("gone", ["-t", "ed25519", "-N", ""])
        let signed = try keygen([
            "-q", "-s", pair.dir.path("ca"), "-I", "someone", "-z", "9", pair.dir.path("user.pub"),
        ])
        try #require(signed.status == 0, "\(signed)")
        try pair.write("user-cert.pub", try readText(pair.dir.path("user-cert.pub")))
        try pair.write("spec", "serial: 1-5\nserial: 9\nid: bob\n")
        try pair.write("badspec", "serial: x\n")
        try pair.write("garbage", "not a key\n")
        return pair
    }

    @Test("-Q [-l] tells whether a KRL revokes each key as ssh-keygen does, exit 1 when one is")
    func checkKRL() throws {
        let pair = try Self.revocationPair()
        try pair.key("bare", ["-t", "ed25519", "-N", "", "-C", ""])
        // One KRL, made by ssh-keygen and copied: its generation time is in -l's listing.
        let made = try pair.run(
            Tool.sshKeygen,
            ["-k", "-f", "krl", "-z", "4", "-s", "ca.pub", "spec", "gone.pub"],
            in: "theirs"
        )
        try #require(made.status == 0, "\(made)")
        try Data(try readBytes(pair.theirs("krl"))).write(to: URL(fileURLWithPath: pair.ours("krl")))
        try pair.expectSame(["-Q", "-f", "krl", "user.pub", "bare.pub", "ca.pub", "user"], status: 0)
        try pair.expectSame(["-Q", "-f", "krl", "user.pub", "user-cert.pub", "gone.pub"], status: 1)
        try pair.expectSame(["-Q", "-l", "-f", "krl", "gone"], status: 1)
        try pair.expectSame(["-Q", "-l", "-f", "krl"], status: 0)
        try pair.expectSame(["-Q", "-f", "krl"], status: 0)
        for arguments in [
            ["-Q", "user.pub"], ["-Q", "-f", "missing", "user.pub"], ["-Q", "-f", "user.pub", "user.pub"],
            ["-Q", "-f", "krl", "missing"], ["-Q", "-f", "krl", "garbage"],
        ] {
            try pair.expectSame(arguments, status: 255)
        }
    }
}

extension SSHKeygenLinkTests {
    @Test("-k [-u] writes the KRL ssh-keygen writes (all but its generation time) with its lines and errors")
    func generateKRL() throws {
        let pair = try Self.revocationPair()
        // A KRL's bytes less its generation time (bytes 20 to 28).
        func undated(_ path: String) throws -> Data {
            let bytes = try readBytes(path)
            return bytes.prefix(20) + bytes.dropFirst(28)
        }
        for arguments in [
            ["-k", "-f", "krl", "-s", "ca.pub", "spec", "user-cert.pub", "gone.pub"],
            ["-k", "-f", "krl", "-u", "-z", "7", "-s", "none", "spec"],
            ["-k", "-q", "-f", "other", "-C", "hello", "gone.pub"],
        ] {
            try pair.expectSame(arguments, status: 0)
            let file = arguments[arguments.firstIndex(of: "-f")! + 1]
            #expect(try undated(pair.ours(file)) == (try undated(pair.theirs(file))), "\(arguments)")
            try pair.expectSame(["-Q", "-f", file, "user-cert.pub", "gone.pub", "user.pub"], status: 1)
        }
        for arguments in [
            ["-k", "spec"], ["-k", "-f", "new", "-u", "spec"], ["-k", "-f", "new", "-s", "missing.pub", "spec"],
            ["-k", "-f", "new", "missing"], ["-k", "-f", "new", "-s", "ca.pub", "badspec"],
            ["-k", "-f", "new", "garbage"],
            ["-k", "-f", "new", "-z", "x", "spec"],
        ] {
            try pair.expectSame(arguments, status: 255)
            #expect(!FileManager.default.fileExists(atPath: pair.ours("new")))
        }
    }
}
