import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

/// OpenSSH's ssh-agent on a socket in a temporary folder, stopped on release.
final class AgentFixture {
    private let agent: SSHAgentFixture
    var directory: TempDir { self.agent.directory }
    var socket: String { self.agent.socket }

    init() throws { self.agent = try SSHAgentFixture() }

    /// Makes a key with ssh-keygen in the fixture's folder, adds it with ssh-add, returns its path.
    @discardableResult
    func addNewKey(_ type: String, name: String) throws -> String {
        let path = self.directory.path(name)
        var args = ["-q", "-t", type, "-N", "", "-C", name, "-f", path]
        if type == "rsa" { args += ["-b", "2048"] }
        _ = try runProcess(Tool.sshKeygen, args).checked("ssh-keygen")
        _ = try runProcess("/usr/bin/ssh-add", [path], environment: ["SSH_AUTH_SOCK": self.socket]).checked("ssh-add")
        return path
    }
}

func publicKey(ofFile path: String) throws -> SSHPublicKey {
    try SSHPublicKey(openSSHLine: try readText(path + ".pub"))
}

@Suite("ssh-agent client against OpenSSH's ssh-agent")
struct AgentClientTests {
    @Test("lists the agent's keys and signs with Ed25519, ECDSA and RSA (rsa-sha2-256/512 by flag)")
    func listsAndSigns() throws {
        let fixture = try AgentFixture()
        let ed = try publicKey(ofFile: try fixture.addNewKey("ed25519", name: "ed"))
        let ec = try publicKey(ofFile: try fixture.addNewKey("ecdsa", name: "ec"))
        let rsa = try publicKey(ofFile: try fixture.addNewKey("rsa", name: "rsa"))

        let agent = try SSHAgentClient(socketPath: fixture.socket)
        let listed = try agent.identities()
        #expect(listed.map(\.publicKey) == [ed, ec, rsa])
        #expect(listed.map(\.comment) == ["ed", "ec", "rsa"])

        let data = Array("signed by the agent".utf8)
        for (key, algorithm) in [
            (ed, "ssh-ed25519"), (ec, "ecdsa-sha2-nistp256"), (rsa, "rsa-sha2-256"), (rsa, "rsa-sha2-512"),
        ] {
            let signature = try agent.sign(data, with: key, algorithm: algorithm)
            #expect(signature.algorithm == algorithm)
            #expect(key.isValidSignature(signature, for: data))
            #expect(!key.isValidSignature(signature, for: data + [0]))
        }
    }

    @Test("a key the agent does not hold is refused with cryptoFailure")
    func refusesUnknownKey() throws {
        let fixture = try AgentFixture()
        let agent = try SSHAgentClient(socketPath: fixture.socket)
        #expect(try agent.identities().isEmpty)
        let stranger = try SSHPrivateKey(generating: .ed25519).publicKey
        #expect(throws: SSHProtocolError(.cryptoFailure, "")) {
            try agent.sign([1, 2, 3], with: stranger, algorithm: "ssh-ed25519")
        }
    }

    @Test("a missing socket is connectionFailed naming the path")
    func missingSocket() throws {
        let dir = try TempDir()
        let error = #expect(throws: SSHProtocolError(.connectionFailed, "")) {
            try SSHAgentClient(socketPath: dir.path("nothing.sock"))
        }
        #expect(error?.message.contains(dir.path("nothing.sock")) == true)
    }
}
