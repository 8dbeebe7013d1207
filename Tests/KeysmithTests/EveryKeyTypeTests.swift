import Foundation
import KeysmithTestSupport
import Testing

/// `fingerprint` of every public key type OpenSSH 9.2 reads (Ed25519, ECDSA, RSA, DSA, the
/// security-key types and a certificate of each), byte for byte as `ssh-keygen -l` prints it,
/// with real keys: security keys made by ssh-keygen through the software authenticator,
/// DSA keys by ssh-keygen 9.2, certificates by `ssh-keygen -s`.
@Suite("every key type: fingerprint as ssh-keygen -l")
struct EveryKeyTypeTests {
    /// The keys, made once: NAME.pub and NAME-cert.pub for each name, and host-cert.pub.
    struct Keys: Sendable {
        let dir: TempDir
        let names: [String]

        func pub(_ name: String) -> String { self.dir.path(name + ".pub") }
        func cert(_ name: String) -> String { self.dir.path(name + "-cert.pub") }
        /// Every public key file: the plain keys, their user certificates, a host certificate.
        var files: [String] { self.names.map(self.pub) + self.names.map(self.cert) + [self.dir.path("host-cert.pub")] }
    }

    static let made: Result<Keys, FixtureError> = Result { () throws(FixtureError) in
        do {
            let dir = try TempDir()
            let provider = try SoftAuthenticator.path()
            let specs: [(String, [String])] = [
                ("ed25519", ["-t", "ed25519"]), ("ecdsa256", ["-t", "ecdsa", "-b", "256"]),
                ("ecdsa384", ["-t", "ecdsa", "-b", "384"]), ("ecdsa521", ["-t", "ecdsa", "-b", "521"]),
                ("rsa", ["-t", "rsa", "-b", "2048"]), ("dsa", ["-t", "dsa"]),
                ("ed25519-sk", ["-t", "ed25519-sk", "-w", provider]),
                ("ecdsa-sk", ["-t", "ecdsa-sk", "-w", provider, "-O", "application=ssh:keysmith"]),
            ]
            for (name, args) in specs {
                _ = try keygen(["-q", "-N", "", "-C", "\(name)@every", "-f", dir.path(name)] + args).checked(
                    "ssh-keygen \(name)"
                )
            }
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", dir.path("ca")]).checked("ssh-keygen")
            for (name, _) in specs {
                _ = try keygen(
                    [
                        "-q", "-s", dir.path("ca"), "-I", "id-\(name)", "-n", "me,you", "-z", "42",
                        dir.path(name + ".pub"),
                    ]
                ).checked("ssh-keygen -s \(name)")
            }
            try FileManager.default.copyItem(atPath: dir.path("ecdsa256.pub"), toPath: dir.path("host.pub"))
            _ = try keygen(["-q", "-s", dir.path("ca"), "-h", "-I", "host", "-n", "h.example", dir.path("host.pub")])
                .checked("ssh-keygen -s -h")
            return Keys(dir: dir, names: specs.map(\.0))
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError("\(error)")
        }
    }

    static let flagSets: [[String]] = [[], ["-E", "md5"], ["-v"], ["-v", "-E", "md5"], ["-B"]]

    /// ssh-keygen's flags (`-l` but with -B) for keysmith's.
    static func keygenFlags(_ flags: [String]) -> [String] { flags.contains("-B") ? flags : ["-l"] + flags }

    @Test("each key and certificate file, with -E md5, -v and -B", arguments: 0..<5)
    func eachFile(_ flagIndex: Int) throws {
        let keys = try Self.made.get()
        let flags = Self.flagSets[flagIndex]
        for file in keys.files {
            let theirs = try keygen(Self.keygenFlags(flags) + ["-f", file]).checked("ssh-keygen -l")
            let ours = try keysmith(arguments: ["fingerprint"] + flags + ["-f", file])
            #expect(ours.status == 0, "\(file): \(ours)")
            #expect(ours.stdout == theirs.stdout, "\(file) \(flags): \(ours.stdout) vs \(theirs.stdout)")
            #expect(ours.stderr == "", "\(file): \(ours.stderr)")
        }
    }

    @Test("authorized_keys and known_hosts (hashed, markers) holding every type, and standard input")
    func keyLineFiles() throws {
        let keys = try Self.made.get()
        let lines = try keys.files.map { try readText($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        let authorized = lines.enumerated().map { i, line in
            [line, "restrict,from=\"10.0.0.0/8\" \(line)", "no-touch-required \(line)", "cert-authority \(line)"][i % 4]
        }
        let ca = try readText(keys.pub("ed25519-sk")).trimmingCharacters(in: .whitespacesAndNewlines)
        let plainLines = keys.names.map { try? readText(keys.pub($0)) }.compactMap { $0 }
        let hosts = plainLines.enumerated().map { i, line in "h\(i).example,192.0.2.\(i) \(line)" }
        let knownHosts = hosts + ["@cert-authority *.example \(ca)", "@revoked old.example \(lines[5])"]
        let dir = try TempDir()
        try writeText(dir.path("authorized_keys"), authorized.joined(separator: "\n") + "\n")
        try writeText(dir.path("known_hosts"), knownHosts.map { $0.trimmingCharacters(in: .newlines) + "\n" }.joined())
        try FileManager.default.copyItem(atPath: dir.path("known_hosts"), toPath: dir.path("hashed"))
        _ = try keygen(["-q", "-H", "-f", dir.path("hashed")]).checked("ssh-keygen -H")
        for name in ["authorized_keys", "known_hosts", "hashed"] {
            for flags in [[], ["-E", "md5"], ["-v"]] {
                let path = dir.path(name)
                let theirs = try keygen(["-l"] + flags + ["-f", path]).checked("ssh-keygen -l")
                let ours = try keysmith(arguments: ["fingerprint"] + flags + ["-f", path])
                #expect(ours.status == 0, "\(name): \(ours)")
                #expect(ours.stdout == theirs.stdout, "\(name) \(flags): \(ours.stdout) vs \(theirs.stdout)")
                let stdin = try keysmith(
                    arguments: ["fingerprint"] + flags + ["-f", "-"],
                    input: Data(contentsOf: URL(fileURLWithPath: path))
                )
                #expect(stdin.stdout == theirs.stdout, "\(name) on stdin")
            }
        }
        // The two marker lines are named on stderr; nothing else is.
        let ours = try keysmith("fingerprint", "-f", dir.path("known_hosts"))
        let count = plainLines.count
        #expect(
            ours.stderr
                == "keysmith: \(dir.path("known_hosts")):\(count + 1): not listed: a known_hosts line marked @cert-authority, for which ssh-keygen -l lists no key.\n"
                + "keysmith: \(dir.path("known_hosts")):\(count + 2): not listed: a known_hosts line marked @revoked, for which ssh-keygen -l lists no key.\n",
            "\(ours.stderr)"
        )
    }

    @Test("--json: legacy DSA keys, security keys' applications, certificates' details")
    func json() throws {
        let keys = try Self.made.get()
        func object(_ file: String) throws -> [String: Any] {
            let r = try keysmith("fingerprint", "--json", "-f", file)
            #expect(r.status == 0, "\(r)")
            let array = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
            return try #require(array.first)
        }
        let dsa = try object(keys.pub("dsa"))
        #expect(dsa["type"] as? String == "DSA")
        #expect(dsa["legacy"] as? Bool == true)
        #expect(try object(keys.pub("ed25519"))["legacy"] == nil)
        let sk = try object(keys.pub("ecdsa-sk"))
        #expect(sk["type"] as? String == "ECDSA-SK")
        #expect(sk["application"] as? String == "ssh:keysmith")
        let cert = try object(keys.cert("ed25519-sk"))
        #expect(cert["type"] as? String == "ED25519-SK-CERT")
        #expect(cert["application"] as? String == "ssh:")
        let details = try #require(cert["certificate"] as? [String: Any])
        #expect(details["kind"] as? String == "user")
        #expect(details["keyID"] as? String == "id-ed25519-sk")
        #expect(details["serial"] as? Int == 42)
        #expect(details["principals"] as? [String] == ["me", "you"])
        let caFingerprint = try keygen(["-l", "-f", keys.dir.path("ca.pub")]).checked("ssh-keygen -l").stdout
            .split(separator: " ")[1]
        #expect(details["signatureKey"] as? String == String(caFingerprint))
        let host = try #require(try object(keys.dir.path("host-cert.pub"))["certificate"] as? [String: Any])
        #expect(host["kind"] as? String == "host")
        #expect(try object(keys.cert("dsa"))["legacy"] as? Bool == true)
    }

    @Test("a certificate whose CA signature is broken is refused in one sentence, as ssh-keygen cannot load it")
    func brokenCertificate() throws {
        let keys = try Self.made.get()
        let fields = try readText(keys.cert("ed25519")).split(separator: " ")
        var blob = try #require(Data(base64Encoded: String(fields[1])))
        blob[blob.count - 1] ^= 1
        let dir = try TempDir()
        let path = dir.path("broken-cert.pub")
        try writeText(path, "\(fields[0]) \(blob.base64EncodedString()) broken\n")
        #expect(try keygen(["-l", "-f", path]).status != 0)
        let ours = try keysmith("fingerprint", "-f", path)
        #expect(ours.status == 1)
        #expect(
            ours.stderr.hasPrefix(
                "keysmith: \(path):1: not listed: the ssh-ed25519-cert-v01@openssh.com certificate is damaged: the certificate's CA signature does not verify.\n"
            ),
            "\(ours.stderr)"
        )
    }
}
