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

    /// What identifies a file's state: SHA-256 of its bytes, mtime to the nanosecond, and inode
    /// (an atomic rewrite renames a new inode into place).
    static func state(_ path: String) throws -> String {
        let sum = try runProcess("/usr/bin/sha256sum", [path])
        let st = try runProcess("/usr/bin/stat", ["-c", "%y %i %a", path])
        return String(sum.stdout.prefix(64)) + " " + st.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The states of `paths`, and a check that nothing else appeared in `dir` (no .old, no temporary).
    static func snapshot(_ dir: TempDir, _ paths: [String]) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted()
        return try [names.joined(separator: ",")] + paths.map(state)
    }

    @Test("a wrong old passphrase changes neither the key nor its .pub")
    func wrongPassphraseLeavesKey() throws {
        let dir = try TempDir()
        let key = dir.path("id")
        try #require(try keysmith("generate", "-q", "-f", key, "-N", "right", "-a", "2").status == 0)
        let before = try Self.snapshot(dir, [key, key + ".pub"])
        let r = try keysmith("passphrase", "-f", key, "-P", "wrong", "-N", "newpass", "-a", "2")
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("incorrect passphrase"), "\(r)")
        #expect(try Self.snapshot(dir, [key, key + ".pub"]) == before)
    }

    @Test("comment with a wrong passphrase changes neither the key nor its .pub")
    func wrongPassphraseComment() throws {
        let dir = try TempDir()
        let key = dir.path("id")
        try #require(try keysmith("generate", "-q", "-f", key, "-N", "right", "-a", "2", "-C", "old").status == 0)
        let before = try Self.snapshot(dir, [key, key + ".pub"])
        let r = try keysmith("comment", "-f", key, "-P", "wrong", "-C", "new", "-a", "2")
        #expect(r.status == 1, "\(r)")
        #expect(try Self.snapshot(dir, [key, key + ".pub"]) == before)
    }

    @Test("known-hosts remove of an absent host leaves the file as ssh-keygen -R does")
    func removeAbsentHost() throws {
        let dir = try TempDir()
        let hostKey = dir.path("host")
        try #require(try keygen(["-q", "-t", "ed25519", "-f", hostKey, "-N", ""]).status == 0)
        let line = try readText(hostKey + ".pub")
        let ours = try TempDir()
        let theirs = try TempDir()
        for d in [ours, theirs] {
            try writeText(d.path("known_hosts"), "present.example \(line)|1|c2FsdA==|aGFzaA== \(line)", mode: 0o644)
        }
        let oursBefore = try Self.snapshot(ours, [ours.path("known_hosts")])
        let theirsBefore = try Self.snapshot(theirs, [theirs.path("known_hosts")])
        let r = try keysmith("known-hosts", "remove", "-f", ours.path("known_hosts"), "absent.example")
        let k = try keygen(["-R", "absent.example", "-f", theirs.path("known_hosts")])
        #expect(r.status == k.status, "\(r)\n\(k)")
        #expect(try Self.snapshot(theirs, [theirs.path("known_hosts")]) == theirsBefore, "ssh-keygen -R")
        #expect(try Self.snapshot(ours, [ours.path("known_hosts")]) == oursBefore, "keysmith")
    }

    @Test("verify with a bad signature changes neither allowed_signers nor the signature")
    func badSignatureLeavesFiles() throws {
        let dir = try TempDir()
        let key = dir.path("id")
        try #require(try keygen(["-q", "-t", "ed25519", "-f", key, "-N", ""]).status == 0)
        let signers = dir.path("allowed_signers")
        try writeText(signers, "alice@example.com \(try readText(key + ".pub"))", mode: 0o644)
        let message = dir.path("msg")
        try writeText(message, "the message\n")
        try #require(try keygen(["-Y", "sign", "-f", key, "-n", "file", message]).status == 0)
        let files = [signers, message + ".sig", message]
        let before = try Self.snapshot(dir, files)
        // A good signature over other bytes.
        let r = try keysmith(
            arguments: ["verify", "-f", signers, "-I", "alice@example.com", "-n", "file", "-s", message + ".sig"],
            input: Data("another message\n".utf8)
        )
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("Could not verify signature."), "\(r)")
        #expect(try Self.snapshot(dir, files) == before)
    }

    /// A passphrase no message could contain by chance.
    static let secret = "s3cret-Passphrase-XYZ"

    /// The base64 lines of a private key file: none may ever be printed.
    static func privateLines(_ path: String) throws -> [String] {
        try readText(path).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count >= 16 }
    }

    /// Fails when `text` (from `what`) holds the passphrase or a line of the private key.
    static func expectNoSecret(_ text: String, _ what: String, key: Set<String>) {
        #expect(!text.contains(secret), "\(what) printed the passphrase: \(text)")
        for line in key {
            #expect(!text.contains(line), "\(what) printed the private key: \(text)")
        }
    }

    @Test("neither the passphrase nor the private key appears in any output, failures included")
    func nothingSecretPrinted() throws {
        let dir = try TempDir()
        let key = dir.path("id")
        let g = try keysmith("generate", "-f", key, "-N", Self.secret, "-a", "2", "-C", "quiet")
        #expect(g.status == 0, "\(g)")
        var outputs: [(String, String)] = [("generate", g.stdout + g.stderr)]
        var lines = Set(try Self.privateLines(key))
        let runs: [(String, [String], Int32)] = [
            ("public", ["public", "-f", key, "-P", Self.secret], 0),
            ("fingerprint --json", ["fingerprint", "--json", "-f", key], 0),
            ("public, wrong passphrase", ["public", "-f", key, "-P", Self.secret + "-wrong"], 1),
            ("comment, wrong passphrase", ["comment", "-f", key, "-P", "wrong", "-C", Self.secret, "-a", "2"], 1),
            ("passphrase, wrong old one", ["passphrase", "-f", key, "-P", "wrong", "-N", Self.secret, "-a", "2"], 1),
            (
                "passphrase, wrong old one given",
                ["passphrase", "-f", key, "-P", Self.secret + "x", "-N", "x", "-a", "2"], 1
            ),
            ("comment", ["comment", "-f", key, "-P", Self.secret, "-C", "renamed", "-a", "2"], 0),
            ("passphrase", ["passphrase", "-f", key, "-P", Self.secret, "-N", Self.secret + "2", "-a", "2"], 0),
        ]
        for (what, arguments, status) in runs {
            let r = try keysmith(arguments: arguments)
            #expect(r.status == status, "\(what): \(r)")
            outputs.append((what, r.stdout + r.stderr))
            lines.formUnion(try Self.privateLines(key))
        }
        // On a terminal: a mismatch, then a wrong old passphrase typed at the prompt.
        let other = dir.path("other")
        let mismatch = try onTerminal(
            ["generate", "-f", other],
            dialog: [("(empty for no passphrase): ", Self.secret), ("again: ", Self.secret + "-not")]
        )
        #expect(mismatch.status == 1, "\(mismatch)")
        outputs.append(("generate, mismatch on a terminal", mismatch.screen))
        let typedWrong = try onTerminal(["public", "-f", key], dialog: [("passphrase", Self.secret)])
        #expect(typedWrong.status != 0, "\(typedWrong)")
        #expect(typedWrong.screen.contains("incorrect passphrase"), "\(typedWrong)")
        outputs.append(("public, wrong passphrase typed", typedWrong.screen))

        // Every line the key file has held: as generated, after comment, after passphrase.
        #expect(lines.count > 6)
        for (what, text) in outputs {
            Self.expectNoSecret(text, what, key: lines)
        }
    }

    /// The owner of `/proc/PID/status`. The kernel gives a process's /proc files to root
    /// while it is not dumpable, and to the process's own euid while it is.
    static func procOwner(_ pid: Int32) throws -> String {
        try runProcess("/usr/bin/stat", ["-c", "%u", "/proc/\(pid)/status"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts `arguments` as the unprivileged uid 65534 and waits until `ready` shows in its log.
    static func startAsNobody(_ dir: TempDir, _ arguments: [String], ready: String?) throws -> Int32 {
        let log = dir.path("log-\(arguments.count)")
        let pid = try spawnDaemon(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--"] + arguments,
            log: log
        )
        guard let ready else { return pid }
        for _ in 0..<1000 where !((try? readText(log)) ?? "").contains(ready) { usleep(20_000) }
        guard ((try? readText(log)) ?? "").contains(ready) else {
            stopDaemon(pid)
            throw FixtureError("not ready: \((try? readText(log)) ?? "")")
        }
        return pid
    }

    @Test("keysmith serve runs with no core files and not dumpable")
    func serveNotDumpable() throws {
        let dir = try TempDir()
        let hostKey = dir.path("host")
        try #require(try keygen(["-q", "-t", "ed25519", "-f", hostKey, "-N", ""]).status == 0)
        try writeText(dir.path("authorized_keys"), "")
        _ = try runProcess("/bin/chown", ["-R", "65534:65534", dir.url.path]).checked("chown")

        // The probe, checked on a process that is dumpable: its files belong to its uid.
        let control = try Self.startAsNobody(dir, ["/bin/sleep", "60"], ready: nil)
        defer { stopDaemon(control) }
        // setpriv's change of uid makes it not dumpable until it execs sleep; the kernel sets
        // the new program's dumpability before its name, so wait for the name.
        var command = ""
        for _ in 0..<500 where command != "sleep" {
            command = ((try? readText("/proc/\(control)/comm")) ?? "").trimmingCharacters(in: .newlines)
            if command != "sleep" { usleep(20_000) }
        }
        try #require(command == "sleep", "setpriv did not exec sleep within 10 s")
        #expect(try Self.procOwner(control) == "65534", "the probe sees a dumpable process")

        let pid = try Self.startAsNobody(
            dir,
            [
                keysmithPath, "serve", "-p", "0", "--listen", "127.0.0.1", "--authorized-keys",
                dir.path("authorized_keys"), "--host-key", hostKey,
            ],
            ready: " listening "
        )
        defer { stopDaemon(pid) }
        let limits = try readText("/proc/\(pid)/limits")
        let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
        #expect(
            core?.split(separator: " ", omittingEmptySubsequences: true).prefix(7).joined(separator: " ")
                == "Max core file size 0 0 bytes",
            "\(limits)"
        )
        #expect(try Self.procOwner(pid) == "0", "not dumpable: /proc/PID belongs to root")
    }
}
