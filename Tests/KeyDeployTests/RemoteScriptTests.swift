import Foundation
import KeyDeploy
import KeysmithTestSupport
import SSHKeys
import Testing

/// The remote script on a real sshd, driven through OpenSSH's ssh; every deploy is proven
/// by OpenSSH logging in with the new key.
@Suite("KeyDeploy's remote script against OpenSSH's sshd")
struct RemoteScriptTests {
    @Test("copy creates ~/.ssh 0700 and authorized_keys 0600 and the key logs in")
    func copyCreates() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "id")
        let runner = OpenSSHRunner(sshd: sshd)
        let result = try KeyDeploy.copy(lines: [key.line], over: runner)
        #expect(result.added == [key.line])
        #expect(result.created == [sshd.home + "/.ssh"])
        #expect(try fileMode(sshd.home + "/.ssh") == 0o700)
        #expect(try fileMode(sshd.home + "/.ssh/authorized_keys") == 0o600)
        #expect(sshd.authorizedKeys() == key.line + "\n")
        let login = try sshd.sshLogin(identity: key.path, command: "id -un")
        #expect(login.status == 0, "\(login)\n\(sshd.log)")
        #expect(!FileManager.default.fileExists(atPath: sshd.home + "/.ssh/.keysmith.lock"))
    }

    @Test("deploying twice leaves one line, whatever the comment or options of the present one")
    func twice() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "id")
        let runner = OpenSSHRunner(sshd: sshd)
        let present =
            "restrict,from=\"127.0.0.1\" " + key.line.split(separator: " ").prefix(2).joined(separator: " ")
            + " other comment\n"
        try writeAsUser(sshd, ".ssh/authorized_keys", Array(present.utf8))
        let result = try KeyDeploy.copy(lines: [key.line], over: runner)
        #expect(result.added.isEmpty)
        #expect(result.alreadyPresent.count == 1)
        #expect(sshd.authorizedKeys() == present)
        let forced = try KeyDeploy.copy(lines: [key.line], force: true, over: runner)
        #expect(forced.added == [key.line])
        #expect(sshd.authorizedKeys() == present + key.line + "\n")
    }

    @Test("a file without a final newline keeps every byte and gains one newline")
    func noFinalNewline() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let old = try makeKey(dir, "old")
        let new = try makeKey(dir, "new")
        let original = Array("# keep me\r\n\n  \(old.line)  trailing\t".utf8)
        try writeAsUser(sshd, ".ssh/authorized_keys", original)
        let result = try KeyDeploy.copy(lines: [new.line], over: OpenSSHRunner(sshd: sshd))
        #expect(result.addedFinalNewline)
        #expect(authorizedKeysBytes(sshd) == original + Array("\n\(new.line)\n".utf8))
        #expect(try sshd.sshLogin(identity: new.path).status == 0)
        #expect(try sshd.sshLogin(identity: old.path).status == 0)
    }

    @Test("a group- or world-writable ~/.ssh and file are repaired and reported")
    func repairsModes() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "id")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array((key.line + "\n").utf8), mode: 0o666)
        _ = try runProcess("/bin/chmod", ["777", sshd.home + "/.ssh"]).checked("chmod")
        #expect(try sshd.sshLogin(identity: key.path).status != 0)  // StrictModes refuses it
        let result = try KeyDeploy.copy(lines: [key.line], over: OpenSSHRunner(sshd: sshd))
        #expect(result.added.isEmpty)
        #expect(Set(result.repaired.map(\.path)) == [sshd.home + "/.ssh", sshd.home + "/.ssh/authorized_keys"])
        #expect(try fileMode(sshd.home + "/.ssh") & 0o022 == 0)
        #expect(try fileMode(sshd.home + "/.ssh/authorized_keys") & 0o022 == 0)
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }

    @Test("a dry run changes nothing, not even modes")
    func dryRun() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "id")
        let runner = OpenSSHRunner(sshd: sshd)
        let result = try KeyDeploy.copy(lines: [key.line], dryRun: true, over: runner)
        #expect(result.added == [key.line])
        #expect(!FileManager.default.fileExists(atPath: sshd.home + "/.ssh"))
        try writeAsUser(sshd, ".ssh/authorized_keys", Array("x\n".utf8), mode: 0o666)
        let again = try KeyDeploy.copy(lines: [key.line], dryRun: true, over: runner)
        #expect(again.repaired.map(\.path) == [sshd.home + "/.ssh/authorized_keys"])
        #expect(try fileMode(sshd.home + "/.ssh/authorized_keys") == 0o666)
        #expect(sshd.authorizedKeys() == "x\n")
    }

    @Test("remove takes out exactly the lines with that key blob")
    func remove() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let a = try makeKey(dir, "a")
        let b = try makeKey(dir, "b")
        let aBare = a.line.split(separator: " ").prefix(2).joined(separator: " ")
        let text = "# header\n\(a.line)\n\(b.line)\nno-pty \(aBare) again\n"
        try writeAsUser(sshd, ".ssh/authorized_keys", Array(text.utf8))
        let keyA = try SSHPublicKey(openSSHLine: a.line)
        let runner = OpenSSHRunner(sshd: sshd)
        let dry = try KeyDeploy.remove(keys: [keyA], dryRun: true, over: runner)
        #expect(dry.removed.map(\.line) == [2, 4])
        #expect(sshd.authorizedKeys() == text)
        let result = try KeyDeploy.remove(keys: [keyA], over: runner)
        #expect(result.removed.map(\.line) == [2, 4])
        #expect(sshd.authorizedKeys() == "# header\n\(b.line)\n")
        #expect(try sshd.sshLogin(identity: a.path).status != 0)
        #expect(try sshd.sshLogin(identity: b.path).status == 0)
        let none = try KeyDeploy.remove(keys: [keyA], over: runner)
        #expect(none.removed.isEmpty && none.notFound == [keyA])
    }

    @Test("list reads every key with its line, options and comment")
    func list() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let a = try makeKey(dir, "a", comment: "alice")
        let b = try makeKey(dir, "b", comment: "bob")
        try writeAsUser(sshd, ".ssh/authorized_keys", Array("# c\n\(a.line)\nrestrict \(b.line)\ngarbage\n".utf8))
        let keys = try KeyDeploy.list(over: OpenSSHRunner(sshd: sshd))
        #expect(keys.map(\.line) == [2, 3])
        #expect(keys.map(\.comment) == ["alice", "bob"])
        #expect(keys.map(\.options) == [nil, "restrict"])
    }

    @Test("concurrent deploys to one account keep every key")
    func concurrent() async throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        var keys: [(path: String, line: String)] = []
        for i in 0..<4 { keys.append(try makeKey(dir, "k\(i)")) }
        let lines = keys.map(\.line)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for line in lines {
                group.addTask { _ = try KeyDeploy.copy(lines: [line], over: OpenSSHRunner(sshd: sshd)) }
            }
            try await group.waitForAll()
        }
        let installed = Set((sshd.authorizedKeys() ?? "").split(separator: "\n").map(String.init))
        #expect(installed == Set(lines))
        for key in keys { #expect(try sshd.sshLogin(identity: key.path).status == 0) }
    }
}
