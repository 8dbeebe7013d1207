import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

@testable import KeyDeploy

#if canImport(Glibc)
import Glibc
#endif

/// A holder that works longer than the stale time keeps its lock, and a holder whose lock
/// was taken over anyway writes nothing (docs/limits.md), over the shell script and over
/// SFTP, against OpenSSH's sshd. The timings are shortened: stale after 2 s, refreshed every
/// half second.
@Suite("a slow holder keeps the lock; one that lost it writes nothing, against OpenSSH's sshd")
struct LockRefreshTests {
    static let timing = LockTiming.scaled(staleAfter: .seconds(2))

    /// Runs `waiter` on its own thread once `started` is signalled; returns a semaphore
    /// signalled when it has finished.
    static func startWaiter(
        after started: DispatchSemaphore,
        _ record: Events,
        _ waiter: @escaping @Sendable () throws -> Void
    ) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            started.wait()
            do {
                try waiter()
                record.add("waiter done")
            } catch {
                record.add("waiter failed: \(error)")
            }
            done.signal()
        }
        return done
    }

    @Test("a shell holder working three times the stale time keeps its lock against an SFTP waiter")
    func slowShellHolder() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let first = try makeKey(dir, "first")
        let second = try makeKey(dir, "second")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        let client = try openClient(sshd)
        defer { client.close() }
        let record = Events()
        let held = DispatchSemaphore(value: 0)
        let done = Self.startWaiter(after: held, record) {
            let (waiterClient, sftp) = try openSFTP(sshd)
            defer { waiterClient.close() }
            _ = try SFTPAuthorizedKeysStore(timing: Self.timing, over: sftp).copy(lines: [second.line])
        }
        var reports = KeyDeploy.CopyResult()
        let store = ShellAuthorizedKeysStore(timing: Self.timing, over: client)
        let replaced = try store.replace(try store.read(), into: &reports) { contents in
            held.signal()
            usleep(6_000_000)
            record.add("holder writes")
            return contents + Array((first.line + "\n").utf8)
        }
        #expect(replaced)
        done.wait()
        #expect(record.all == ["holder writes", "waiter done"])
        #expect(sshd.authorizedKeys() == first.line + "\n" + second.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: first.path).status == 0)
    }

    @Test("an SFTP holder working twice the stale time keeps its lock against a shell waiter")
    func slowSFTPHolder() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let first = try makeKey(dir, "first")
        let second = try makeKey(dir, "second")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        let (client, sftp) = try openSFTP(sshd)
        defer { client.close() }
        let record = Events()
        let held = DispatchSemaphore(value: 0)
        let done = Self.startWaiter(after: held, record) {
            _ = try ShellAuthorizedKeysStore(timing: Self.timing, over: OpenSSHRunner(sshd: sshd))
                .copy(lines: [second.line])
        }
        var slow = Self.timing
        // Between the steps of its work (after the sweep, each write, before the rename).
        slow.work = {
            held.signal()
            usleep(1_300_000)
        }
        _ = try SFTPAuthorizedKeysStore(timing: slow, over: sftp).copy(lines: [first.line])
        record.add("holder done")
        done.wait()
        #expect(record.all == ["holder done", "waiter done"])
        #expect(sshd.authorizedKeys() == first.line + "\n" + second.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: second.path).status == 0)
    }

    @Test("a shell holder whose lock was taken over does not rename, and leaves the new holder's lock")
    func lostShellLock() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let old = try makeKey(dir, "old")
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array((old.line + "\n").utf8))
        let client = try openClient(sshd)
        defer { client.close() }
        var reports = KeyDeploy.CopyResult()
        let store = ShellAuthorizedKeysStore(timing: .standard, over: client)
        let error = #expect(throws: KeyDeployError.self) {
            try store.replace(try store.read(), into: &reports) { contents in
                // A waiter on another host took the lock over meanwhile.
                try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("elsewhere 4242\n".utf8))
                return contents + Array((key.line + "\n").utf8)
            }
        }
        #expect(error?.code == .locked)
        #expect(
            error?.message
                == "another deploy took over the lock \(sshd.home)/.ssh/.keysmith.lock while this one was working, "
                + "so .ssh/authorized_keys was left unchanged; try again"
        )
        #expect(sshd.authorizedKeys() == old.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == [".keysmith.lock", "authorized_keys"])
        #expect(try entries(sshd.home + "/.ssh/.keysmith.lock") == ["holder"])
        #expect(try readText(sshd.home + "/.ssh/.keysmith.lock/holder") == "elsewhere 4242\n")
    }

    @Test("an SFTP holder whose lock was taken over before its rename does not rename")
    func lostSFTPLock() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let old = try makeKey(dir, "old")
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array((old.line + "\n").utf8))
        let (client, sftp) = try openSFTP(sshd)
        defer { client.close() }
        // No refresh after the first, so only the check before the rename can notice.
        var timing = LockTiming(refresh: .seconds(600))
        let calls = Events()
        timing.work = {
            calls.add("work")
            if calls.all.count == 2 {
                try? writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("(sftp) 5eed\n".utf8))
            }
        }
        let error = #expect(throws: KeyDeployError.self) {
            try SFTPAuthorizedKeysStore(timing: timing, over: sftp).copy(lines: [key.line])
        }
        #expect(error?.code == .locked)
        #expect(error?.message.contains("took over the lock") == true, "\(String(describing: error))")
        #expect(sshd.authorizedKeys() == old.line + "\n")
        #expect(try entries(sshd.home + "/.ssh") == [".keysmith.lock", "authorized_keys"])
        #expect(try entries(sshd.home + "/.ssh/.keysmith.lock") == ["holder"])
        #expect(try readText(sshd.home + "/.ssh/.keysmith.lock/holder") == "(sftp) 5eed\n")
    }
}
