import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// What a run of the real `ssh-keygen` produced.
struct KnownHostsKeygenRun {
    var status: Int32
    var stdout: [UInt8]
    /// stderr with log.c's `\r\n` line ends turned into `\n`.
    var stderr: String
}

/// Runs the real `ssh-keygen` in `directory`.
func runKnownHostsKeygen(_ arguments: [String], in directory: TempDir) throws -> KnownHostsKeygenRun {
    let run = try runProcess(Tool.sshKeygen, arguments, directory: directory.url)
    return KnownHostsKeygenRun(
        status: run.status,
        stdout: Array(run.stdoutData),
        stderr: run.stderr.replacingOccurrences(of: "\r\n", with: "\n")
    )
}

/// Keys made with `ssh-keygen -t ed25519`, `-t rsa -b 1024`, `-t ecdsa`; only their text matters.
enum KnownHostsFixture {
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOSbffhdDpk1vTaLWYtjPtB0orWlzyi2QTE7ZURtqSN"
    static let rsa =
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDeIH/qjLv8K1WdwtTK1iwAaUf3OQO22XMBGlYsEyBbAfpqqSdtx3KqbuLxfsf8zD+JevEgEfNchHR0lo9+OmPaon4p7Nu9UYqQmB+zxFO3YjJKt6zdCn9ggp3xZLiREH5Jor7/YsWA3KarPEZ+Q2KkNtwJkNtE0nGyFQcLtrISQQ=="
    static let ecdsa =
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKoNZjmZ4z+u8r8MoolEVEexe5WYOdNiSxJsj7O66O1kq7mv0PowCObJ3HDo3OM1xleB/QtXofHoJb/XZcKneJE="

    /// Made with `ssh-keygen -H` from `hashed.test` and `[hashed.test]:2200` lines.
    static let hashedPlain = "|1|GjuZdD5fvWQ09cEq3e0I+U1CRWw=|aUDSSB7wrxSGQRFH5/joBJVmCHM="
    static let hashedPort = "|1|yjiq6QEeOLOIcZGOcVV260jWaQQ=|f3XM3jneihq7DT/nqiHMitAQ1BI="

    /// A valid file with every kind of line.
    static let valid = """
        # a comment
        example.com,Foo.Example.ORG,10.0.0.1 \(ed25519) laptop key
          \t# indented comment

        [host.test]:2222 \(rsa)
        host.test \(ecdsa)
        *.wild.test,!bad.wild.test \(ed25519)
        @cert-authority *.ca.test \(ed25519)
        @revoked example.com \(rsa)
        \(hashedPlain) \(ed25519)
        \(hashedPort) \(ed25519)
        b.test,a.test,,c.test \(ecdsa)  trailing comment\t
        UPPER.test\t\(rsa)
        host.test,[host.test]:22 \(ed25519)
        crlf.test \(ed25519)\r
        exa?ple.com \(ecdsa)
        ED25519.test ED25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOSbffhdDpk1vTaLWYtjPtB0orWlzyi2QTE7ZURtqSN
        last.test \(rsa)
        """
    // (no final newline: ssh-keygen adds one when it rewrites the file)

    /// Each kind of line ssh-keygen calls invalid, one file each, after a valid line.
    static let invalidLines = [
        "bad line",
        "justhost",
        "x.test ssh-xmss@openssh.com AAAA",
        "x.test unknown-type AAAA",
        "x.test ssh-ed25519",
        "x.test ssh-ed25519 # comment",
        "@revoked",
        "@unknown x.test \(ed25519)",
        "@revoked @revoked x.test \(ed25519)",
        "|1|notbase64!|abc= \(ed25519)",
        "|1|AAAA|abc= \(ed25519)",
        "\r",
    ]

    static let hosts = [
        "example.com", "EXAMPLE.COM", "foo.example.org", "10.0.0.1", "[host.test]:2222", "host.test",
        "[host.test]:22", "x.wild.test", "bad.wild.test", "y.ca.test", "hashed.test", "[hashed.test]:2200",
        "HASHED.test", "a.test", "b.test", "c.test", "upper.test", "crlf.test", "exaxple.com", "ed25519.test",
        "last.test", "nothere", "*", "",
    ]
}

@Suite("KnownHosts")
struct KnownHostsTests {
    func withFile<R>(_ contents: String, _ body: (TempDir, String) throws -> R) throws -> R {
        let dir = try TempDir()
        let path = dir.path("known_hosts")
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return try body(dir, path)
    }

    // MARK: -F

    @Test("find prints what ssh-keygen -F prints", arguments: KnownHostsFixture.hosts)
    func find(host: String) throws {
        try withFile(KnownHostsFixture.valid) { dir, path in
            let file = KnownHostsFile(contents: try KeyFileIO.readFile(path))
            let run = try runKnownHostsKeygen(["-F", host, "-f", "known_hosts"], in: dir)
            let ours = file.findOutput(host: host)
            #expect(String(decoding: ours, as: UTF8.self) == String(decoding: run.stdout, as: UTF8.self))
            #expect(ours == run.stdout)
            #expect(run.status == (file.find(host: host).isEmpty ? 1 : 0))
        }
    }

    @Test("find reports markers, key types and fields")
    func findDetails() throws {
        let file = KnownHostsFile(contents: Array(KnownHostsFixture.valid.utf8))
        let matches = file.find(host: "example.com")
        #expect(matches.map(\.lineNumber) == [2, 9, 16])  // 16 is exa?ple.com
        #expect(matches.map(\.marker) == [nil, .revoked, nil])
        #expect(matches.map(\.entry.keyShortName) == ["ED25519", "RSA", "ECDSA"])
        #expect(matches[0].entry.comment == "laptop key")
        #expect(matches[0].entry.keyType == "ssh-ed25519")
        #expect(
            KnownHostsMessages.found(host: "example.com", lineNumber: 2, marker: nil)
                == "# Host example.com found: line 2 "
        )
        #expect(
            KnownHostsMessages.found(host: "h", lineNumber: 8, marker: .certAuthority) == "# Host h found: line 8 CA"
        )
        #expect(file.find(host: "y.ca.test").map(\.marker) == [.certAuthority])
        #expect(file.find(host: "c.test").map(\.lineNumber) == [12])
        #expect(file.find(host: "[hashed.test]:2200").map(\.lineNumber) == [11])
        #expect(file.find(host: KnownHostsFormat.hostName("hashed.test", port: 2200)).map(\.lineNumber) == [11])
        #expect(KnownHostsFormat.hostName("h", port: 22) == "h")
        #expect(KnownHostsFormat.hostName("h", port: nil) == "h")
        #expect(KnownHostsFormat.hostName("::1", port: 2222) == "[::1]:2222")
        #expect(KnownHostsFormat.keyShortName(forKeyType: "ecdsa-sha2-nistp521") == "ECDSA")
        #expect(KnownHostsFormat.keyShortName(forKeyType: "ssh-rsa-cert-v01@openssh.com") == "RSA-CERT")
        #expect(KnownHostsFormat.keyShortName(forKeyType: "ssh-xmss@openssh.com") == nil)
    }

    @Test("find -l prints host, type, fingerprint and comment as ssh-keygen -lF")
    func findFingerprint() throws {
        try withFile(KnownHostsFixture.valid) { dir, path in
            let run = try runKnownHostsKeygen(["-l", "-F", "example.com", "-f", "known_hosts"], in: dir)
            let lines = String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
            let matches = KnownHostsFile(contents: try KeyFileIO.readFile(path)).find(host: "example.com")
            #expect(lines.count == 2 * matches.count)
            for (i, match) in matches.enumerated() {
                // The fingerprint itself comes from the key; take ssh-keygen's.
                let fingerprint = lines[2 * i + 1].split(separator: " ")[2]
                #expect(
                    lines[2 * i]
                        == KnownHostsMessages.found(
                            host: "example.com",
                            lineNumber: match.lineNumber,
                            marker: match.marker
                        )
                )
                #expect(
                    lines[2 * i + 1]
                        == KnownHostsMessages.fingerprint(
                            host: "example.com",
                            keyShortName: match.entry.keyShortName,
                            fingerprint: String(fingerprint),
                            comment: match.entry.comment
                        )
                )
            }
        }
    }

    // MARK: -R

    @Test("removing gives the bytes ssh-keygen -R writes", arguments: KnownHostsFixture.hosts)
    func remove(host: String) throws {
        try withFile(KnownHostsFixture.valid) { dir, path in
            let original = try KeyFileIO.readFile(path)
            let removal = KnownHostsFile(contents: original).removing(host: host)
            let run = try runKnownHostsKeygen(["-R", host, "-f", "known_hosts"], in: dir)
            #expect(run.status == 0)
            let after = try KeyFileIO.readFile(path)
            if removal.shouldWrite {
                #expect(String(decoding: after, as: UTF8.self) == String(decoding: removal.contents, as: UTF8.self))
                #expect(after == removal.contents)
                #expect(try KeyFileIO.readFile(path + ".old") == original)
                var expected = removal.removedLineNumbers.map {
                    KnownHostsMessages.removed(host: host, lineNumber: $0) + "\n"
                }.joined()
                expected += KnownHostsMessages.updated(path: "known_hosts") + "\n"
                expected +=
                    KnownHostsMessages.originalRetained(backupPath: KnownHostsMessages.backupPath(for: "known_hosts"))
                    + "\n"
                #expect(String(decoding: run.stdout, as: UTF8.self) == expected)
                #expect(run.stderr == "")
            } else {
                #expect(after == original)
                #expect(run.stdout.isEmpty)
                #expect(run.stderr == KnownHostsMessages.notFound(host: host, path: "known_hosts") + "\n")
            }
        }
    }

    @Test("markers are kept when their host is removed")
    func removeKeepsMarkers() {
        let file = KnownHostsFile(contents: Array(KnownHostsFixture.valid.utf8))
        let removal = file.removing(host: "example.com")
        #expect(removal.removedLineNumbers == [2, 16])
        #expect(String(decoding: removal.contents, as: UTF8.self).contains("@revoked example.com"))
        #expect(file.removing(host: "y.ca.test").removedLineNumbers.isEmpty)
        #expect(file.removing(host: "hashed.test").removedLineNumbers == [10])
    }

    @Test("an invalid line stops -R and -H as it stops ssh-keygen", arguments: KnownHostsFixture.invalidLines)
    func invalid(line: String) throws {
        let contents = "a.test \(KnownHostsFixture.ed25519)\n\(line)\nb.test \(KnownHostsFixture.rsa)\n"
        try withFile(contents) { dir, path in
            let file = KnownHostsFile(contents: try KeyFileIO.readFile(path))
            let removal = file.removing(host: "a.test")
            let run = try runKnownHostsKeygen(["-R", "a.test", "-f", "known_hosts"], in: dir)
            #expect(run.status == 1)
            #expect(!removal.isValid)
            #expect(removal.invalidLineNumbers == [2])
            #expect(try KeyFileIO.readFile(path) == Array(contents.utf8))
            let expected =
                removal.invalidLineNumbers.map {
                    KnownHostsMessages.invalidLine(path: "known_hosts", lineNumber: $0) + "\n"
                }.joined()
                + KnownHostsMessages.notValidFile(path: "known_hosts") + "\n" + KnownHostsMessages.notReplacing + "\n"
            #expect(run.stderr == expected)
            #expect(file.find(host: "x.test").isEmpty)
            #expect(file.find(host: "a.test").map(\.lineNumber) == [1])
        }
    }

    @Test("hashed names with a damaged salt are valid for -H (no host to match)")
    func damagedSaltHashing() throws {
        for line in ["|1|notbase64!|abc= \(KnownHostsFixture.ed25519)", "|1|AAAA|abc= \(KnownHostsFixture.ed25519)"] {
            try withFile(line + "\n") { dir, path in
                let hashing = KnownHostsFile(contents: try KeyFileIO.readFile(path)).hashed()
                let run = try runKnownHostsKeygen(["-H", "-f", "known_hosts"], in: dir)
                #expect(run.status == 0)
                #expect(hashing.isValid)
                #expect(try KeyFileIO.readFile(path) == hashing.contents)
            }
        }
    }

    // MARK: -H

    @Test("hashing finds the same hosts ssh-keygen -H does, line for line")
    func hash() throws {
        try withFile(KnownHostsFixture.valid) { dir, path in
            let original = try KeyFileIO.readFile(path)
            let ours = KnownHostsFile(contents: original).hashed()
            #expect(ours.isValid)
            #expect(ours.hadUnhashedEntries)
            try KeyFileIO.writeAtomically(
                path: dir.path("ours"),
                contents: ours.contents,
                mode: 0o644,
                overwrite: false
            )

            let run = try runKnownHostsKeygen(["-H", "-f", "known_hosts"], in: dir)
            #expect(run.status == 0)
            let theirs = try KeyFileIO.readFile(path)
            #expect(try KeyFileIO.readFile(path + ".old") == original)

            // Same lines, except the salted names.
            let ourLines = ours.contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            let theirLines = theirs.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            #expect(ourLines.count == theirLines.count)
            for (a, b) in zip(ourLines, theirLines) {
                let ra = KnownHostsFile(contents: Array(a)).lines.first?.entry
                let rb = KnownHostsFile(contents: Array(b)).lines.first?.entry
                if let ra, ra.isHashed, let rb {
                    #expect(rb.isHashed)
                    #expect(ra.rawKey == rb.rawKey)
                    #expect(ra.hosts.count == rb.hosts.count)
                } else {
                    #expect(Array(a) == Array(b))
                }
            }

            // stdout and stderr as ssh-keygen prints them.
            #expect(
                String(decoding: run.stdout, as: UTF8.self)
                    == KnownHostsMessages.updated(path: "known_hosts") + "\n"
                    + KnownHostsMessages.originalRetained(backupPath: "known_hosts.old") + "\n"
            )
            let expectedErr =
                ours.wildcardLines.map {
                    KnownHostsMessages.ignoringWildcard(path: "known_hosts", lineNumber: $0.lineNumber, hosts: $0.hosts)
                        + "\n"
                }.joined()
                + KnownHostsMessages.unhashedWarning(backupPath: "known_hosts.old").map { $0 + "\n" }.joined()
            #expect(run.stderr == expectedErr)

            // ssh-keygen finds in our hashed file what we find in the original, and we find
            // in its hashed file what it finds there.
            let theirFile = KnownHostsFile(contents: theirs)
            let ourFile = KnownHostsFile(contents: ours.contents)
            for host in KnownHostsFixture.hosts where !host.isEmpty {
                let inOriginal = KnownHostsFile(contents: original).find(host: host).count
                let onOurs = try runKnownHostsKeygen(["-F", host, "-f", "ours"], in: dir)
                let onTheirs = try runKnownHostsKeygen(["-F", host, "-f", "known_hosts"], in: dir)
                #expect(onOurs.stdout == ourFile.findOutput(host: host), "\(host)")
                #expect(onTheirs.stdout == theirFile.findOutput(host: host), "\(host)")
                #expect(ourFile.find(host: host).count == theirFile.find(host: host).count, "\(host)")
                // Hashed names are not lowercased when matched, so only lowercase hosts
                // are found as in the original; c.test follows an empty name in its list,
                // where ssh-keygen -H stops, and is lost (by ssh-keygen too).
                if host == host.lowercased() && host != "c.test" {
                    #expect(ourFile.find(host: host).count == inOriginal, "\(host)")
                }
            }
        }
    }

    @Test("find -H prints the hashed forms ssh-keygen -F -H prints")
    func findHashed() throws {
        try withFile(KnownHostsFixture.valid) { dir, path in
            let file = KnownHostsFile(contents: try KeyFileIO.readFile(path))
            for host in ["example.com", "host.test", "a.test", "x.wild.test", "hashed.test", "y.ca.test"] {
                let run = try runKnownHostsKeygen(["-F", host, "-H", "-f", "known_hosts"], in: dir)
                let ours = file.findOutput(host: host, hash: true)
                let ourLines = ours.split(separator: UInt8(ascii: "\n"))
                let theirLines = run.stdout.split(separator: UInt8(ascii: "\n"))
                #expect(ourLines.count == theirLines.count, "\(host)")
                for (a, b) in zip(ourLines, theirLines) {
                    if a.starts(with: Array("|1|".utf8)) && !a.elementsEqual(b) {
                        // A fresh salt each time: same shape, same key.
                        #expect(b.starts(with: Array("|1|".utf8)))
                        #expect(a.count == b.count)
                        #expect(
                            a.split(separator: UInt8(ascii: " ")).dropFirst().elementsEqual(
                                b.split(separator: UInt8(ascii: " ")).dropFirst()
                            )
                        )
                    } else {
                        #expect(Array(a) == Array(b))
                    }
                }
            }
        }
    }

    @Test("a name hashed with a known salt matches ssh-keygen's")
    func knownHash() {
        let hosts = Array(KnownHostsFixture.hashedPlain.utf8)
        let salt = KnownHostsFormat.extractSalt(hosts)!
        #expect(KnownHostsFormat.hashHostName(Array("hashed.test".utf8), salt: salt) == KnownHostsFixture.hashedPlain)
        #expect(KnownHostsFormat.matchMaybeHashed(host: Array("hashed.test".utf8), hosts: hosts) == true)
        #expect(KnownHostsFormat.matchMaybeHashed(host: Array("HASHED.test".utf8), hosts: hosts) == false)
        let fresh = KnownHostsFormat.hashHostName("hashed.test")
        #expect(fresh != KnownHostsFixture.hashedPlain)
        #expect(KnownHostsFormat.matchMaybeHashed(host: Array("hashed.test".utf8), hosts: Array(fresh.utf8)) == true)
    }

    @Test("hashing splits at commas and stops at an empty name, as strsep does")
    func hashSplitting() {
        var n: UInt8 = 0
        let salt = { () -> [UInt8] in
            n += 1
            return [UInt8](repeating: n, count: 20)
        }
        let file = KnownHostsFile(
            contents: Array(
                "B.test,a.test,,c.test \(KnownHostsFixture.ecdsa) c\n,x.test \(KnownHostsFixture.ecdsa)\n".utf8
            )
        )
        let result = file.hashed(salt: salt)
        let lines = String(decoding: result.contents, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        let first = KnownHostsFile(contents: Array(result.contents))
        #expect(first.find(host: "b.test").count == 1)
        #expect(first.find(host: "a.test").count == 1)
        #expect(first.find(host: "c.test").isEmpty)
        #expect(lines.allSatisfy { $0.hasSuffix(" \(KnownHostsFixture.ecdsa) c") })
    }

    // MARK: Patterns

    @Test("host patterns follow match.c")
    func patterns() {
        func m(_ host: String, _ list: String) -> HostPattern.Match {
            HostPattern.matchHostname(Array(host.utf8), patterns: Array(list.utf8))
        }
        #expect(m("a.example.com", "*.example.com") == .positive)
        #expect(m("example.com", "*.example.com") == .none)
        #expect(m("bad.example.com", "*.example.com,!bad.example.com") == .negated)
        #expect(m("A.Example.COM", "a.example.com") == .positive)
        #expect(m("a.example.com", "A.EXAMPLE.com") == .positive)
        #expect(m("host1", "host?") == .positive)
        #expect(m("host12", "host?") == .none)
        #expect(m("", "") == .none)
        #expect(m("abcabcabd", "*abc*abd") == .positive)
        #expect(m("aaa", "a*a*a*a") == .none)
        #expect(m("x", "**") == .positive)
        #expect(m("x", String(repeating: "x", count: 1022)) == .none)
        #expect(m(String(repeating: "x", count: 1022), String(repeating: "x", count: 1022)) == .positive)
        #expect(m(String(repeating: "x", count: 1023), "*," + String(repeating: "x", count: 1023)) == .none)
        #expect(HostPattern.matches(Array("[h]:2222".utf8), glob: Array("[h]:*".utf8)))
    }
}

@Suite("KnownHosts random files")
struct KnownHostsRandomTests {
    /// A small deterministic generator, so a failure can be replayed.
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((self.state >> 33) % UInt64(n))
        }
        mutating func pick(_ items: [String]) -> String { items[self.next(items.count)] }
    }

    static let blanks = [" ", "  ", "\t", " \t"]
    static let hostTokens = [
        "a.test", "A.TEST", "b.test", "*.test", "!a.test", "?.test", "[a.test]:2222", "[a.test]:22", "a.test,b.test",
        "b.test,,a.test", "*", "!*", KnownHostsFixture.hashedPlain, "|1|AAAA|x=", "|2|x|y", "@revoked", "#x",
        "a.test\r",
    ]
    static let keyTokens = [
        KnownHostsFixture.ed25519, KnownHostsFixture.rsa, "ssh-ed25519", "ssh-ed25519 #c", "RSA AAAA", "rsa AAAA c",
        "ssh-dss-cert-v01@openssh.com AAAA", "RSA-CERT AAAA", "x AAAA", "1024 35 1234", "ssh-ed25519 AAAA\r",
    ]

    static func randomLine(_ g: inout Generator) -> String {
        switch g.next(10) {
        case 0: return g.pick(["", "#", "  # c", "\t", "\r"])
        case 1: return g.pick(["@cert-authority", "@revoked", "@bad", "@revoked\t"]) + g.pick(blanks) + randomEntry(&g)
        default: return (g.next(4) == 0 ? g.pick(blanks) : "") + randomEntry(&g)
        }
    }

    static func randomEntry(_ g: inout Generator) -> String {
        g.pick(hostTokens) + g.pick(blanks) + g.pick(keyTokens) + (g.next(3) == 0 ? g.pick(blanks) + "comment" : "")
    }

    @Test("find, remove and hash agree with ssh-keygen on generated files", arguments: 0..<40)
    func agree(seed: Int) throws {
        var g = Generator(state: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let count = 1 + g.next(8)
        let text = (0..<count).map { _ in Self.randomLine(&g) }.joined(separator: "\n") + (g.next(2) == 0 ? "\n" : "")
        let dir = try TempDir()
        let path = dir.path("kh")
        for host in ["a.test", "hashed.test", "[a.test]:2222", "b.test"] {
            try KeyFileIO.writeAtomically(path: path, contents: Array(text.utf8), mode: 0o644, overwrite: true)
            let file = KnownHostsFile(contents: Array(text.utf8))
            let find = try runKnownHostsKeygen(["-F", host, "-f", "kh"], in: dir)
            #expect(find.stdout == file.findOutput(host: host), "seed \(seed) host \(host): \(text.debugDescription)")
            let removal = file.removing(host: host)
            let run = try runKnownHostsKeygen(["-R", host, "-f", "kh"], in: dir)
            #expect(run.status == (removal.isValid ? 0 : 1), "seed \(seed) host \(host): \(text.debugDescription)")
            let expected = removal.shouldWrite ? removal.contents : Array(text.utf8)
            #expect(try KeyFileIO.readFile(path) == expected, "seed \(seed) host \(host): \(text.debugDescription)")
        }
        try KeyFileIO.writeAtomically(path: path, contents: Array(text.utf8), mode: 0o644, overwrite: true)
        let hashing = KnownHostsFile(contents: Array(text.utf8)).hashed()
        let run = try runKnownHostsKeygen(["-H", "-f", "kh"], in: dir)
        #expect(run.status == (hashing.isValid ? 0 : 1), "seed \(seed): \(text.debugDescription)")
        let theirs = try KeyFileIO.readFile(path)
        if hashing.isValid {
            #expect(theirs.count == hashing.contents.count, "seed \(seed): \(text.debugDescription)")
            let kept = { (bytes: [UInt8]) in
                bytes.split(separator: UInt8(ascii: "\n")).filter { !$0.starts(with: Array("|1|".utf8)) }
            }
            #expect(kept(theirs) == kept(hashing.contents), "seed \(seed): \(text.debugDescription)")
        } else {
            #expect(theirs == Array(text.utf8))
        }
    }
}
