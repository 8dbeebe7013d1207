import Foundation
import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// Runs `body` under `mask`. The umask is process-wide, so callers are serialised and
/// the old mask is always restored.
private let fileIOUmaskLock = NSLock()
func withFileIOUmask<R>(_ mask: mode_t, _ body: () throws -> R) rethrows -> R {
    fileIOUmaskLock.lock()
    defer { fileIOUmaskLock.unlock() }
    let old = umask(mask)
    defer { umask(old) }
    return try body()
}

func fileIOMode(_ path: String) -> UInt32 {
    var st = stat()
    precondition(stat(path, &st) == 0)
    return UInt32(st.st_mode & 0o7777)
}

@Suite("FileIO")
struct FileIOTests {
    @Test("read returns the bytes written")
    func roundTrip() throws {
        let dir = try TempDir()
        let path = dir.path("key")
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try KeyFileIO.writeAtomically(path: path, contents: bytes, mode: 0o600, overwrite: false)
        #expect(try KeyFileIO.readFile(path) == bytes)
        #expect(try dir.entries() == ["key"])
    }

    @Test("a secret is written straight from SecureBytes")
    func secureBytes() throws {
        let dir = try TempDir()
        let path = dir.path("id")
        try KeyFileIO.writeAtomically(path: path, contents: SecureBytes([1, 2, 3]), mode: 0o600, overwrite: false)
        #expect(try KeyFileIO.readFile(path) == [1, 2, 3])
        #expect(fileIOMode(path) == 0o600)
    }

    @Test("the mode is the one asked for, even under umask 077")
    func modeIgnoresUmask() throws {
        let dir = try TempDir()
        try withFileIOUmask(0o077) {
            for mode: UInt32 in [0o600, 0o644, 0o640] {
                let path = dir.path("f\(mode)")
                try KeyFileIO.writeAtomically(path: path, contents: [0x41], mode: mode, overwrite: false)
                #expect(fileIOMode(path) == mode)
                // Replacing gives the new mode, not the old file's.
                try KeyFileIO.writeAtomically(path: path, contents: [0x42], mode: 0o600, overwrite: true)
                #expect(fileIOMode(path) == 0o600)
            }
        }
    }

    @Test("an existing file is refused without overwrite and left alone")
    func refusesOverwrite() throws {
        let dir = try TempDir()
        let path = dir.path("key")
        try KeyFileIO.writeAtomically(path: path, contents: Array("old".utf8), mode: 0o644, overwrite: false)
        #expect(throws: SSHKeyError(.fileExists, "")) {
            try KeyFileIO.writeAtomically(path: path, contents: Array("new".utf8), mode: 0o600, overwrite: false)
        }
        #expect(try KeyFileIO.readFile(path) == Array("old".utf8))
        #expect(fileIOMode(path) == 0o644)
        #expect(try dir.entries() == ["key"])

        try KeyFileIO.writeAtomically(path: path, contents: Array("new".utf8), mode: 0o600, overwrite: true)
        #expect(try KeyFileIO.readFile(path) == Array("new".utf8))
    }

    @Test("a failed replace leaves the target and no temporary file")
    func failureLeavesTarget() throws {
        let dir = try TempDir()
        // rename(2) cannot put a file over a non-empty directory.
        let target = dir.path("target")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try Data("inside".utf8).write(to: URL(fileURLWithPath: target + "/inner"))
        #expect(throws: SSHKeyError(.fileError, "")) {
            try KeyFileIO.writeAtomically(path: target, contents: [1, 2, 3], mode: 0o600, overwrite: true)
        }
        #expect(try dir.entries() == ["target"])
        #expect(try KeyFileIO.readFile(target + "/inner") == Array("inside".utf8))

        // A directory that does not exist: nothing is created anywhere.
        #expect(throws: SSHKeyError(.fileError, "")) {
            try KeyFileIO.writeAtomically(path: dir.path("missing/key"), contents: [1], mode: 0o600, overwrite: true)
        }
        #expect(try dir.entries() == ["target"])
    }

    @Test("a missing file is named with the system's reason")
    func missingFile() throws {
        let dir = try TempDir()
        let path = dir.path("nope")
        do {
            _ = try KeyFileIO.readFile(path)
            Issue.record("read a missing file")
        } catch {
            #expect(error.code == .fileError)
            #expect(error.message == "\(path): No such file or directory")
        }
        #expect(!KeyFileIO.fileExists(path))
        #expect(throws: SSHKeyError(.fileError, "")) { _ = try KeyFileIO.readFile(dir.url.path) }
    }

    @Test("a file over the size cap is refused")
    func sizeCap() throws {
        let dir = try TempDir()
        let path = dir.path("big")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, off_t(KeyFileIO.maximumFileSize + 1)) == 0)
        #expect(throws: SSHKeyError(.fileError, "")) { _ = try KeyFileIO.readFile(path) }
        #expect(truncate(path, off_t(KeyFileIO.maximumFileSize)) == 0)
        #expect(try KeyFileIO.readFile(path).count == KeyFileIO.maximumFileSize)
    }

    @Test(
        "private key permissions are checked as sshkey_perm_ok does",
        arguments: [UInt32(0o644), 0o640, 0o604, 0o700, 0o666]
    )
    func permissionsTooOpen(mode: UInt32) throws {
        let dir = try TempDir()
        let path = dir.path("id_ed25519")
        try KeyFileIO.writeAtomically(path: path, contents: [1], mode: mode, overwrite: false)
        let expected = mode & 0o077 != 0
        do {
            try KeyFileIO.checkPrivateKeyPermissions(path)
            _ = try KeyFileIO.readPrivateKeyFile(path)
            #expect(!expected)
        } catch {
            #expect(expected)
            #expect(error.code == .badPermissions)
            let octal = "0" + String(mode, radix: 8)
            #expect(error.message.contains("Permissions \(octal) for '\(path)' are too open"))
            #expect(error.message.contains("chmod 600 \(path)"))
        }
    }

    @Test("a key owned by someone else is not our business (st_uid != getuid())")
    func otherOwner() throws {
        guard getuid() == 0 else { return }
        let dir = try TempDir()
        let path = dir.path("id")
        try KeyFileIO.writeAtomically(path: path, contents: [1], mode: 0o644, overwrite: false)
        #expect(chown(path, 4242, 4242) == 0)
        try KeyFileIO.checkPrivateKeyPermissions(path)
        #expect(try KeyFileIO.readPrivateKeyFile(path) == [1])
    }

    @Test("0600 and 0400 pass")
    func permissionsFine() throws {
        let dir = try TempDir()
        for mode: UInt32 in [0o600, 0o400] {
            let path = dir.path("k\(mode)")
            try KeyFileIO.writeAtomically(path: path, contents: [7], mode: mode, overwrite: false)
            try KeyFileIO.checkPrivateKeyPermissions(path)
            #expect(try KeyFileIO.readPrivateKeyFile(path) == [7])
        }
    }

    @Test("ensureDirectory creates missing parents with the mode, whatever the umask")
    func ensureDirectory() throws {
        let dir = try TempDir()
        let path = dir.path("home/user/.ssh")
        try withFileIOUmask(0o077) { try KeyFileIO.ensureDirectory(path, mode: 0o755) }
        #expect(fileIOMode(path) == 0o755)
        #expect(fileIOMode(dir.path("home")) == 0o755)
        try KeyFileIO.ensureDirectory(path, mode: 0o700)
        #expect(fileIOMode(path) == 0o755)  // an existing directory is left as it is
        try KeyFileIO.ensureDirectory(path + "/", mode: 0o700)
        let ssh = dir.path("other/.ssh")
        try KeyFileIO.ensureDirectory(ssh)
        #expect(fileIOMode(ssh) == 0o700)
        try KeyFileIO.writeAtomically(path: path + "/file", contents: [1], mode: 0o600, overwrite: false)
        #expect(throws: SSHKeyError(.fileError, "")) { try KeyFileIO.ensureDirectory(path + "/file") }
        #expect(throws: SSHKeyError(.fileError, "")) { try KeyFileIO.ensureDirectory(path + "/file/sub") }
    }

    @Test("replaceKeepingBackup keeps FILE.old and masks the mode with 0644, as ssh-keygen -R does")
    func backup() throws {
        let dir = try TempDir()
        let path = dir.path("known_hosts")
        try KeyFileIO.writeAtomically(path: path, contents: Array("one\n".utf8), mode: 0o660, overwrite: false)
        try KeyFileIO.writeAtomically(
            path: path + ".old",
            contents: Array("stale\n".utf8),
            mode: 0o600,
            overwrite: false
        )
        try KeyFileIO.replaceKeepingBackup(path: path, contents: Array("two\n".utf8), backupPath: path + ".old")
        #expect(try KeyFileIO.readFile(path) == Array("two\n".utf8))
        #expect(try KeyFileIO.readFile(path + ".old") == Array("one\n".utf8))
        #expect(fileIOMode(path) == 0o640)
        #expect(try dir.entries() == ["known_hosts", "known_hosts.old"])
    }

    @Test("directoryName is dirname(3)")
    func directoryName() {
        #expect(KeyFileIO.directoryName(of: "a") == ".")
        #expect(KeyFileIO.directoryName(of: "/a") == "/")
        #expect(KeyFileIO.directoryName(of: "/a/b") == "/a")
        #expect(KeyFileIO.directoryName(of: "a//b/") == "a")
        #expect(KeyFileIO.directoryName(of: "/") == "/")
    }

    @Test("homeDirectory prefers HOME")
    func home() {
        #expect(
            KeyFileIO.homeDirectory() == ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
                ?? KeyFileIO.homeDirectory()
        )
        #expect(KeyFileIO.homeDirectory() != nil)
    }
}
