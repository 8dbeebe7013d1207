import Foundation
import KeysmithTestSupport
import SSHKeys
import Testing

@testable import KeyDeploy

#if canImport(Glibc)
import Glibc
#endif

/// What killed deploys and killed lock breakers leave in ~/.ssh, against OpenSSH's sshd,
/// over the shell script (through OpenSSH's ssh) and over SFTP: each is cleared by the next
/// deploy that takes the lock, and nothing else is touched (docs/limits.md).
@Suite("leftovers of killed deploys and lock breakers, against OpenSSH's sshd")
struct DeployLockTests {
    enum Path: String, CaseIterable, CustomTestStringConvertible {
        case shell
        case sftp

        var testDescription: String { self.rawValue }

        /// Adds `line` over this path, with the lock's `timing`.
        func copy(_ line: String, _ sshd: SSHDFixture, timing: LockTiming = quickLock) throws -> KeyDeploy.CopyResult {
            switch self {
            case .shell:
                return try ShellAuthorizedKeysStore(timing: timing, over: OpenSSHRunner(sshd: sshd)).copy(lines: [line])
            case .sftp:
                let (client, sftp) = try openSFTP(sshd)
                defer { client.close() }
                return try SFTPAuthorizedKeysStore(timing: timing, over: sftp).copy(lines: [line])
            }
        }
    }

    @Test(
        "a break lock left by a killed breaker of an older keysmith does not stop a stale lock from being broken, and ages out",
        arguments: Path.allCases
    )
    func leftoverBreakLock(_ path: Path) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("elsewhere 4242\n".utf8))
        try writeAsUser(sshd, ".ssh/.keysmith.lock.break/x", [])
        try FileManager.default.removeItem(atPath: sshd.home + "/.ssh/.keysmith.lock.break/x")

        let result = try path.copy(key.line, sshd)
        #expect(result.added == [key.line])
        #expect(sshd.authorizedKeys() == key.line + "\n")
        // The waiter watched both for the stale time: the lock was taken over, the break lock removed.
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }

    enum Killed: String, CaseIterable, CustomTestStringConvertible {
        /// A shell breaker killed after moving the stale record aside, and a shell taker
        /// killed before its record went in; taken over by SFTP.
        case shellBrokenBySFTP
        /// The same left by SFTP deploys; taken over by the shell script.
        case sftpBrokenByShell

        var testDescription: String { self.rawValue }
    }

    @Test(
        "a lock left without a record by a killed breaker or taker is taken over after the stale time",
        arguments: Killed.allCases
    )
    func killedBreaker(_ killed: Killed) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        let inside =
            switch killed {
            case .shellBrokenBySFTP:
                ["stale.4242": "elsewhere 4241\n", "rec.4243": "elsewhere 4243\n", "beat.4241.7": ""]
            case .sftpBrokenByShell:
                ["stale.sftp.5eed": "(sftp) 1\n", "rec.sftp.c0ffee": "(sftp) c0ffee\n", "beat.sftp.1.3": ""]
            }
        for (name, text) in inside { try writeAsUser(sshd, ".ssh/.keysmith.lock/" + name, Array(text.utf8)) }

        let result = try (killed == .shellBrokenBySFTP ? Path.sftp : .shell).copy(key.line, sshd)
        #expect(result.added == [key.line])
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(sshd.authorizedKeys() == key.line + "\n")
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }

    /// Names a killed deploy leaves (removed by the next deploy that takes the lock) and
    /// names that merely look alike (kept).
    static let temporaries = [
        "authorized_keys.keysmith.4242", "authorized_keys.keysmith.snap.4243", "authorized_keys.keysmith.sftp.5eed",
        "authorized_keys.keysmith.sftp.ffffffffffffffff",
    ]
    static let lookalikes = [
        "authorized_keys.keysmith.", "authorized_keys.keysmith.12x", "authorized_keys.keysmith.snap.1.2",
        "authorized_keys.keysmith.sftp.ABC", "authorized_keys.keysmith.sftp.1ffffffffffffffff",
        "authorized_keys2.keysmith.1", "authorized_keys.keysmith.1 2", "authorized_keys.keysmith.snap.",
        "authorized_keys~", "id_ed25519",
    ]

    @Test(
        "the next deploy that takes the lock removes the temporary files of killed deploys, and nothing else",
        arguments: Path.allCases
    )
    func temporaries(_ path: Path) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let old = try makeKey(dir, "old")
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array((old.line + "\n").utf8))
        for name in Self.temporaries + Self.lookalikes {
            try writeAsUser(sshd, ".ssh/" + name, Array("x\n".utf8))
        }
        // A directory with a temporary file's name is not a file keysmith wrote: kept.
        try FileManager.default.createDirectory(
            atPath: sshd.home + "/.ssh/authorized_keys.keysmith.77",
            withIntermediateDirectories: false
        )

        let result = try path.copy(key.line, sshd)
        #expect(result.added == [key.line])
        let expected = (["authorized_keys", "authorized_keys.keysmith.77"] + Self.lookalikes).sorted()
        #expect(try entries(sshd.home + "/.ssh") == expected)
        for name in Self.lookalikes { #expect(try readText(sshd.home + "/.ssh/" + name) == "x\n", "\(name)") }
        #expect(sshd.authorizedKeys() == old.line + "\n" + key.line + "\n")
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
        #expect(try sshd.sshLogin(identity: old.path).status == 0)
    }

    @Test("deploys over both paths racing to take over one stale lock all land, each key once")
    func racingTakers() async throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        // This host's record naming a process that is gone: shell waiters take it over at
        // their first check, SFTP waiters queue behind them.
        var uts = utsname()
        uname(&uts)
        let host = withUnsafeBytes(of: uts.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("\(host) 2147483646\n".utf8))
        var keys: [(path: String, line: String)] = []
        for i in 0..<8 { keys.append(try makeKey(dir, "k\(i)")) }
        let jobs = keys.enumerated().map { ($0.element.line, $0.offset % 4 == 3 ? Path.sftp : Path.shell) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (line, path) in jobs {
                group.addTask { _ = try path.copy(line, sshd, timing: .standard) }
            }
            try await group.waitForAll()
        }
        let installed = (sshd.authorizedKeys() ?? "").split(separator: "\n").map(String.init)
        #expect(installed.sorted() == keys.map(\.line).sorted())
        #expect(try entries(sshd.home + "/.ssh") == ["authorized_keys"])
        for key in [keys[0], keys[3]] { #expect(try sshd.sshLogin(identity: key.path).status == 0) }
    }
}
