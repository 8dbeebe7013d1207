import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

@testable import KeyDeploy

/// A password connection to the fixture's sshd, with its SFTP channel.
private func openSFTP(_ sshd: SSHDFixture) throws -> (SSHClient, SFTPClient) {
    let trusted = Set(sshd.hostKeys.values.compactMap { try? SSHPublicKey(openSSHLine: $0) })
    let secret = sshd.password
    let client = try SSHClient.connect(
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
    return (client, try SFTPClient(over: client))
}

/// The SFTP path's lock behaves as the shell script's (docs/limits.md): it carries a holder
/// record, and a lock left by a holder that died is broken, by either path, whichever left it.
@Suite("the authorized_keys lock over SFTP, against OpenSSH's sshd")
struct SFTPLockTests {
    @Test("while the SFTP path holds the lock, the lock holds a holder record; after the deploy neither is left")
    func holderRecord() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = try makeKey(dir, "k")
        let (client, sftp) = try openSFTP(sshd)
        defer { client.close() }
        let paths = try SFTPKeyDeploy.Paths(target: KeyDeploy.defaultTarget, sftp: sftp)
        try sftp.makeDirectory(paths.directory, permissions: 0o700)
        let lock = paths.directory + "/.keysmith.lock"
        try paths.acquire(lock, sftp)
        let record = try readText(sshd.home + "/.ssh/.keysmith.lock/holder")
        #expect(record.hasPrefix("(sftp) ") && record.hasSuffix("\n"), "\(record)")
        #expect(try fileMode(sshd.home + "/.ssh/.keysmith.lock/holder") & 0o077 == 0)
        try sftp.remove(lock + "/holder")
        try sftp.removeDirectory(lock)

        _ = try SFTPKeyDeploy.copy(lines: [key.line], over: sftp)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
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

    @Test("a lock whose holder died is broken after it stays unchanged for 20 s", arguments: Stale.allCases)
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
            _ = try KeyDeploy.copy(lines: [key.line], over: OpenSSHRunner(sshd: sshd))
        } else {
            let (client, sftp) = try openSFTP(sshd)
            defer { client.close() }
            let result = try SFTPKeyDeploy.copy(lines: [key.line], over: sftp)
            #expect(result.added.count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sshd.home + "/.ssh") == ["authorized_keys"])
        #expect(sshd.authorizedKeys() == key.line + "\n")
        #expect(try sshd.sshLogin(identity: key.path).status == 0)
    }
}
