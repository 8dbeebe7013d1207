import Foundation
import KeysmithTestSupport
import SSHKeys
import Testing

@testable import SSHProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Drives an `SSHTransport` over a blocking loopback TCP socket (poll + read/write).
final class TransportTestConnection {
    let transport: SSHTransport
    private let fd: Int32
    private(set) var payloads: [[UInt8]] = []
    private(set) var readyCount = 0

    init(
        port: Int,
        algorithms: SSHAlgorithms,
        verifier: @escaping (SSHPublicKey) throws(SSHProtocolError) -> Void = { _ in }
    ) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard ok == 0 else {
            close(fd)
            throw FixtureError("connect to port \(port) failed")
        }
        self.fd = fd
        self.transport = SSHTransport(algorithms: algorithms, hostKeyVerifier: verifier)
    }

    deinit { close(self.fd) }

    /// Writes what the transport has queued.
    func flush() throws {
        try self.send(self.transport.takeOutbound())
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(self.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw FixtureError("write failed: errno \(errno)") }
            sent += n
        }
    }

    /// Runs the loop until `done` holds, the server closes, or `seconds` pass.
    func run(seconds: Double = 20, until done: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done() {
            try self.flush()
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw FixtureError("timed out") }
            var pfd = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready >= 0 else { throw FixtureError("poll failed") }
            if ready == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw FixtureError("the server closed the connection") }
            for event in try self.transport.receive(buffer[0..<n]) {
                switch event {
                case .ready: self.readyCount += 1
                case .payload(let p): self.payloads.append(p)
                }
            }
        }
        try self.flush()
    }

    /// SSH_MSG_SERVICE_REQUEST "ssh-userauth", then wait for SSH_MSG_SERVICE_ACCEPT.
    func requestUserAuth() throws {
        try self.transport.send([5, 0, 0, 0, 12] + Array("ssh-userauth".utf8))
        try self.run { !self.payloads.isEmpty }
        #expect(self.payloads.first == [6, 0, 0, 0, 12] + Array("ssh-userauth".utf8))
    }
}

@Suite("transport against OpenSSH's sshd")
struct TransportInteropTests {
    /// Connects with only `algorithms`, forced on sshd with `config`, and gets to userauth.
    @discardableResult
    private func connect(
        _ algorithms: SSHAlgorithms,
        config: [String],
        expectedHostKeyType: String = "ssh-ed25519",
        extraHostKey: (type: String, line: String)? = nil
    ) throws -> TransportTestConnection {
        let sshd = try SSHDFixture(extraConfig: config)
        var seen: SSHPublicKey?
        let connection = try TransportTestConnection(port: sshd.port, algorithms: algorithms) { key in seen = key }
        do {
            try connection.run { connection.readyCount == 1 }
            try connection.requestUserAuth()
        } catch {
            Issue.record("\(error)\n\(sshd.log)")
            throw error
        }
        let expected = extraHostKey?.line ?? sshd.hostKeys[expectedHostKeyType]
        #expect(
            seen.map { $0.openSSHLine() } == expected.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        )
        #expect(connection.transport.hostKey == seen)
        #expect(connection.transport.sessionID?.isEmpty == false)
        #expect(connection.transport.serverSignatureAlgorithms?.contains("rsa-sha2-512") == true)
        return connection
    }

    static let kexMethods = SSHAlgorithms.supportedKeyExchange

    @Test("every key exchange method", arguments: kexMethods)
    func keyExchange(_ method: String) throws {
        var algorithms = SSHAlgorithms.clientDefaults
        algorithms.keyExchange = [method]
        let connection = try self.connect(algorithms, config: ["KexAlgorithms \(method)"])
        #expect(connection.transport.negotiated?.keyExchange == method)
    }

    @Test("every cipher", arguments: SSHAlgorithms.supportedCiphers)
    func cipher(_ cipher: String) throws {
        var algorithms = SSHAlgorithms.clientDefaults
        algorithms.ciphers = [cipher]
        let connection = try self.connect(algorithms, config: ["Ciphers \(cipher)"])
        #expect(connection.transport.negotiated?.cipherClientToServer == cipher)
        #expect(connection.transport.negotiated?.cipherServerToClient == cipher)
    }

    @Test("every MAC with aes128-ctr", arguments: SSHAlgorithms.supportedMACs)
    func mac(_ mac: String) throws {
        var algorithms = SSHAlgorithms.clientDefaults
        algorithms.ciphers = ["aes128-ctr"]
        algorithms.macs = [mac]
        let connection = try self.connect(algorithms, config: ["Ciphers aes128-ctr", "MACs \(mac)"])
        #expect(connection.transport.negotiated?.macClientToServer == mac)
        #expect(connection.transport.negotiated?.macServerToClient == mac)
    }

    @Test("every host key algorithm", arguments: SSHAlgorithms.supportedHostKey)
    func hostKey(_ algorithm: String) throws {
        var algorithms = SSHAlgorithms.clientDefaults
        algorithms.hostKey = [algorithm]
        var config = ["HostKeyAlgorithms \(algorithm)"]
        var extra: (type: String, line: String)? = nil
        let dir = try TempDir()
        if algorithm == "ecdsa-sha2-nistp384" || algorithm == "ecdsa-sha2-nistp521" {
            // The fixture's ECDSA host key is on P-256; add one on the wanted curve.
            let path = dir.path("host_key")
            _ = try runProcess(
                Tool.sshKeygen,
                ["-q", "-t", "ecdsa", "-b", String(algorithm.suffix(3)), "-N", "", "-f", path]
            )
            .checked("ssh-keygen")
            config.append("HostKey \(path)")
            extra = (algorithm, try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let keyType = algorithm.hasPrefix("rsa-sha2-") ? "ssh-rsa" : algorithm
        let connection = try self.connect(algorithms, config: config, expectedHostKeyType: keyType, extraHostKey: extra)
        #expect(connection.transport.negotiated?.hostKey == algorithm)
    }

    @Test("a re-key started by sshd (RekeyLimit 1K) completes and the connection goes on")
    func serverRekey() throws {
        // sshd never re-keys before authentication (packet.c), so log in with the password first.
        let sshd = try SSHDFixture(extraConfig: ["RekeyLimit 1K"])
        let connection = try TransportTestConnection(port: sshd.port, algorithms: .clientDefaults)
        try connection.run { connection.readyCount == 1 }
        try connection.requestUserAuth()
        var request = SSHWireWriter()
        request.writeByte(50)
        request.writeString(sshd.user)
        request.writeString("ssh-connection")
        request.writeString("password")
        request.writeByte(0)
        request.writeString(sshd.password)
        try connection.transport.send(request.bytes)
        try connection.run { connection.payloads.contains { $0.first == 51 || $0.first == 52 } }
        #expect(connection.payloads.last?.first == 52, "\(sshd.log)")
        #expect(connection.transport.completedKeyExchanges == 1)
        // IGNORE messages full of padding push sshd past its limit.
        for _ in 0..<4 {
            try connection.transport.send([2, 0, 0, 3, 0xE8] + [UInt8](repeating: 0x55, count: 1000))
        }
        try connection.run {
            connection.transport.isExchangingKeys || connection.transport.completedKeyExchanges >= 2
        }
        // A message sent while the re-key runs is held until NEWKEYS, then answered
        // (a global request nobody knows gets REQUEST_FAILURE).
        var global = SSHWireWriter()
        global.writeByte(80)
        global.writeString("keepalive@openssh.com")
        global.writeByte(1)
        let heldDuringRekey = connection.transport.isExchangingKeys
        try connection.transport.send(global.bytes)
        let queued = connection.transport.takeOutbound()
        if heldDuringRekey { #expect(queued.isEmpty) }
        try connection.send(queued)
        try connection.run { connection.transport.completedKeyExchanges >= 2 }
        try connection.run { connection.payloads.last?.first == 82 }
        #expect(connection.transport.sessionID != nil)
        #expect(heldDuringRekey)
    }

    @Test("a host key the verifier refuses ends the connection before NEWKEYS")
    func refusedHostKey() throws {
        let sshd = try SSHDFixture()
        let connection = try TransportTestConnection(port: sshd.port, algorithms: .clientDefaults) {
            key throws(SSHProtocolError) in
            throw SSHProtocolError(.hostKeyRejected, "no: \(key.type)")
        }
        do {
            try connection.run { connection.readyCount == 1 }
            Issue.record("the connection went on")
        } catch let error as SSHProtocolError {
            #expect(error.code == .hostKeyRejected)
        }
        #expect(connection.transport.sessionID == nil)
        #expect(connection.transport.hostKey == nil)
    }
}
