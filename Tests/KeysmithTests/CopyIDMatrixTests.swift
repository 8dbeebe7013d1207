import Foundation
import KeysmithTestSupport
import SSHProtocol
import Testing

/// One sshd shared by every case of the matrix: host keys for all six host key algorithms
/// (the fixture's Ed25519, P-256 and RSA keys plus P-384 and P-521 ones) and a known_hosts
/// file trusting all of them.
final class MatrixServer: Sendable {
    let sshd: SSHDFixture
    let knownHosts: String
    let dir: TempDir

    @TaskLocal static var current: MatrixServer?

    init() throws {
        let dir = try TempDir()
        var config = [
            // Cases run in parallel; sshd's default (10:30:100) drops unauthenticated
            // connections beyond ten at random.
            "MaxStartups 100"
        ]
        var extraLines: [String] = []
        for bits in ["384", "521"] {
            let path = dir.path("ssh_host_ecdsa\(bits)_key")
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ecdsa", "-b", bits, "-N", "", "-f", path])
                .checked("ssh-keygen")
            config.append("HostKey \(path)")
            extraLines.append(try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines))
        }
        self.sshd = try SSHDFixture(extraConfig: config)
        self.dir = dir
        // Written once and never rewritten, so parallel readers never see it half-written.
        self.knownHosts = dir.path("known_hosts")
        let lines = (Array(self.sshd.hostKeys.values) + extraLines).map {
            "[\(self.sshd.host)]:\(self.sshd.port) \($0)"
        }
        try writeText(self.knownHosts, lines.joined(separator: "\n") + "\n", mode: 0o644)
    }

    /// Deploys a fresh Ed25519 key with `keysmith copy-id -v` narrowed to the combination `c`
    /// (`-o` values), checks that `-v` names that combination as negotiated, then proves the
    /// deploy with OpenSSH's ssh logging in with that key alone.
    ///
    /// Cases block on child processes, so they run as wide as Swift's cooperative pool (one
    /// thread per core). Moving them onto threads of their own ran them wider, but then
    /// Foundation's Process.run crashed under that many concurrent launches, and keysmith's
    /// compare-and-swap on the one shared authorized_keys gave up ("kept changing").
    func deployAndProve(_ c: AlgorithmCase) throws {
        let options = c.options
        let work = try TempDir()
        try FileManager.default.createDirectory(atPath: work.path("home"), withIntermediateDirectories: true)
        let key = work.path("id_ed25519")
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "matrix", "-f", key])
            .checked("ssh-keygen")
        let deploy = try runProcess(
            keysmithPath,
            [
                "copy-id", "-v", "-i", key + ".pub", "-p", String(self.sshd.port),
                "-o", "UserKnownHostsFile=\(self.knownHosts)", "-o", "StrictHostKeyChecking=yes",
                "-o", "PreferredAuthentications=password", "--password-stdin",
            ] + options.flatMap { ["-o", $0] } + ["\(self.sshd.user)@\(self.sshd.host)"],
            input: Data((self.sshd.password + "\n").utf8),
            environment: ["HOME": work.path("home"), "SSH_AUTH_SOCK": ""]
        )
        let login = try self.login(identity: key)
        #expect(deploy.status == 0, "\(options): \(deploy)")
        #expect(deploy.stdout.contains("Number of key(s) added: 1"), "\(options): \(deploy)")
        expectNegotiated(deploy.stderr, kex: c.kex, hostKey: c.hostKey, cipher: c.cipher, mac: c.mac)
        #expect(login.status == 0 && login.stdout == "matrix-ok\n", "\(options): \(login)")
    }

    /// OpenSSH's ssh logging in with `identity` only (publickey, batch mode, this known_hosts).
    func login(identity: String) throws -> ProcessResult {
        try runProcess(
            Tool.ssh,
            [
                "-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=\(self.knownHosts)", "-p", String(self.sshd.port),
                "\(self.sshd.user)@\(self.sshd.host)", "echo matrix-ok",
            ]
        )
    }
}

/// Starts one ``MatrixServer`` around the whole suite and stops it afterwards.
struct MatrixServerTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try MatrixServer()
        try await MatrixServer.$current.withValue(server) { try await function() }
    }
}

/// One algorithm combination forced with `-o`.
struct AlgorithmCase: Sendable, CustomTestStringConvertible {
    let kex: String
    let cipher: String
    let hostKey: String
    var mac: String? = nil

    var options: [String] {
        ["KexAlgorithms=\(self.kex)", "Ciphers=\(self.cipher)", "HostKeyAlgorithms=\(self.hostKey)"]
            + (self.mac.map { ["MACs=\($0)"] } ?? [])
    }

    var testDescription: String {
        ([self.kex, self.cipher, self.hostKey] + (self.mac.map { [$0] } ?? [])).joined(separator: " ")
    }
}

/// The algorithms keysmith's client implements, each combination forced alone with `-o`, so
/// a deploy can only succeed over exactly that combination: in the default tier a pairwise
/// covering array (every algorithm, and every two of kex, cipher, MAC and host key together,
/// at least once), in the full tier (`KEYSMITH_TEST_TIER=full`) the full product and every
/// MAC with every CTR cipher (docs/testing.md).
@Suite("copy-id over forced kex × cipher × MAC × host key combinations against one sshd", MatrixServerTrait())
struct CopyIDMatrixTests {
    static let product: [AlgorithmCase] = SSHAlgorithms.supportedKeyExchange.flatMap { kex in
        SSHAlgorithms.supportedCiphers.flatMap { cipher in
            SSHAlgorithms.supportedHostKey.map { AlgorithmCase(kex: kex, cipher: cipher, hostKey: $0) }
        }
    }

    /// Every MAC with every cipher that uses one (the AEAD ciphers ignore the MAC).
    static let macCases: [AlgorithmCase] = SSHAlgorithms.supportedMACs.flatMap { mac in
        SSHAlgorithms.supportedCiphers.filter { $0.hasSuffix("-ctr") }.map {
            AlgorithmCase(kex: "curve25519-sha256", cipher: $0, hostKey: "ssh-ed25519", mac: mac)
        }
    }

    /// Every pair of kex, cipher, MAC (with the CTR ciphers) and host key at least once
    /// (PairwiseCoverTests checks it).
    static let pairwise: [AlgorithmCase] = PairwiseAlgorithms.cases(
        keyExchange: SSHAlgorithms.supportedKeyExchange,
        ciphers: SSHAlgorithms.supportedCiphers,
        macs: SSHAlgorithms.supportedMACs,
        hostKeys: SSHAlgorithms.supportedHostKey
    )

    @Test("the product is 9 × 6 × 6")
    func productSize() {
        #expect(Self.product.count == 9 * 6 * 6)
        #expect(Set(Self.product.map(\.testDescription)).count == Self.product.count)
    }

    @Test(
        "copy-id deploys over the forced combination; OpenSSH logs in with the new key",
        arguments: TestTier.pick(standard: Self.pairwise, full: Self.product)
    )
    func combination(_ c: AlgorithmCase) throws {
        let server = try #require(MatrixServer.current)
        try server.deployAndProve(c)
    }

    @Test("every MAC with every non-AEAD cipher", .enabled(if: TestTier.isFull), arguments: Self.macCases)
    func mac(_ c: AlgorithmCase) throws {
        let server = try #require(MatrixServer.current)
        try server.deployAndProve(c)
    }
}

/// The matrix's cases share one account; this pushes that further, from the command line.
@Suite("copy-id processes racing on one account")
struct CopyIDRaceTests {
    @Test("eight keysmith copy-id processes at once to one account: every key lands, once")
    func eightAtOnce() throws {
        let sshd = try SSHDFixture(extraConfig: ["MaxStartups 100"])
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: true)
        let keys = try (0..<8).map { i in
            let path = dir.path("k\(i)")
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "k\(i)", "-f", path])
                .checked("ssh-keygen")
            return path
        }
        // One shell starts them all (Foundation's Process is not safe to launch this widely).
        let script = """
            pids=
            for k in "$@"; do
                printf '%s\\n' "$PW" | "$KS" copy-id -i "$k.pub" -p "$PORT" -o UserKnownHostsFile="$KH" \
                    -o StrictHostKeyChecking=yes -o PreferredAuthentications=password --password-stdin "$DEST" \
                    > "$k.out" 2>&1 &
                pids="$pids $!"
            done
            failed=0
            for pid in $pids; do wait "$pid" || failed=$((failed + 1)); done
            exit "$failed"
            """
        let r = try runProcess(
            "/bin/sh",
            ["-c", script, "race"] + keys,
            environment: [
                "PW": sshd.password, "KS": keysmithPath, "PORT": String(sshd.port), "KH": try sshd.knownHostsFile(),
                "DEST": "\(sshd.user)@\(sshd.host)", "HOME": dir.path("home"), "SSH_AUTH_SOCK": "",
            ]
        )
        let outputs = keys.map { (try? readText($0 + ".out")) ?? "" }.joined(separator: "\n")
        #expect(r.status == 0, "\(r)\n\(outputs)")
        let installed = (sshd.authorizedKeys() ?? "").split(separator: "\n").map(String.init)
        let expected = try keys.map { try readText($0 + ".pub").trimmingCharacters(in: .newlines) }
        #expect(installed.count == keys.count && Set(installed) == Set(expected), "\(installed)")
        for key in keys { #expect(try sshd.sshLogin(identity: key).status == 0) }
    }
}
