import Foundation
import KeysmithTestSupport
import Logging
import SSHCrypto
import SSHKeys
import Synchronization
import Testing

@testable import SSHProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Host keys of every type, made once.
enum ServerTestKeys {
    static let hostKeys: [SSHPrivateKey] = {
        [
            try! SSHPrivateKey(generating: .ed25519),
            try! SSHPrivateKey(generating: .rsa, rsaBits: 2048),
            try! SSHPrivateKey(generating: .ecdsa(.p256)),
            try! SSHPrivateKey(generating: .ecdsa(.p384)),
            try! SSHPrivateKey(generating: .ecdsa(.p521)),
        ]
    }()
}

@Suite("SSHTransport, server role against client role, in memory")
struct ServerTransportTests {
    static let combinations: [(String, String, String)] =
        SSHAlgorithms.supportedKeyExchange.map { ($0, "chacha20-poly1305@openssh.com", "ssh-ed25519") }
        + SSHAlgorithms.supportedCiphers.map { ("curve25519-sha256", $0, "ssh-ed25519") }
        + SSHAlgorithms.supportedHostKey.map { ("curve25519-sha256", "aes128-gcm@openssh.com", $0) }

    @Test("both sides agree on the session ID and exchange messages", arguments: Self.combinations)
    func handshake(kex: String, cipher: String, hostKey: String) throws {
        var algorithms = SSHAlgorithms.clientDefaults
        algorithms.keyExchange = [kex]
        algorithms.ciphers = [cipher]
        algorithms.hostKey = [hostKey]
        var pair = InMemoryLink(algorithms, server: .clientDefaults)
        try pair.pump()
        guard case .ready(let clientSession) = pair.clientEvents.first,
            case .ready(let serverSession) = pair.serverEvents.first
        else {
            Issue.record("no ready event: \(pair.clientEvents) \(pair.serverEvents)")
            return
        }
        #expect(clientSession == serverSession)
        #expect(pair.client.negotiated?.keyExchange == kex)
        #expect(pair.server.negotiated == pair.client.negotiated)
        #expect(pair.client.hostKey?.type.sshName == (hostKey.hasPrefix("rsa-") ? "ssh-rsa" : hostKey))
        // ext-info-s's server-sig-algs reached the client.
        #expect(pair.client.serverSignatureAlgorithms == SSHTransport.signatureAlgorithms)
        try pair.client.send([UserAuthMessage.serviceRequest, 0, 0, 0, 1, 0x41])
        try pair.pump()
        guard case .payload(let payload) = pair.serverEvents.last else {
            Issue.record("the server got no payload")
            return
        }
        #expect(payload == [UserAuthMessage.serviceRequest, 0, 0, 0, 1, 0x41])
    }

    @Test("only the version line may come first: a banner line from a client is refused")
    func noPreamble() {
        let server = SSHTransport(hostKeys: ServerTestKeys.hostKeys)
        #expect(throws: SSHProtocolError.self) { try server.receive(Array("hello there\r\nSSH-2.0-x\r\n".utf8)) }
    }

    @Test("a version line over 8192 bytes, or random bytes, is refused")
    func junk() {
        let long = SSHTransport(hostKeys: ServerTestKeys.hostKeys)
        #expect(throws: SSHProtocolError.self) { try long.receive(Array(repeating: UInt8(ascii: "S"), count: 9000)) }
        for seed in 0..<32 {
            let server = SSHTransport(hostKeys: ServerTestKeys.hostKeys)
            var bytes = SecureRandom.bytes(64 + seed * 7)
            bytes[0] = UInt8(ascii: "X")
            #expect(throws: SSHProtocolError.self) { try server.receive(bytes) }
        }
    }

    @Test("a packet length over 256 KiB is refused before waiting for it")
    func hugePacket() throws {
        let server = SSHTransport(hostKeys: ServerTestKeys.hostKeys)
        _ = try server.receive(Array("SSH-2.0-test\r\n".utf8))
        #expect(throws: SSHProtocolError.self) { try server.receive([0x7F, 0xFF, 0xFF, 0xF0, 0x04]) }
        // The dead transport says why in a DISCONNECT (after its version and KEXINIT).
        #expect(!server.takeOutbound().isEmpty)
    }

    @Test("strict kex: a client packet before KEXINIT ends the connection")
    func strictKex() throws {
        let server = SSHTransport(hostKeys: ServerTestKeys.hostKeys)
        _ = try server.receive(Array("SSH-2.0-test\r\n".utf8))
        var encoder = PacketEncoder()
        let ignore = try encoder.encode([SSHMessageNumber.ignore, 0, 0, 0, 0])
        let kexInit = KexInitMessage(
            cookie: SecureRandom.bytes(16),
            keyExchange: ["curve25519-sha256", "kex-strict-c-v00@openssh.com"],
            hostKey: ["ssh-ed25519"],
            ciphers: ["aes128-ctr"],
            macs: ["hmac-sha2-256"]
        )
        let packet = try encoder.encode(kexInit.payload)
        #expect(throws: SSHProtocolError.self) { try server.receive(ignore + packet) }
    }
}

@Suite("SSHUserAuthServer")
struct UserAuthServerTests {
    let sessionID = SecureRandom.bytes(32)

    func request(_ method: String, user: String = "alice", fields: (inout SSHWireWriter) -> Void = { _ in }) -> [UInt8]
    {
        var w = SSHWireWriter()
        w.writeByte(UserAuthMessage.request)
        w.writeString(user)
        w.writeString("ssh-connection")
        w.writeString(method)
        fields(&w)
        return w.bytes
    }

    func publicKeyRequest(
        _ key: SSHPrivateKey,
        algorithm: String,
        sign: Bool,
        sessionID: [UInt8]? = nil
    ) throws
        -> [UInt8]
    {
        let blob = key.publicKey.wireBlob
        var signed = SSHWireWriter()
        signed.writeString(sessionID ?? self.sessionID)
        signed.writeByte(UserAuthMessage.request)
        signed.writeString("alice")
        signed.writeString("ssh-connection")
        signed.writeString("publickey")
        signed.writeByte(1)
        signed.writeString(algorithm)
        signed.writeString(blob)
        let signature = try key.signature(for: signed.bytes, rsaHash: algorithm == "rsa-sha2-256" ? .sha256 : .sha512)
        return self.request("publickey") { w in
            w.writeByte(sign ? 1 : 0)
            w.writeString(algorithm)
            w.writeString(blob)
            if sign { w.writeString(signature.wireEncoding) }
        }
    }

    func server(accepting accepted: SSHPublicKey?) throws -> SSHUserAuthServer {
        let server = SSHUserAuthServer(sessionID: self.sessionID) { _, key in
            key == accepted ? .accept(comment: "c") : .refuse(reason: "no")
        }
        _ = try server.receive([UserAuthMessage.serviceRequest, 0, 0, 0, 12] + Array("ssh-userauth".utf8))
        return server
    }

    @Test("none, password and keyboard-interactive get FAILURE listing only publickey")
    func otherMethods() throws {
        let server = try self.server(accepting: nil)
        for method in ["none", "password", "keyboard-interactive", "hostbased"] {
            let replies = try server.receive(self.request(method) { $0.writeByte(0) })
            #expect(replies == [[UserAuthMessage.failure, 0, 0, 0, 9] + Array("publickey".utf8) + [0]])
        }
    }

    @Test(
        "a query gets PK_OK for an accepted key; the signed request succeeds",
        arguments: ["ed25519", "rsa", "ecdsa"]
    )
    func publicKey(type: String) throws {
        let key = ServerTestKeys.hostKeys[type == "ed25519" ? 0 : type == "rsa" ? 1 : 2]
        let algorithm = type == "rsa" ? "rsa-sha2-256" : key.type.sshName
        let server = try self.server(accepting: key.publicKey)
        let query = try server.receive(try self.publicKeyRequest(key, algorithm: algorithm, sign: false))
        #expect(query.first?.first == UserAuthMessage.methodSpecific60)
        let signed = try server.receive(try self.publicKeyRequest(key, algorithm: algorithm, sign: true))
        #expect(signed == [[UserAuthMessage.success]])
        #expect(server.authenticated?.key == key.publicKey)
        #expect(server.authenticated?.comment == "c")
    }

    @Test("a signature over another session ID, or a refused key, fails")
    func refusals() throws {
        let key = ServerTestKeys.hostKeys[0]
        let server = try self.server(accepting: key.publicKey)
        let forged = try server.receive(
            try self.publicKeyRequest(key, algorithm: "ssh-ed25519", sign: true, sessionID: SecureRandom.bytes(32))
        )
        #expect(forged.first?.first == UserAuthMessage.failure)
        #expect(server.authenticated == nil)
        let other = ServerTestKeys.hostKeys[2]
        let refused = try server.receive(try self.publicKeyRequest(other, algorithm: other.type.sshName, sign: true))
        #expect(refused.first?.first == UserAuthMessage.failure)
        // ssh-rsa (SHA-1) is not accepted, as OpenSSH 9.2's default.
        let sha1 = try server.receive(
            self.request("publickey") { w in
                w.writeByte(0)
                w.writeString("ssh-rsa")
                w.writeString(ServerTestKeys.hostKeys[1].publicKey.wireBlob)
            }
        )
        #expect(sha1.first?.first == UserAuthMessage.failure)
    }

    @Test("the sixth failure ends the connection (MaxAuthTries 6)")
    func maxAuthTries() throws {
        let server = try self.server(accepting: nil)
        _ = try server.receive(self.request("none"))
        for _ in 0..<5 {
            _ = try server.receive(
                self.request("password") {
                    $0.writeByte(0)
                    $0.writeString("pw")
                }
            )
        }
        #expect(throws: SSHProtocolError.self) {
            try server.receive(
                self.request("password") {
                    $0.writeByte(0)
                    $0.writeString("pw")
                }
            )
        }
    }

    @Test("only a none that is the first request is free; every later none counts (MaxAuthTries 6)")
    func noneCounted() throws {
        let server = try self.server(accepting: nil)
        _ = try server.receive(self.request("none"))
        for _ in 0..<5 { _ = try server.receive(self.request("none")) }
        #expect(throws: SSHProtocolError.self) { try server.receive(self.request("none")) }

        // A none after another method is counted too, as auth2.c counts it.
        let other = try self.server(accepting: nil)
        for _ in 0..<5 { _ = try other.receive(self.request("password") { $0.writeByte(0) }) }
        #expect(throws: SSHProtocolError.self) { try other.receive(self.request("none")) }
    }

    @Test("a repeated ssh-userauth SERVICE_REQUEST is answered and the failures still count")
    func repeatedServiceRequest() throws {
        let serviceRequest = [UserAuthMessage.serviceRequest, 0, 0, 0, 12] + Array("ssh-userauth".utf8)
        let accept = [UserAuthMessage.serviceAccept, 0, 0, 0, 12] + Array("ssh-userauth".utf8)
        let server = try self.server(accepting: nil)
        for _ in 0..<5 {
            #expect(try server.receive(serviceRequest) == [accept])
            _ = try server.receive(self.request("password") { $0.writeByte(0) })
        }
        #expect(try server.receive(serviceRequest) == [accept])
        #expect(throws: SSHProtocolError.self) { try server.receive(self.request("password") { $0.writeByte(0) }) }
        // Another service is still refused.
        let other = try self.server(accepting: nil)
        #expect(throws: SSHProtocolError.self) {
            try other.receive([UserAuthMessage.serviceRequest, 0, 0, 0, 14] + Array("ssh-connection".utf8))
        }
        // After authentication, no more: the session layer takes over.
        let key = ServerTestKeys.hostKeys[0]
        let done = try self.server(accepting: key.publicKey)
        _ = try done.receive(try self.publicKeyRequest(key, algorithm: "ssh-ed25519", sign: true))
        #expect(throws: SSHProtocolError.self) { try done.receive(serviceRequest) }
    }

    @Test("changing the user name mid-authentication is refused")
    func userChange() throws {
        let server = try self.server(accepting: nil)
        _ = try server.receive(self.request("none", user: "alice"))
        #expect(throws: SSHProtocolError.self) { try server.receive(self.request("none", user: "bob")) }
        // Names that differ only past what a log shows, or that escape alike, differ too.
        let long = String(repeating: "a", count: 64)
        let first = try self.server(accepting: nil)
        _ = try first.receive(self.request("none", user: long + "x"))
        #expect(throws: SSHProtocolError.self) { try first.receive(self.request("none", user: long + "y")) }
        let escaped = try self.server(accepting: nil)
        _ = try escaped.receive(self.request("none", user: "\u{1}"))
        #expect(throws: SSHProtocolError.self) { try escaped.receive(self.request("none", user: "\\x01")) }
        _ = try escaped.receive(self.request("none", user: "\u{1}"))
    }
}

@Suite("server layers fed random messages")
struct ServerRandomInputTests {
    /// Random payloads with each message number the layers know: each either throws a
    /// protocol error (checked by its code) or answers; none may crash.
    @Test("user authentication and the session layer never crash on random messages")
    func randomMessages() throws {
        var generator = SystemRandomNumberGenerator()
        let types: [UInt8] = [5, 50, 60, 61, 80, 90, 93, 94, 95, 96, 97, 98, 200]
        for round in 0..<2000 {
            let auth = SSHUserAuthServer(sessionID: [1, 2, 3]) { _, _ in .accept(comment: nil) }
            let session = SSHSessionServer(text: "x\n")
            if round % 2 == 0 {
                _ = try? auth.receive([UserAuthMessage.serviceRequest, 0, 0, 0, 12] + Array("ssh-userauth".utf8))
                var open = SSHWireWriter()
                open.writeByte(ConnectionMessage.channelOpen)
                open.writeString("session")
                open.writeUInt32(7)
                open.writeUInt32(UInt32.random(in: 0...100, using: &generator))
                open.writeUInt32(UInt32.random(in: 0...100, using: &generator))
                _ = try? session.receive(open.bytes)
            }
            for _ in 0..<4 {
                let type = types.randomElement(using: &generator)!
                var payload = [type]
                // Plausible prefixes (channel 0, short strings) mixed with random bytes.
                for _ in 0..<Int.random(in: 0...6, using: &generator) {
                    switch Int.random(in: 0...2, using: &generator) {
                    case 0: payload += [0, 0, 0, 0]
                    case 1:
                        let name = ["exec", "shell", "pty-req", "env", "publickey", "password", "session", "none"]
                            .randomElement(using: &generator)!
                        payload += [0, 0, 0, UInt8(name.utf8.count)] + Array(name.utf8)
                    default:
                        payload += (0..<Int.random(in: 0...9, using: &generator)).map { _ in UInt8.random(in: 0...255) }
                    }
                }
                // Random input is the client's fault: a protocol violation, or for user
                // authentication the limit on failed attempts; never another kind of error.
                do {
                    _ = try auth.receive(payload)
                } catch {
                    #expect(
                        error.code == .protocolViolation || error.code == .authenticationFailed,
                        "user auth on \(payload): \(error)"
                    )
                }
                do {
                    _ = try session.receive(payload)
                } catch {
                    #expect(error.code == .protocolViolation, "session on \(payload): \(error)")
                }
            }
        }
    }
}

/// An in-process ``SSHServer`` on a loopback port, run on its own thread.
final class InProcessServer: @unchecked Sendable {
    // @unchecked: `server` is immutable; run() is on the thread started in init.
    let server: SSHServer
    let port: Int
    private let done = DispatchSemaphore(value: 0)

    init(
        accepted: Set<SSHPublicKey>,
        limits: SSHServerLimits = SSHServerLimits(),
        addresses: [String] = ["127.0.0.1"],
        endsConnectionAfterSession: Bool = true
    ) throws {
        var logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        self.server = try SSHServer(
            addresses: addresses,
            port: 0,
            hostKeys: ServerTestKeys.hostKeys,
            limits: limits,
            logger: logger,
            decide: { _, _, key in accepted.contains(key) ? .accept(comment: "comment here") : .refuse(reason: "no") },
            answer: { user, key, comment in "authenticated \(key.fingerprint()) \(comment ?? "") as \(user)\n" }
        )
        self.port = self.server.endpoints[0].port
        self.server.endsConnectionAfterSession = endsConnectionAfterSession
        let server = self.server
        let done = self.done
        Thread.detachNewThread {
            server.run()
            done.signal()
        }
    }

    deinit {
        self.server.stop()
        self.done.wait()
    }

    func options(keys: [SSHPrivateKey], password: Bool = false, host: String = "127.0.0.1") -> SSHClientOptions {
        let labelled: [(label: String, key: SSHPrivateKey)] = keys.map { (label: "key", key: $0) }
        var credentials = SSHCredentials(keys: labelled)
        if password {
            credentials.password = { @Sendable (_: String) -> SecureBytes? in SecureBytes(Array("pw".utf8)) }
        }
        let trustAll: @Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void = { _ in }
        return SSHClientOptions(
            host: host,
            port: self.port,
            user: "alice",
            credentials: credentials,
            connectTimeout: 10,
            overallTimeout: 60,
            idleTimeout: 30,
            hostKeyVerifier: trustAll
        )
    }
}

@Suite("SSHClient against SSHServer on loopback")
struct ClientServerTests {
    @Test("publickey login, then exec prints the answer with exit status 0", arguments: [0, 1, 2, 3, 4])
    func exec(index: Int) throws {
        let key = ServerTestKeys.hostKeys[index]
        let server = try InProcessServer(accepted: [key.publicKey])
        let client = try SSHClient.connect(server.options(keys: [key]))
        let result = try client.exec("anything at all")
        #expect(result.exitStatus == 0)
        #expect(
            String(decoding: result.stdout, as: UTF8.self)
                == "authenticated \(key.publicKey.fingerprint()) comment here as alice\n"
        )
        #expect(result.stderr.isEmpty)
    }

    @Test(
        "one session per connection: each exec after the first runs on a fresh connection, logged in with the key that worked and nothing asked",
        arguments: [true, false]
    )
    func oneSessionPerConnection(serverCloses: Bool) throws {
        let refused = ServerTestKeys.hostKeys[2]
        let key = ServerTestKeys.hostKeys[0]
        // The server refuses a second session channel (false) or closes the connection once
        // the first one closed (true, as keysmith serve).
        let server = try InProcessServer(accepted: [key.publicKey], endsConnectionAfterSession: serverCloses)
        var options = server.options(keys: [refused, key])
        let asked = Mutex(0)
        options.credentials.password = { @Sendable (_: String) -> SecureBytes? in
            asked.withLock { $0 += 1 }
            return nil
        }
        let client = try SSHClient.connect(options)
        defer { client.close() }
        for _ in 0..<3 {
            let result = try client.exec("x")
            #expect(result.exitStatus == 0)
            #expect(
                String(decoding: result.stdout, as: UTF8.self)
                    == "authenticated \(key.publicKey.fingerprint()) comment here as alice\n"
            )
        }
        #expect(client.connections == 3)
        #expect(asked.withLock { $0 } == 0)
    }

    @Test("a refused first session channel is the server's answer: no new connection is tried")
    func firstChannelRefused() throws {
        let key = ServerTestKeys.hostKeys[0]
        let server = try InProcessServer(accepted: [key.publicKey], endsConnectionAfterSession: false)
        let client = try SSHClient.connect(server.options(keys: [key]))
        defer { client.close() }
        _ = try client.exec("x")
        // The server refuses the subsystem request on a channel opened on a fresh connection.
        let error = #expect(throws: SSHProtocolError.self) { try client.openSubsystem("sftp") }
        #expect(error?.code == .channelFailure)
        #expect(client.connections == 2)
    }

    @Test("IPv6: an address that cannot be bound is skipped, as sshd skips it; ::1 serves")
    func ipv6() throws {
        let key = ServerTestKeys.hostKeys[0]
        let server = try InProcessServer(accepted: [key.publicKey], addresses: ["192.0.2.1", "::1"])
        #expect(server.server.endpoints.map(\.address) == ["::1"])
        let result = try SSHClient.connect(server.options(keys: [key], host: "::1")).exec("x")
        #expect(result.exitStatus == 0)
        #expect(String(decoding: result.stdout, as: UTF8.self).hasPrefix("authenticated SHA256:"))
    }

    @Test("a link-local address keeps its zone: fe80::1%lo resolves to the scope of lo, as ssh resolves it")
    func zone() throws {
        let list = try resolveTCP("fe80::1%lo", port: 22, passive: false)
        defer { freeaddrinfo(list) }
        #expect(list.pointee.ai_family == AF_INET6)
        let scope = list.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
            $0.pointee.sin6_scope_id
        }
        #expect(scope == if_nametoindex("lo") && scope != 0)
        let bracketed = try resolveTCP("[fe80::1%lo]", port: 22, passive: false)
        freeaddrinfo(bracketed)
    }

    @Test(
        "a name with several addresses: each is tried in order, each for ConnectTimeout, until one answers",
        arguments: [false, true]
    )
    func severalAddresses(silentFirst: Bool) throws {
        let key = ServerTestKeys.hostKeys[0]
        let server = try InProcessServer(accepted: [key.publicKey])
        // The first address refuses at once (::1 on a port nothing listens on) or never
        // answers (a listener whose backlog of 0 one connection fills: its SYNs are dropped);
        // the second is the server's.
        let silent = silentFirst ? try FullListener() : nil
        let first = try resolveTCP(
            silentFirst ? "127.0.0.1" : "::1",
            port: silent?.port ?? (try SSHDFixture.freePort()),
            passive: false
        )
        let second = try resolveTCP("127.0.0.1", port: server.port, passive: false)
        first.pointee.ai_next = second
        defer {
            first.pointee.ai_next = nil
            freeaddrinfo(first)
            freeaddrinfo(second)
        }
        let start = ContinuousClock.now
        let connection = try TCPConnection(
            addresses: first,
            peer: "several",
            connectTimeout: 1,
            deadline: start + .seconds(30)
        )
        let took = ContinuousClock.now - start
        #expect(took < .seconds(5), "each address had its own 1-second limit: \(took)")
        if silentFirst { #expect(took >= .milliseconds(900), "the silent address was waited for: \(took)") }
        #expect(readFrom(connection).starts(with: Array("SSH-2.0-".utf8)))
        connection.close()
    }

    @Test("an unknown key and a password are refused")
    func refused() throws {
        let server = try InProcessServer(accepted: [ServerTestKeys.hostKeys[0].publicKey])
        #expect(throws: SSHProtocolError.self) {
            try SSHClient.connect(server.options(keys: [ServerTestKeys.hostKeys[2]], password: true))
        }
    }

    @Test("connections past the cap of unauthenticated ones are closed at once; a login works once they go")
    func maxStartups() throws {
        let key = ServerTestKeys.hostKeys[0]
        let server = try InProcessServer(
            accepted: [key.publicKey],
            limits: SSHServerLimits(loginGraceTime: 60, maxStartups: 2)
        )
        let idle = (0..<2).map { _ in connectLoopback(port: server.port) }
        defer { for fd in idle where fd >= 0 { close(fd) } }
        // Each idle connection got the version line: it was admitted.
        for fd in idle { #expect(readSome(fd).starts(with: Array("SSH-2.0-".utf8))) }
        let extra = connectLoopback(port: server.port)
        #expect(extra >= 0)
        #expect(readEOF(extra), "the connection past the cap is closed without a version line")
        close(extra)
        for fd in idle { close(fd) }
        var result: SSHExecResult? = nil
        // The server notices the closed sockets as they arrive; retry until it has.
        for _ in 0..<50 where result == nil {
            result = try? SSHClient.connect(server.options(keys: [key])).exec("x")
            if result == nil { usleep(100_000) }
        }
        #expect(result?.exitStatus == 0)
    }

    @Test("the login grace time closes a connection that does not authenticate")
    func loginGraceTime() throws {
        let server = try InProcessServer(accepted: [], limits: SSHServerLimits(loginGraceTime: 1, maxStartups: 4))
        let fd = connectLoopback(port: server.port)
        defer { close(fd) }
        #expect(readSome(fd).starts(with: Array("SSH-2.0-".utf8)))
        // Read what the server sends until it closes; each wait is bounded, so a server
        // that never closes fails the test instead of hanging it.
        var closed = false
        for _ in 0..<10 where !closed {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 4096)
            closed = read(fd, &buffer, buffer.count) <= 0
        }
        #expect(closed)
    }
}

/// True when the peer closed `fd` with nothing sent first: within 10 s it is readable and
/// read() returns 0 (end of file). A stalled connection, or one that sent bytes, gives false.
func readEOF(_ fd: Int32) -> Bool {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 10_000) > 0 else { return false }
    var buffer = [UInt8](repeating: 0, count: 4096)
    return read(fd, &buffer, buffer.count) == 0
}

/// A loopback listener that never accepts, its backlog of 0 filled by one connection, so
/// that a further connect gets no answer (its SYNs are dropped) until it times out.
final class FullListener {
    let port: Int
    private let listener: Int32
    private let filler: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 0) == 0
                    && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw FixtureError("cannot make a listener: \(String(cString: strerror(errno)))")
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.filler = connectLoopback(port: self.port)
    }

    deinit {
        close(self.filler)
        close(self.listener)
    }
}

/// The first bytes the server sends on `connection`, waiting up to 10 s.
func readFrom(_ connection: TCPConnection) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: 256)
    guard let events = try? connection.wait(readable: true, writable: false, until: .now + .seconds(10)),
        events.readable, case .success(let n) = connection.read(into: &buffer)
    else { return [] }
    return Array(buffer[0..<n])
}

/// One read with a 10 s limit; empty at EOF or when nothing came.
func readSome(_ fd: Int32) -> [UInt8] {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 10_000) > 0 else { return [] }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = read(fd, &buffer, buffer.count)
    return n > 0 ? Array(buffer[0..<n]) : []
}
