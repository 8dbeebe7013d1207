import Foundation
import KeysmithTestSupport
import Testing

/// `fingerprint` lists odd files of key lines exactly as `ssh-keygen -l` does: CR LF
/// endings, lines without comments, control and non-UTF-8 bytes, host names and options,
/// in a UTF-8 locale and in the C locale.
@Suite("fingerprint: odd key-line files listed as ssh-keygen -l lists them")
struct FingerprintListingTests {
    /// The bare `type base64` of a fresh key of each type.
    static let keys: [[UInt8]] = {
        guard let dir = try? TempDir() else { return [] }
        return ["ed25519", "ecdsa", "rsa"].compactMap { type in
            let path = dir.path(type)
            guard (try? keygen(["-q", "-t", type, "-N", "", "-C", "c", "-f", path]).checked("ssh-keygen")) != nil,
                let line = try? dir.readText(type + ".pub")
            else { return nil }
            return Array(line.split(separator: " ").prefix(2).joined(separator: " ").utf8)
        }
    }()

    static let locales = ["C.UTF-8", "C"]

    /// Runs both tools on `contents` in `locale`; a failure names the file.
    static func compare(_ contents: [UInt8], locale: String, in dir: TempDir) throws {
        let path = dir.path("keys")
        try Data(contents).write(to: URL(fileURLWithPath: path))
        let env = ["LC_ALL": locale]
        let theirs = try runProcess(Tool.sshKeygen, ["-l", "-f", path], environment: env)
        let ours = try runProcess(keysmithPath, ["fingerprint", "-f", path], environment: env)
        let file = String(decoding: contents, as: UTF8.self).debugDescription
        #expect((ours.status == 0) == (theirs.status == 0), "exit \(ours.status) vs \(theirs.status) for \(file)")
        if theirs.status == 0 {
            #expect(ours.stdoutData == theirs.stdoutData, "\(locale): \(ours.stdout) vs \(theirs.stdout) for \(file)")
        } else {
            #expect(ours.stderr.hasPrefix("keysmith: "), "\(ours.stderr)")
        }
    }

    static func cases() -> [(String, [UInt8])] {
        let ed = keys[0]
        let ec = keys[1]
        let b = { (s: String) in Array(s.utf8) }
        return [
            ("CR LF endings", ed + b(" first\r\n") + ed + b("\r\n") + ed + b(" third\r\n")),
            ("a line without a comment after one with", ed + b(" first comment\n") + ed + b("\n")),
            ("a short line after a long one", ec + b(" the ecdsa comment\n") + ed + b("\n")),
            ("tab, CR and escape in a comment", ed + b(" a\tb\rc\u{1B}[31m\n")),
            ("invalid UTF-8 and a C1 control", ed + b(" bad") + [0xFF, 0xFE] + b(" c1") + [0xC2, 0x85] + b("\n")),
            ("printable UTF-8", ed + b(" café ключ 🔑\n")),
            ("a NUL in the comment", ed + b(" before") + [0] + b("after\n")),
            ("a known_hosts line for 0.0.0.0", b("0.0.0.0 ") + ed + b("\n")),
            ("host names then two blanks", b("host  ") + ed + b(" c1\n")),
            ("an SSH-1 style number before the key", b("1024 ") + ed + b(" c2\n") + b("0 ") + ed + b(" c3\n")),
            ("options with quoted blanks", b("command=\"echo a \\\"b\\\" c\",no-pty ") + ed + b("\n")),
            ("a # after the key", ed + b(" #not a comment\n") + ed + b(" real\n")),
            ("garbage lines set the comment", b("garbage\n") + ed + b("\n")),
            ("no final newline", ed + b(" last")),
            ("only a type", b("ssh-ed25519\n")),
            ("comments and blank lines only", b("# nothing\n\n   \n")),
        ]
    }

    @Test("each odd file, in a UTF-8 locale and in C", arguments: 0..<16)
    func oddFile(_ index: Int) throws {
        let (_, contents) = Self.cases()[index]
        let dir = try TempDir()
        for locale in Self.locales { try Self.compare(contents, locale: locale, in: dir) }
    }

    /// Random files built from the pieces above. Files where a later line would make
    /// getline's buffer grow are left out: ssh-keygen then reads freed memory for a line
    /// without a comment, which no program can match.
    @Test("random mixes of key lines, prefixes, comments and line endings")
    func randomFiles() throws {
        var rng = SplitMix(seed: 0x6B65_7973)
        let b = { (s: String) in Array(s.utf8) }
        let prefixes: [[UInt8]] = [
            [], b("host "), b("host  "), b("[h]:22,1.2.3.4 "), b("command=\"echo hi there\",no-pty "), b("1024 "),
            b("0 "), b("@cert-authority * "), b("  "), b("\t"), b("from=\"a b\\\"c\" "),
        ]
        let comments: [[UInt8]] = [
            [], b(" user@host"), b(" a\tb"), b(" crlf\r"), b("\r"), b(" bad") + [0xFF, 0xFE], b(" café"),
            b(" c1") + [0xC2, 0x85], b(" esc\u{1B}[31m"), b(" #notcomment"), b("  two  spaces "), b(" 🔑"),
            b(" del\u{7F}"), b(" nul") + [0] + b("after"), b(" ") + [0xED, 0xA0, 0x80],
        ]
        let others: [[UInt8]] = [
            b("# comment"), [], b("   "), b("garbage"), b("garbage with spaces"), b("ssh-ed25519"),
        ]
        let dir = try TempDir()
        var compared = 0
        while compared < 60 {
            var lines: [[UInt8]] = []
            for _ in 0...rng.below(7) {
                if rng.below(5) == 0 {
                    lines.append(others[rng.below(others.count)])
                } else {
                    lines.append(
                        prefixes[rng.below(prefixes.count)] + Self.keys[rng.below(Self.keys.count)]
                            + comments[rng.below(comments.count)]
                    )
                }
            }
            if rng.below(5) < 3 { lines.sort { $0.count > $1.count } }
            var contents: [UInt8] = []
            for line in lines { contents += line + (rng.below(3) == 0 ? b("\r\n") : b("\n")) }
            if rng.below(3) == 0 { while contents.last == 0x0A { contents.removeLast() } }
            // getline's buffer starts at 120 bytes and at least doubles.
            var capacity = 120
            var grows = false
            for (i, line) in contents.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
            where line.count + 2 > capacity {
                capacity = max(2 * capacity, line.count + 2)
                if i > 0 { grows = true }
            }
            if grows { continue }
            for locale in Self.locales { try Self.compare(contents, locale: locale, in: dir) }
            compared += 1
        }
    }

    /// A key of a type keysmith does not read: `x-new` and a blob naming it.
    static let foreignKey: [UInt8] = {
        let name = Array("x-new".utf8)
        let blob = [0, 0, 0, UInt8(name.count)] + name + [0, 0, 0, 32] + [UInt8](repeating: 7, count: 32)
        return name + Array(" \(Data(blob).base64EncodedString())".utf8)
    }()

    @Test("a line not listed gets one sentence on stderr; blank, # and SSH-1 lines none; stdout as ssh-keygen")
    func unlistedLinesAreNamed() throws {
        let b = { (s: String) in Array(s.utf8) }
        let ed = Self.keys[0]
        let lines: [[UInt8]] = [
            b("# comment"), [], ed + b(" ok"), b("1024 35 12345 ssh1"), b("garbage"), b("ssh-ed25519 AAAA!!!!"),
            b("@cert-authority *.example ") + ed, b("host 1024 35 12345"), b("   \r"), Self.foreignKey + b(" new"), ed,
        ]
        let contents: [UInt8] = lines.flatMap { $0 + [UInt8(0x0A)] }
        let dir = try TempDir()
        let path = dir.path("authorized_keys")
        try Data(contents).write(to: URL(fileURLWithPath: path))
        let theirs = try keygen(["-l", "-f", path]).checked("ssh-keygen -l")
        let expected = [
            (5, "no key type and base64 key are on it"),
            (6, "the ssh-ed25519 key's base64 is damaged"),
            (7, "a known_hosts line marked @cert-authority, for which ssh-keygen -l lists no key"),
            (10, "the key type x-new is not one keysmith reads"),
        ]
        let runs: [(String, [String], Data?)] = [
            (path, ["fingerprint", "-f", path], nil), ("(stdin)", ["fingerprint", "-f", "-"], Data(contents)),
            (path, ["fingerprint", "-v", "-E", "md5", "-f", path], nil),
        ]
        for (label, arguments, input) in runs {
            let ours = try keysmith(arguments: arguments, input: input)
            #expect(ours.status == 0, "\(ours)")
            if arguments.count == 3 {
                #expect(ours.stdoutData == theirs.stdoutData, "\(ours.stdout) vs \(theirs.stdout)")
            }
            let sentences = expected.map { "keysmith: \(label):\($0.0): not listed: \($0.1).\n" }.joined()
            #expect(ours.stderr == sentences, "\(ours.stderr)")
        }
        let json = try keysmith("fingerprint", "--json", "-f", path)
        #expect(json.status == 0, "\(json)")
        #expect(json.stderr == expected.map { "keysmith: \(path):\($0.0): not listed: \($0.1).\n" }.joined())

        // No key at all: one sentence, ssh-keygen's with the first line's reason, and a failure (keysmith's 1,
        // ssh-keygen's 255).
        try Data(b("garbage\n# c\n1024 35 1\nssh-ed25519\n")).write(to: URL(fileURLWithPath: path))
        #expect(try keygen(["-l", "-f", path]).status != 0)
        let none = try keysmith("fingerprint", "-f", path)
        #expect(none.status == 1)
        #expect(
            none.stderr
                == "keysmith: \(path) is not a public key file: line 1: no key type and base64 key are on it "
                + "(and 1 more line without a key).\n",
            "\(none.stderr)"
        )
    }

    @Test("a private key's comment: from FILE.pub, its name, the key itself, or none")
    func privateKeyComments() throws {
        let dir = try TempDir()
        func same(_ name: String) throws {
            let theirs = try keygen(["-l", "-f", name]).checked("ssh-keygen -l")
            let ours = try keysmith("fingerprint", "-f", name).checked("keysmith fingerprint")
            #expect(ours.stdout == theirs.stdout, "\(name): \(ours.stdout) vs \(theirs.stdout)")
        }
        // FILE.pub without a comment: ssh-keygen names the .pub file.
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", dir.path("a")]).checked("ssh-keygen")
        try same(dir.path("a"))
        // No FILE.pub and an empty comment in the key: an empty comment, not "no comment".
        try FileManager.default.removeItem(atPath: dir.path("a.pub"))
        try same(dir.path("a"))
        // A PEM key has no comment at all.
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-m", "PEM", "-C", "x", "-f", dir.path("p")]).checked(
            "ssh-keygen"
        )
        try FileManager.default.removeItem(atPath: dir.path("p.pub"))
        try same(dir.path("p"))
        // FILE.pub with CR LF: the CR is not part of the comment.
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "crlf", "-f", dir.path("c")]).checked("ssh-keygen")
        let pub = try dir.readText("c.pub").replacingOccurrences(of: "\n", with: "\r\n")
        try dir.write("c.pub", pub, mode: 0o644)
        try same(dir.path("c"))
    }
}

/// A small deterministic generator, so a failing file can be reproduced.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(self.next() % UInt64(n)) }
}
