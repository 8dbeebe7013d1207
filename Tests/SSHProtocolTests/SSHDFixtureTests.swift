import Foundation
import KeysmithTestSupport
import Testing

@Suite("the sshd fixture")
struct SSHDFixtureTests {
    @Test("OpenSSH's ssh logs in to the fixture with a key put in authorized_keys")
    func opensshLogsIn() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = dir.path("id")
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", key]).checked("ssh-keygen")
        // Without the key in authorized_keys, the login is refused.
        #expect(try sshd.sshLogin(identity: key).status != 0)
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", try readText(key + ".pub"))
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", ssh]).checked("chown")
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
        let login = try sshd.sshLogin(identity: key, command: "id -un")
        #expect(login.status == 0, "\(login)\n\(sshd.log)")
        #expect(login.stdout == sshd.user + "\n")
    }
}
