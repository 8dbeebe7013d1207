import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

@testable import KeyDeploy

#if canImport(Glibc)
import Glibc
#endif

/// The two stores, each over keysmith's own client to a fresh sshd account.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case shell
    case sftp

    var testDescription: String { self.rawValue }
    var other: StoreKind { self == .shell ? .sftp : .shell }

    /// Runs `body` with a store of this kind on a new connection, closed afterwards.
    func with<T>(
        _ sshd: SSHDFixture,
        timing: LockTiming = .standard,
        _ body: (any AuthorizedKeysStore) throws -> T
    ) throws -> T {
        let client = try openClient(sshd)
        defer { client.close() }
        switch self {
        case .shell:
            return try body(ShellAuthorizedKeysStore(timing: timing, over: client))
        case .sftp:
            let sftp = try SFTPClient(over: client)
            defer { try? sftp.close() }
            return try body(try SFTPAuthorizedKeysStore(timing: timing, over: sftp))
        }
    }
}

/// A store that lets the test change the file behind the lock's back, once, while the first
/// replacement holds the lock (after the contents were handed to the plan).
struct MeddlingStore: AuthorizedKeysStore {
    let base: any AuthorizedKeysStore
    let meddle: () throws -> Void
    let replacements: Counter

    var target: String { self.base.target }
    func read() throws -> KeyDeploy.RemoteFile { try self.base.read() }
    func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) throws {
        try self.base.repair(file, into: &reports)
    }
    func replace(
        _ file: KeyDeploy.RemoteFile,
        into reports: inout KeyDeploy.CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> Bool {
        let first = self.replacements.next() == 1
        return try self.base.replace(file, into: &reports) { contents in
            if first { try self.meddle() }
            return try change(contents)
        }
    }
}

/// Counts calls from any thread.
final class Counter: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var count = 0
    func next() -> Int {
        self.lock.withLock {
            self.count += 1
            return self.count
        }
    }
    var value: Int { self.lock.withLock { self.count } }
}

/// One conformance suite for both ``AuthorizedKeysStore``s against OpenSSH's sshd: what
/// docs/limits.md promises of the lock holds for each, with timings shortened so that no
/// test waits out the standard 20 s.
@Suite("AuthorizedKeysStore conformance, over the shell and over SFTP, against OpenSSH's sshd")
struct AuthorizedKeysStoreTests {
    /// A lock with no live holder is stale after a second.
    static let fast = LockTiming.scaled(staleAfter: .seconds(1))
    /// Live holders against waiters: stale after 2 s, a beat every 0.5 s.
    static let live = LockTiming.scaled(staleAfter: .seconds(2))

    @Test(
        "copy, list and remove: group- and world-writable modes repaired, the key logs in",
        arguments: StoreKind.allCases
    )
    func roundTrip(_ kind: StoreKind) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let old = try makeKey(dir, "old")
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array((old.line + "\n").utf8), mode: 0o664)
        _ = try runProcess("/bin/chmod", ["775", sshd.home + "/.ssh"]).checked("chmod")
        try kind.with(sshd) { store in
            let planned = try store.copy(lines: [key.line], dryRun: true)
            #expect(planned.added == [key.line])
            #expect(Set(planned.repaired.map(\.path)) == [sshd.home + "/.ssh", sshd.home + "/.ssh/authorized_keys"])
            #expect(try fileMode(sshd.home + "/.ssh") == 0o775)

            let result = try store.copy(lines: [key.line])
            #expect(result.added == [key.line])
            #expect(Set(result.repaired.map(\.path)) == [sshd.home + "/.ssh", sshd.home + "/.ssh/authorized_keys"])
            #expect(try fileMode(sshd.home + "/.ssh") == 0o755)
            #expect(try fileMode(sshd.home + "/.ssh/authorized_keys") & 0o022 == 0)
            #expect(try sshd.sshLogin(identity: key.path).status == 0)
            #expect(try store.list().map(\.line) == [1, 2])

            let removed = try store.remove(keys: [try SSHPublicKey(openSSHLine: old.line)])
            #expect(removed.removed.map(\.line) == [1])
        }
        #expect(sshd.authorizedKeys() == key.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
    }

    @Test(
        "listing names every line it cannot read; removing a key keeps those lines byte for byte",
        arguments: StoreKind.allCases
    )
    func unreadableLines(_ kind: StoreKind) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        let other = try makeKey(dir, "o")
        let typeAndBlob = key.line.split(separator: " ").prefix(2).joined(separator: " ")
        let unreadable = [
            "1024 35 1234567 ssh1@old", "ssh-ed25519 AAAA!!!! damaged", "restrict,bogus \(typeAndBlob) bad options",
            "not a key line",
        ]
        let contents =
            (["# keys", key.line, unreadable[0], "", unreadable[1], other.line, unreadable[2], unreadable[3]]
                .joined(separator: "\n") + "\n")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array(contents.utf8))
        try kind.with(sshd) { store in
            let listing = try store.listing()
            #expect(listing.keys.map(\.line) == [2, 6, 7])
            #expect(listing.unreadable.map(\.lineNumber) == [3, 5, 8])
            #expect(listing.unreadable.map(\.kind) == [.ssh1Key, .damagedKey, .notAKeyLine])
            #expect(try store.list().map(\.line) == [2, 6, 7])

            let removed = try store.remove(keys: [try SSHPublicKey(openSSHLine: key.line)])
            #expect(removed.removed.map(\.line) == [2, 7])
        }
        let kept = ["# keys", unreadable[0], "", unreadable[1], other.line, unreadable[3]]
        #expect(sshd.authorizedKeys() == kept.joined(separator: "\n") + "\n")
    }

    enum Leftover: String, CaseIterable, CustomTestStringConvertible {
        /// Another host's shell holder, gone.
        case otherHost
        /// An SFTP holder cut off midway.
        case sftpHolder
        /// A taker killed between its MKDIR and its record.
        case noRecord

        var testDescription: String { self.rawValue }
    }

    @Test(
        "a lock nobody refreshes is taken over once it stayed the same for the stale time",
        arguments: StoreKind.allCases,
        Leftover.allCases
    )
    func staleTakeover(_ kind: StoreKind, _ leftover: Leftover) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        switch leftover {
        case .otherHost: try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("elsewhere 4242\n".utf8))
        case .sftpHolder:
            try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("(sftp) 5eed\n".utf8))
            try writeAsUser(sshd, ".ssh/.keysmith.lock/beat.sftp.5eed.3", [])
        case .noRecord:
            try writeAsUser(sshd, ".ssh/.keysmith.lock/x", [])
            try FileManager.default.removeItem(atPath: sshd.home + "/.ssh/.keysmith.lock/x")
        }
        let start = ContinuousClock.now
        let result = try kind.with(sshd, timing: Self.fast) { try $0.copy(lines: [key.line]) }
        let took = ContinuousClock.now - start
        #expect(result.added == [key.line])
        #expect(took >= Self.fast.staleAfter, "took the lock over after \(took)")
        #expect(took < .seconds(10), "took \(took)")
        #expect(sshd.authorizedKeys() == key.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }

    @Test(
        "a holder working three times the stale time keeps its lock: a waiter of the other store waits for it",
        arguments: StoreKind.allCases
    )
    func heartbeat(_ kind: StoreKind) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let first = try makeKey(dir, "first")
        let second = try makeKey(dir, "second")
        // Four SFTP requests' worth, so the SFTP holder works in many steps.
        let padding = String(repeating: "# padding\n", count: 12_000)
        try writeAsUser(sshd, ".ssh/authorized_keys", Array(padding.utf8))
        let order = Events()
        let held = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            held.wait()
            do {
                _ = try kind.other.with(sshd, timing: Self.live) { try $0.copy(lines: [second.line]) }
                order.add("waiter done")
            } catch {
                order.add("waiter failed: \(error)")
            }
            done.signal()
        }
        // The shell holder's beats run on the server whatever it does; the SFTP holder's come
        // between its requests, so it is slow between them, each pause under the stale time.
        let work = Self.live.staleAfter * 3
        var timing = Self.live
        if kind == .sftp {
            let steps = Counter()
            let pause = Double((Self.live.staleAfter / 4) / .milliseconds(1)) / 1000
            timing.work = {
                if steps.next() == 1 { held.signal() }
                Thread.sleep(forTimeInterval: pause)
            }
        }
        try kind.with(sshd, timing: timing) { store in
            var reports = KeyDeploy.CopyResult()
            let file = try store.read()
            let start = ContinuousClock.now
            let replaced = try store.replace(file, into: &reports) { contents in
                if kind == .shell {
                    held.signal()
                    Thread.sleep(forTimeInterval: Double(work / .milliseconds(1)) / 1000)
                }
                return contents + Array((first.line + "\n").utf8)
            }
            order.add("holder done")
            #expect(replaced)
            #expect(ContinuousClock.now - start >= work)
        }
        done.wait()
        #expect(order.all == ["holder done", "waiter done"])
        #expect(sshd.authorizedKeys() == padding + first.line + "\n" + second.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
    }

    @Test(
        "a file changed behind the lock's back is not overwritten: the edit reads it again and keeps both changes",
        arguments: StoreKind.allCases
    )
    func changedFileRetries(_ kind: StoreKind) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let other = try makeKey(dir, "other")
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        let replacements = Counter()
        let result = try kind.with(sshd) { store in
            let meddling = MeddlingStore(
                base: store,
                meddle: { try writeAsUser(sshd, ".ssh/authorized_keys", Array((other.line + "\n").utf8)) },
                replacements: replacements
            )
            return try meddling.copy(lines: [key.line])
        }
        #expect(replacements.value == 2)
        #expect(result.added == [key.line])
        #expect(sshd.authorizedKeys() == other.line + "\n" + key.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: other.path).status == 0)
    }

    @Test(
        "a killed deploy's temporary files and lock leftovers are swept by the next holder, nothing else",
        arguments: StoreKind.allCases
    )
    func sweep(_ kind: StoreKind) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        let swept = [
            "authorized_keys.keysmith.4242", "authorized_keys.keysmith.snap.4243", "authorized_keys.keysmith.sftp.5eed",
        ]
        let kept = ["authorized_keys.keysmith.x1", "authorized_keys.keysmith.sftp.XY", "authorized_keys~"]
        for name in swept + kept { try writeAsUser(sshd, ".ssh/" + name, Array("x\n".utf8)) }
        // A lock whose holder died, with a killed taker's and a killed breaker's files in it.
        for name in ["rec.4244", "stale.sftp.c0ffee", "beat.4241.7", "beat.sftp.1.3"] {
            try writeAsUser(sshd, ".ssh/.keysmith.lock/" + name, Array("elsewhere 1\n".utf8))
        }
        let result = try kind.with(sshd, timing: Self.fast) { try $0.copy(lines: [key.line]) }
        #expect(result.added == [key.line])
        #expect(try entries(sshd.home + "/.ssh") == (["authorized_keys"] + kept).sorted())
        #expect(sshd.authorizedKeys() == key.line + "\n")
    }

    @Test("deploys through both stores at once: every key lands once, every other line stays")
    func nothingLost() async throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let kept = "# a comment\n" + (try makeKey(dir, "kept")).line + "\n"
        try writeAsUser(sshd, ".ssh/authorized_keys", Array(kept.utf8))
        var keys: [String] = []
        for i in 0..<6 { keys.append(try makeKey(dir, "k\(i)").line) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, line) in keys.enumerated() {
                let kind = StoreKind.allCases[i % 2]
                group.addTask { _ = try kind.with(sshd) { try $0.copy(lines: [line]) } }
            }
            try await group.waitForAll()
        }
        let text = sshd.authorizedKeys() ?? ""
        #expect(text.hasPrefix(kept))
        #expect(text.dropFirst(kept.count).split(separator: "\n").map(String.init).sorted() == keys.sorted())
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
    }
}
