import KeyDeploy
import SSHConnect
import SSHCrypto
import SSHKeys
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Fleet.run and KeyRotation without a network")
struct FleetRunnerTests {
    @Test("results come back in order; never more than `parallel` hosts at once, and that many are used")
    func boundedConcurrency() {
        let meter = Meter()
        let hosts = (0..<40).map { "h\($0)" }
        let results = Fleet.run(hosts, parallel: 8) { host -> String in
            meter.enter()
            usleep(20_000)
            meter.leave()
            if host == "h7" { throw KeyDeployError(.connection, "h7 is down") }
            return host.uppercased()
        }
        #expect(results.map(\.destination) == hosts)
        #expect(meter.peak <= 8)
        #expect(meter.peak > 1, "the hosts ran one after another")
        for r in results {
            switch r.outcome {
            case .success(let v): #expect(v == r.destination.uppercased())
            case .failure(let e): #expect(r.destination == "h7" && "\(e)" == "h7 is down")
            }
        }
    }

    @Test("a shared secret is asked once, by whichever host needs it first")
    func sharedSecretAskedOnce() {
        let asked = Meter()
        let secret = SharedSecret(ask: {
            asked.enter()
            return SecureBytes(utf8: "pw")
        })
        _ = Fleet.run((0..<20).map(String.init), parallel: 10) { _ in secret.get() }
        #expect(asked.total == 1)
    }

    /// An authorized_keys file in memory behind an ``AuthorizedKeysStore``.
    final class FakeAccount: AuthorizedKeysStore, @unchecked Sendable {
        var contents: [UInt8]
        init(_ text: String) { self.contents = Array(text.utf8) }
        var text: String { String(decoding: self.contents, as: UTF8.self) }
        let target = KeyDeploy.defaultTarget
        func read() throws -> KeyDeploy.RemoteFile {
            KeyDeploy.RemoteFile(exists: true, checksum: "", unsafePaths: [], contents: self.contents)
        }
        func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) {}
        func replace(
            _ file: KeyDeploy.RemoteFile,
            into reports: inout KeyDeploy.CopyResult,
            change: ([UInt8]) throws -> [UInt8]?
        ) throws -> Bool {
            if let new = try change(self.contents) { self.contents = new }
            return true
        }
    }

    /// A store whose file cannot be read, and which fails any change.
    struct Unreadable: AuthorizedKeysStore {
        let target = KeyDeploy.defaultTarget
        func read() throws -> KeyDeploy.RemoteFile { throw KeyDeployError(.remoteFailure, "no file") }
        func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) throws {
            throw KeyDeployError(.remoteFailure, "a plan repaired")
        }
        func replace(
            _ file: KeyDeploy.RemoteFile,
            into reports: inout KeyDeploy.CopyResult,
            change: ([UInt8]) throws -> [UInt8]?
        ) throws -> Bool {
            throw KeyDeployError(.remoteFailure, "a plan changed the file")
        }
    }

    static func key() throws -> SSHPublicKey { try SSHPrivateKey(generating: .ed25519).publicKey }

    @Test("a proven new key replaces the old one and takes over its options")
    func rotationSucceeds() throws {
        let old = try Self.key()
        let new = try Self.key()
        let other = "ssh-ed25519 \(try Self.key().openSSHLine().split(separator: " ")[1]) keep"
        let account = FakeAccount("\(other)\nrestrict,from=\"10.0.0.0/8\" \(old.openSSHLine(comment: "old"))\n")
        var proved = false
        let report = KeyRotation.rotate(
            newKey: new,
            comment: "new",
            options: nil,
            oldKeys: [old],
            store: account,
            proveLogin: { proved = true }
        )
        #expect(report.succeeded && proved)
        #expect(report.newKeyAdded && report.removed.count == 1)
        #expect(account.text == "\(other)\nrestrict,from=\"10.0.0.0/8\" \(new.openSSHLine(comment: "new"))\n")
    }

    @Test("a planned rotation names the line it would install and the lines it would remove, and changes nothing")
    func rotationPlan() throws {
        let old = try Self.key()
        let new = try Self.key()
        let gone = try Self.key()
        let before = "# keys\nno-pty \(old.openSSHLine(comment: "old"))\n\(old.openSSHLine(comment: "again"))\n"
        let account = FakeAccount(before)
        let report = KeyRotation.plan(
            newKey: new,
            comment: "new",
            options: nil,
            oldKeys: [old, gone],
            store: account
        )
        #expect(report.failedStep == nil && !report.newKeyAdded && !report.newKeyWasPresent)
        #expect(report.newLine == "no-pty \(new.openSSHLine(comment: "new"))")
        #expect(report.removed.map(\.line) == [2, 3])
        #expect(report.oldKeysNotFound == [gone])
        #expect(account.text == before)

        let failed = KeyRotation.plan(
            newKey: new,
            comment: nil,
            options: "restrict",
            oldKeys: [old],
            store: Unreadable()
        )
        #expect(failed.failedStep == KeyRotation.Step.read)
    }

    @Test("a new key that cannot log in is taken out again; the old key stays")
    func rotationFailsSafely() throws {
        let old = try Self.key()
        let new = try Self.key()
        let before = "\(old.openSSHLine(comment: "old"))\n"
        let account = FakeAccount(before)
        let report = KeyRotation.rotate(
            newKey: new,
            comment: nil,
            options: nil,
            oldKeys: [old],
            store: account,
            proveLogin: { throw KeyDeployError(.connection, "refused") }
        )
        #expect(!report.succeeded)
        #expect(report.failedStep == .proveLogin)
        #expect(report.newKeyTakenOut)
        #expect(account.text == before)
    }

    @Test("a new key that was already there stays there when the proof fails")
    func rotationKeepsPresentKey() throws {
        let old = try Self.key()
        let new = try Self.key()
        let before = "\(old.openSSHLine(comment: "old"))\n\(new.openSSHLine(comment: "new"))\n"
        let account = FakeAccount(before)
        let report = KeyRotation.rotate(
            newKey: new,
            comment: nil,
            options: nil,
            oldKeys: [old],
            store: account,
            proveLogin: { throw KeyDeployError(.connection, "refused") }
        )
        #expect(report.failedStep == .proveLogin && report.newKeyWasPresent && !report.newKeyTakenOut)
        #expect(account.text == before)
    }
}

/// Counts how many callers are inside at once (the peak) and in all.
final class Meter: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private var lock = pthread_mutex_t()
    private var inside = 0
    private(set) var peak = 0
    private(set) var total = 0

    init() { pthread_mutex_init(&self.lock, nil) }

    func enter() {
        pthread_mutex_lock(&self.lock)
        self.inside += 1
        self.total += 1
        self.peak = max(self.peak, self.inside)
        pthread_mutex_unlock(&self.lock)
    }

    func leave() {
        pthread_mutex_lock(&self.lock)
        self.inside -= 1
        pthread_mutex_unlock(&self.lock)
    }
}
