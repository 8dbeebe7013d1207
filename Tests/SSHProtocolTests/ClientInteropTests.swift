import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Options for the fixture's sshd: its user, the host keys it serves, given credentials.
private func options(
    _ sshd: SSHDFixture,
    _ credentials: SSHCredentials,
    order: [SSHAuthenticationMethod] = [.publicKey, .keyboardInteractive, .password]
) -> SSHClientOptions {
    let trusted = Set(sshd.hostKeys.values.compactMap { try? SSHPublicKey(openSSHLine: $0) })
    return SSHClientOptions(
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        credentials: credentials,
        authenticationOrder: order,
        connectTimeout: 5,
        overallTimeout: 30,
        idleTimeout: 15
    ) { (key: SSHPublicKey) throws(SSHProtocolError) in
        guard trusted.contains(key) else { throw SSHProtocolError(.hostKeyRejected, "unknown host key") }
    }
}

/// Puts `publicKeyLine` into the fixture user's authorized_keys with the modes sshd's StrictModes wants.
private func authorize(_ sshd: SSHDFixture, _ publicKeyLine: String) throws {
    let dir = sshd.home + "/.ssh"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try writeText(dir + "/authorized_keys", publicKeyLine)
    _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", dir]).checked("chown")
    _ = try runProcess("/bin/chmod", ["700", dir]).checked("chmod")
}

private func keyFile(_ type: String, in dir: TempDir) throws -> (path: String, key: SSHPrivateKey) {
    let path = dir.path("id_\(type)")
    var args = ["-q", "-t", type, "-N", "", "-f", path]
    if type == "rsa" { args += ["-b", "2048"] }
    _ = try runProcess(Tool.sshKeygen, args).checked("ssh-keygen")
    return (path, try SSHPrivateKey(fileContents: try readBytes(path)))
}

@Suite("SSHClient against OpenSSH's sshd")
struct ClientInteropTests {
    @Test("password authentication, then exec of id -un")
    func password() throws {
        let sshd = try SSHDFixture()
        let secret = sshd.password
        let client = try SSHClient.connect(
            options(sshd, SSHCredentials(password: { _ in SecureBytes(utf8: secret) }), order: [.password])
        )
        defer { client.close() }
        #expect(client.authenticatedWith == "password")
        let result = try client.exec("id -un")
        #expect(String(decoding: result.stdout, as: UTF8.self) == sshd.user + "\n")
        #expect(result.exitStatus == 0)
    }

    @Test("keyboard-interactive through PAM on an sshd with PasswordAuthentication no")
    func keyboardInteractive() throws {
        let sshd = try SSHDFixture(extraConfig: ["PasswordAuthentication no"])
        let secret = sshd.password
        let client = try SSHClient.connect(
            options(
                sshd,
                SSHCredentials(keyboardInteractive: { _, _, prompts in
                    prompts.map { _ in SecureBytes(utf8: secret) }
                })
            )
        )
        defer { client.close() }
        #expect(client.authenticatedWith == "keyboard-interactive")
        #expect(try client.exec("true").exitStatus == 0)
    }

    @Test("keyboard-interactive answered from the password source")
    func keyboardInteractiveFromPassword() throws {
        let sshd = try SSHDFixture(extraConfig: ["PasswordAuthentication no"])
        let secret = sshd.password
        let client = try SSHClient.connect(
            options(sshd, SSHCredentials(password: { _ in SecureBytes(utf8: secret) }))
        )
        defer { client.close() }
        #expect(client.authenticatedWith == "keyboard-interactive")
    }

    @Test("publickey with key files", arguments: ["ed25519", "rsa", "ecdsa"])
    func publicKeyFile(type: String) throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let (path, key) = try keyFile(type, in: dir)
        try authorize(sshd, try readText(path + ".pub"))
        let client = try SSHClient.connect(options(sshd, SSHCredentials(keys: [(label: path, key: key)])))
        defer { client.close() }
        // OpenSSH 9.2's sshd refuses ssh-rsa (SHA-1) by default, so an RSA login proves rsa-sha2-*.
        #expect(client.authenticatedWith == "publickey (\(path))")
    }

    @Test("publickey through ssh-agent, after a key file the server refuses")
    func agent() throws {
        let sshd = try SSHDFixture()
        let agent = try AgentFixture()
        let agentKey = try agent.addNewKey("rsa", name: "agent_rsa")
        try authorize(sshd, try readText(agentKey + ".pub"))
        let dir = try TempDir()
        let (stranger, strangerKey) = try keyFile("ed25519", in: dir)
        let client = try SSHClient.connect(
            options(
                sshd,
                SSHCredentials(keys: [(label: stranger, key: strangerKey)], useAgent: true, agentSocket: agent.socket)
            )
        )
        defer { client.close() }
        #expect(client.authenticatedWith == "publickey (agent key agent_rsa)")
    }

    @Test("a wrong password is authenticationFailed naming the methods the server allows")
    func wrongPassword() throws {
        let sshd = try SSHDFixture()
        let started = Date()
        let error = #expect(throws: SSHProtocolError(.authenticationFailed, "")) {
            try SSHClient.connect(
                options(sshd, SSHCredentials(password: { _ in SecureBytes(utf8: "wrong") }), order: [.password])
            )
        }
        #expect(error?.message.hasPrefix("permission denied (publickey,password,keyboard-interactive)") == true)
        #expect(error?.message.contains("tried 3 passwords") == true)
        print("wrong password refused after \(Date().timeIntervalSince(started)) s: \(error?.message ?? "")")
    }

    @Test("1 MiB of stdin round-trips through cat exactly; stdout and stderr apart; exit status 3")
    func execStreams() throws {
        let sshd = try SSHDFixture()
        let secret = sshd.password
        let client = try SSHClient.connect(
            options(sshd, SSHCredentials(password: { _ in SecureBytes(utf8: secret) }), order: [.password])
        )
        defer { client.close() }
        var generator = SystemRandomNumberGenerator()
        let input = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let started = Date()
        let echoed = try client.exec("cat", stdin: input)
        print("1 MiB through cat in \(Date().timeIntervalSince(started)) s")
        #expect(echoed.stdout == input)
        #expect(echoed.stderr.isEmpty)
        #expect(echoed.exitStatus == 0)

        let printed = try client.exec("printf 'a%sb' x")
        #expect(printed.stdout == Array("axb".utf8))

        let failing = try client.exec("sh -c 'echo err >&2; exit 3'")
        #expect(failing.stdout.isEmpty)
        #expect(failing.stderr == Array("err\n".utf8))
        #expect(failing.exitStatus == 3)
        #expect(failing.exitSignal == nil)

        let killed = try client.exec("kill -9 $$")
        #expect(killed.exitSignal == "KILL")
        #expect(killed.exitStatus == nil)
    }

    @Test("a server that accepts TCP but never speaks times out within the bound")
    func silentServer() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        try #require(bound == 0 && listen(fd, 4) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))

        let options = SSHClientOptions(
            host: "127.0.0.1",
            port: port,
            user: "nobody",
            credentials: SSHCredentials(),
            connectTimeout: 2,
            overallTimeout: 1.5,
            idleTimeout: 30
        ) { (_: SSHPublicKey) throws(SSHProtocolError) in }
        let started = ContinuousClock.now
        let error = #expect(throws: SSHProtocolError(.timeout, "")) { try SSHClient.connect(options) }
        let elapsed = ContinuousClock.now - started
        // The overall limit (1.5 s) ends it: not before it is reached, and before the idle limit
        // (30 s, twenty times as long) would. The order of the two bounds is asserted, and which
        // one the error names, not a wall-clock window a loaded machine or a sanitizer build
        // could miss.
        #expect(elapsed >= .seconds(1.5) && elapsed < .seconds(30), "took \(elapsed)")
        #expect(error?.message.contains("within the 1.5-second limit") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("127.0.0.1:\(port)") == true, "\(error?.message ?? "")")
    }

    @Test("nothing listening is connectionFailed naming host and port")
    func refused() throws {
        let options = SSHClientOptions(host: "127.0.0.1", port: 1, user: "u", credentials: SSHCredentials()) {
            (_: SSHPublicKey) throws(SSHProtocolError) in
        }
        let error = #expect(throws: SSHProtocolError(.connectionFailed, "")) { try SSHClient.connect(options) }
        #expect(error?.message.contains("127.0.0.1:1") == true)
    }

    @Test("a refused host key ends the connection before authentication")
    func hostKeyRefused() throws {
        let sshd = try SSHDFixture()
        var refusing = options(sshd, SSHCredentials(password: { _ in SecureBytes(utf8: "x") }))
        refusing.hostKeyVerifier = { (_: SSHPublicKey) throws(SSHProtocolError) in
            throw SSHProtocolError(.hostKeyRejected, "the host key changed")
        }
        #expect(throws: SSHProtocolError(.hostKeyRejected, "")) { try SSHClient.connect(refusing) }
    }
}
