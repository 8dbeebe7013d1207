import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

@testable import KeyDeploy

/// A password connection to the fixture's sshd, with its SFTP channel.
func openSFTP(_ sshd: SSHDFixture) throws -> (SSHClient, SFTPClient) {
    let client = try openClient(sshd)
    return (client, try SFTPClient(over: client))
}

/// A password connection to the fixture's sshd.
func openClient(_ sshd: SSHDFixture) throws -> SSHClient {
    let trusted = Set(sshd.hostKeys.values.compactMap { try? SSHPublicKey(openSSHLine: $0) })
    let secret = sshd.password
    return try SSHClient.connect(
        SSHClientOptions(
            host: sshd.host,
            port: sshd.port,
            user: sshd.user,
            credentials: SSHCredentials(password: { _ in SecureBytes(utf8: secret) }),
            authenticationOrder: [.password],
            connectTimeout: 5,
            overallTimeout: 120,
            idleTimeout: 60
        ) { (key: SSHPublicKey) throws(SSHProtocolError) in
            guard trusted.contains(key) else { throw SSHProtocolError(.hostKeyRejected, "unknown host key") }
        }
    )
}

/// The SFTP path's lock behaves as the shell script's (docs/limits.md): it carries a holder
/// record, and a lock left by a holder that died is broken, by either path, whichever left it.
@Suite("the authorized_keys lock over SFTP, against OpenSSH's sshd")
struct SFTPLockTests {
    @Test(
        "while the SFTP path holds the lock, the lock holds its whole holder record; after the deploy neither is left"
    )
    func holderRecord() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        let (client, sftp) = try openSFTP(sshd)
        defer { client.close() }
        let paths = try SFTPAuthorizedKeysStore.Paths(target: KeyDeploy.defaultTarget, sftp: sftp)
        try sftp.makeDirectory(paths.directory, permissions: 0o700)
        let lock = SFTPAuthorizedKeysStore.Lock(directory: paths.directory)
        try lock.acquire(sftp)
        let lockPath = sshd.home + "/.ssh/.keysmith.lock"
        #expect(try FileManager.default.contentsOfDirectory(atPath: lockPath) == ["holder"])
        let record = try readText(lockPath + "/holder")
        #expect(record == "(sftp) \(lock.nonce)\n", "\(record)")
        #expect(try fileMode(lockPath + "/holder") & 0o077 == 0)
        // A holder whose record was replaced (its lock was taken for stale) leaves the lock alone.
        try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array("(sftp) 5eed\n".utf8))
        lock.release(sftp)
        #expect(try readText(lockPath + "/holder") == "(sftp) 5eed\n")
        try FileManager.default.removeItem(atPath: lockPath)
        try lock.acquire(sftp)
        lock.release(sftp)
        #expect(!FileManager.default.fileExists(atPath: lockPath))

        _ = try SFTPAuthorizedKeysStore(over: sftp).copy(lines: [key.line])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }

    @Test("the names a killed deploy leaves are recognised exactly")
    func leftoverNames() {
        for name in [
            "authorized_keys.keysmith.1", "authorized_keys.keysmith.4194304", "authorized_keys.keysmith.snap.77",
            "authorized_keys.keysmith.sftp.0", "authorized_keys.keysmith.sftp.ffffffffffffffff",
        ] {
            #expect(DeployLock.leftover(name, target: "authorized_keys"), "\(name)")
        }
        for name in [
            "authorized_keys", "authorized_keys.keysmith.", "authorized_keys.keysmith.12x",
            "authorized_keys.keysmith.-1", "authorized_keys.keysmith.snap.", "authorized_keys.keysmith.snap.1.2",
            "authorized_keys.keysmith.sftp.", "authorized_keys.keysmith.sftp.ABC",
            "authorized_keys.keysmith.sftp.1ffffffffffffffff", "authorized_keys2.keysmith.1",
            "xauthorized_keys.keysmith.1", "authorized_keys.keysmith.sftp.12 ", ".keysmith.lock", "rec.1",
        ] {
            #expect(!DeployLock.leftover(name, target: "authorized_keys"), "\(name)")
        }
        for name in ["rec.1", "stale.23", "rec.sftp.5eed", "stale.sftp.0", "beat.4242.0", "beat.sftp.5eed.17"] {
            #expect(DeployLock.leftover(name, inLock: true), "\(name)")
        }
        for name in [
            "holder", "rec.", "rec.x", "stale.sftp.", "stale.sftp.XY", "rec.snap.1", "authorized_keys.keysmith.1",
            "beat.", "beat.1", "beat.1.", "beat..1", "beat.1.2.3", "beat.x.1", "beat.sftp.1", "beat.sftp.XY.1",
            "beat.sftp.5eed.x",
        ] {
            #expect(!DeployLock.leftover(name, inLock: true), "\(name)")
        }
    }

    enum Stale: String, CaseIterable, CustomTestStringConvertible {
        /// A shell holder on another host (or one whose process is gone), broken by SFTP.
        case shellRecordBrokenBySFTP
        /// A holder killed between MKDIR and writing its record, broken by SFTP.
        case noRecordBrokenBySFTP
        /// An SFTP holder cut off midway, broken by the shell script.
        case sftpRecordBrokenByShell

        var testDescription: String { self.rawValue }
    }

    @Test("a lock whose holder died is broken after it stays unchanged for the stale time", arguments: Stale.allCases)
    func staleLock(_ stale: Stale) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        try writeAsUser(sshd, ".ssh/authorized_keys", [])
        let record: String? =
            switch stale {
            case .shellRecordBrokenBySFTP: "elsewhere 4242\n"
            case .noRecordBrokenBySFTP: nil
            case .sftpRecordBrokenByShell: "(sftp) 5eed\n"
            }
        if let record {
            try writeAsUser(sshd, ".ssh/.keysmith.lock/holder", Array(record.utf8))
        } else {
            try writeAsUser(sshd, ".ssh/.keysmith.lock/x", [])
            try FileManager.default.removeItem(atPath: sshd.home + "/.ssh/.keysmith.lock/x")
        }

        if stale == .sftpRecordBrokenByShell {
            _ = try ShellAuthorizedKeysStore(timing: quickLock, over: OpenSSHRunner(sshd: sshd)).copy(lines: [key.line])
        } else {
            let (client, sftp) = try openSFTP(sshd)
            defer { client.close() }
            let result = try SFTPAuthorizedKeysStore(timing: quickLock, over: sftp).copy(lines: [key.line])
            #expect(result.added.count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(sshd.authorizedKeys() == key.line + "\n")
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }
}
