import Foundation
import KeysmithTestSupport
import Testing

/// keysmith copy-id / remove-id against Debian's dropbear as a second server; each deploy is
/// proven by OpenSSH's ssh logging in with the new key.
@Suite("copy-id and remove-id against dropbear")
struct CopyIDDropbearTests {
    struct Setup: Sendable {
        let server: DropbearFixture
        let dir: TempDir
        let knownHosts: String

        init() throws {
            self.server = try DropbearFixture()
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.knownHosts = try self.server.knownHostsFile()
        }

        /// A fresh key pair made by ssh-keygen.
        func newKey(_ name: String, type: [String] = ["-t", "ed25519"]) throws -> String {
            let path = self.dir.path(name)
            _ = try keygen(["-q"] + type + ["-N", "", "-C", name, "-f", path]).checked("ssh-keygen")
            return path
        }

        /// Runs keysmith COMMAND against dropbear with the password on stdin.
        func run(_ command: String, _ extra: [String]) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-p", String(self.server.port), "-o", "UserKnownHostsFile=\(self.knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "--password-stdin",
                ] + extra + ["\(self.server.user)@\(self.server.host)"],
                input: Data((self.server.password + "\n").utf8),
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }
    }

    @Test("copy-id with a password deploys once; OpenSSH logs in with the key; remove-id takes it out")
    func deployAndRemove() throws {
        let s = try Setup()
        let key = try s.newKey("id_ed25519")
        let r = try s.run("copy-id", ["-i", key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.server.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"), "\(r)")
        let login = try s.server.sshLogin(identity: key, command: "id -un")
        #expect(login.status == 0 && login.stdout == s.server.user + "\n", "\(login)\n\(s.server.log)")
        #expect(try fileMode(s.server.home + "/.ssh") == 0o700)
        #expect(try fileMode(s.server.home + "/.ssh/authorized_keys") == 0o600)

        let again = try s.run("copy-id", ["-i", key + ".pub"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stderr.contains("All keys were skipped because they already exist on the remote system."))
        #expect(s.server.authorizedKeys() == (try readText(key + ".pub")))

        let other = try s.newKey("other", type: ["-t", "rsa", "-b", "2048"])
        #expect(try s.run("copy-id", ["-i", other + ".pub"]).status == 0)
        let list = try s.run("list-ids", [])
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout.split(separator: "\n").count == 2, "\(list)")

        let removed = try s.run("remove-id", ["-i", key + ".pub"])
        #expect(removed.status == 0, "\(removed)")
        #expect(try s.server.sshLogin(identity: key).status != 0)
        #expect(try s.server.sshLogin(identity: other).status == 0)
        #expect(s.server.authorizedKeys() == (try readText(other + ".pub")))
    }
}

/// One dropbear shared by the cases of ``CopyIDDropbearMatrixTests``.
struct DropbearServerTrait: SuiteTrait, TestScoping {
    @TaskLocal static var current: CopyIDDropbearTests.Setup?

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let setup = try CopyIDDropbearTests.Setup()
        try await Self.$current.withValue(setup) { try await function() }
    }
}

/// The algorithms both keysmith and Debian's dropbear 2022.83 offer (dropbear's KEXINIT as
/// OpenSSH's `ssh -vv` shows it), each combination forced alone with `-o`: in the default
/// tier a pairwise covering array, in the full tier (`KEYSMITH_TEST_TIER=full`) every
/// combination (docs/testing.md).
@Suite("copy-id over forced kex × cipher × host key combinations dropbear shares", DropbearServerTrait())
struct CopyIDDropbearMatrixTests {
    static let keyExchange = [
        "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp521", "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp256", "diffie-hellman-group14-sha256",
    ]
    static let ciphers = ["chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr"]
    static let hostKeys = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256"]

    static let product: [AlgorithmCase] = Self.keyExchange.flatMap { kex in
        Self.ciphers.flatMap { cipher in
            Self.hostKeys.map {
                // dropbear's only SHA-2 MAC is hmac-sha2-256 (no -etm forms).
                AlgorithmCase(kex: kex, cipher: cipher, hostKey: $0, mac: "hmac-sha2-256")
            }
        }
    }

    /// Every pair of kex, cipher and host key at least once (PairwiseCoverTests checks it).
    static let pairwise: [AlgorithmCase] = PairwiseCover.rows([Self.keyExchange, Self.ciphers, Self.hostKeys]).map {
        AlgorithmCase(kex: $0[0], cipher: $0[1], hostKey: $0[2], mac: "hmac-sha2-256")
    }

    @Test(
        "copy-id deploys over the forced combination, -v names it; OpenSSH logs in with the new key",
        arguments: TestTier.pick(standard: Self.pairwise, full: Self.product)
    )
    func combination(_ c: AlgorithmCase) throws {
        let s = try #require(DropbearServerTrait.current)
        let key = try s.newKey(UUID().uuidString)
        let r = try s.run("copy-id", ["-v", "-i", key + ".pub"] + c.options.flatMap { ["-o", $0] })
        #expect(r.status == 0, "\(c.testDescription): \(r)")
        #expect(r.stdout.contains("Number of key(s) added: 1"), "\(c.testDescription): \(r)")
        expectNegotiated(r.stderr, kex: c.kex, hostKey: c.hostKey, cipher: c.cipher, mac: c.mac)
        let login = try s.server.sshLogin(identity: key)
        #expect(login.status == 0, "\(c.testDescription): \(login)")
    }
}
