import Foundation
import KeysmithTestSupport
import Testing

/// Servers that allow one session channel at a time (sshd's `MaxSessions 1`): every
/// operation opens its channels one after another, each once the one before is closed, and
/// carries on over a fresh connection where the server still refuses one. Each deploy is
/// proven by OpenSSH's ssh logging in with the key.
@Suite("copy-id, list-ids, rotate and remove-id against sshd with MaxSessions 1")
struct OneSessionServerTests {
    @Test("every operation completes, over the shell and over SFTP", arguments: [false, true])
    func maxSessionsOne(sftp: Bool) throws {
        let sshd = try SSHDFixture(extraConfig: ["MaxSessions 1"])
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: true)
        let key = dir.path("id_ed25519")
        let new = dir.path("id_new")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "old@test", "-f", key]).checked("ssh-keygen")
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-C", "new@test", "-f", new]).checked("ssh-keygen")
        let knownHosts = try sshd.knownHostsFile()
        func run(_ command: String, _ extra: [String]) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-v", "-p", String(sshd.port), "-o", "UserKnownHostsFile=\(knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "--password-stdin",
                ] + (sftp ? ["-s"] : []) + extra + ["\(sshd.user)@\(sshd.host)"],
                input: Data((sshd.password + "\n").utf8),
                environment: ["HOME": dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }
        let copied = try run("copy-id", ["-i", key + ".pub"])
        #expect(copied.status == 0, "\(copied)\n\(sshd.log)")
        #expect(try sshd.sshLogin(identity: key).status == 0)
        let listed = try run("list-ids", [])
        #expect(listed.status == 0 && listed.stdout.contains("old@test"), "\(listed)\n\(sshd.log)")
        let rotated = try run("rotate", ["-i", new, "--old", key + ".pub"])
        #expect(rotated.status == 0, "\(rotated)\n\(sshd.log)")
        #expect(try sshd.sshLogin(identity: new).status == 0)
        #expect(try sshd.sshLogin(identity: key).status != 0)
        let removed = try run("remove-id", ["-i", new + ".pub"])
        #expect(removed.status == 0, "\(removed)\n\(sshd.log)")
        #expect(sshd.authorizedKeys() == "")
        // sshd frees a closed session only after it read what came with the CLOSE, so a
        // channel opened right after may be refused ("no more sessions"): each refusal sshd
        // logged was carried over to a fresh connection, logged in without asking again.
        let refusals = sshd.log.components(separatedBy: "no more sessions").count - 1
        let carried = [copied, listed, rotated, removed].map {
            $0.stderr.components(separatedBy: "logging in again on a new connection").count - 1
        }.reduce(0, +)
        #expect(carried == refusals, "sshd refused \(refusals) channels, keysmith carried \(carried) over")
        print("sshd refused \(refusals) session channels; keysmith carried \(carried) over")
    }
}
