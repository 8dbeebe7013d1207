import Foundation
import KeysmithTestSupport
import Testing

@Suite("keysmith serve with OpenSSH's ssh")
struct ServeTests {
    @Test("ssh logs in with Ed25519, curve25519 and chacha20-poly1305 and sees the fingerprint line")
    func ed25519Login() throws {
        let server = try ServeFixture()
        let key = server.clientKeys["ed25519"]!
        let result = try server.sshLogin(
            identity: key,
            options: [
                "-o", "KexAlgorithms=curve25519-sha256", "-o", "Ciphers=chacha20-poly1305@openssh.com",
                "-o", "HostKeyAlgorithms=ssh-ed25519",
            ]
        )
        #expect(result.status == 0, "\(result)\n\(server.log)")
        #expect(result.stdout == (try server.expectedLine(for: key)) + "\n")
        #expect(server.log.contains("outcome=accepted"))
    }

    @Test("each client key type authenticates", arguments: ["ed25519", "rsa", "ecdsa"])
    func keyTypes(type: String) throws {
        let server = try ServeFixture()
        let key = server.clientKeys[type]!
        let result = try server.sshLogin(identity: key)
        #expect(result.status == 0, "\(result)\n\(server.log)")
        #expect(result.stdout == (try server.expectedLine(for: key)) + "\n")
    }

    @Test("a shell request (no command) and ssh -tt get the line too")
    func shellAndPTY() throws {
        let server = try ServeFixture()
        let key = server.clientKeys["ed25519"]!
        let expected = try server.expectedLine(for: key)
        let shell = try server.sshLogin(identity: key, options: ["-T"], command: nil)
        #expect(shell.status == 0, "\(shell)\n\(server.log)")
        #expect(shell.stdout == expected + "\n")
        let tty = try server.sshLogin(identity: key, options: ["-tt"], command: nil)
        #expect(tty.status == 0, "\(tty)\n\(server.log)")
        // Under a pty the line ends as a terminal ends it.
        #expect(tty.stdout == expected + "\r\n")
    }

    @Test("an unknown key is refused")
    func unknownKey() throws {
        let server = try ServeFixture()
        let stranger = server.dir.path("stranger")
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", stranger]).checked("ssh-keygen")
        let result = try server.sshLogin(identity: stranger)
        #expect(result.status == 255)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("Permission denied (publickey)"), "\(result)")
        #expect(server.log.contains("outcome=refused"))
    }

    @Test("password and keyboard-interactive are refused", arguments: ["password", "keyboard-interactive"])
    func passwordRefused(method: String) throws {
        let server = try ServeFixture()
        let result = try runProcess(
            "/usr/bin/sshpass",
            ["-p", "secret", Tool.ssh]
                + server.sshArguments(
                    identity: nil,
                    options: [
                        "-o", "PreferredAuthentications=\(method)", "-o", "PubkeyAuthentication=no",
                        "-o", "NumberOfPasswordPrompts=1",
                    ]
                ) + ["alice@127.0.0.1", "whoami"]
        )
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("Permission denied (publickey)"), "\(result)")
    }
}
