import SSHCrypto
import SSHKeys

/// Entry points for keysmith's fuzz targets (`Fuzz/`, docs/fuzzing.md): each hands untrusted
/// bytes to the protocol parsers the way a peer's bytes would reach them, in either role. None of them
/// may crash, hang or hold memory without bound, whatever the bytes; errors are expected.
///
/// Multi-message inputs are split into messages by a two-byte big-endian length before each.
package enum ProtocolFuzzing {
    /// The client transport from the first byte the server sends: version exchange,
    /// pre-banner lines, packet framing, KEXINIT negotiation, kex replies, NEWKEYS.
    /// The bytes arrive in two pieces, so reassembly is exercised too.
    package static func clientTransport(_ data: [UInt8]) {
        let transport = SSHTransport(
            algorithms: .clientDefaults,
            hostKeyVerifier: { (_: SSHPublicKey) throws(SSHProtocolError) in }
        )
        _ = transport.takeOutbound()
        let half = data.count / 2
        for piece in [data[..<half], data[half...]] {
            guard (try? transport.receive(piece)) != nil else { return }
            _ = transport.takeOutbound()
        }
    }

    /// The binary packet decoder: the first byte picks the protection (none, or a cipher
    /// and MAC under fixed all-zero keys); the rest is the stream.
    package static func packetDecoder(_ data: [UInt8]) {
        guard let selector = data.first else { return }
        var decoder = PacketDecoder()
        if selector != 0 {
            let ciphers = CipherAlgorithm.allCases
            let macs = MACAlgorithm.allCases
            let cipher = ciphers[Int(selector) % ciphers.count]
            let mac = macs[Int(selector / 16) % macs.count]
            guard
                let context = try? CipherContext(
                    cipher,
                    key: SecureBytes(count: cipher.keySize),
                    iv: SecureBytes(count: cipher.ivSize),
                    encrypting: false
                )
            else { return }
            let macContext = cipher.isAEAD ? nil : try? MACContext(mac, key: SecureBytes(count: mac.keySize))
            decoder.setKeys(PacketKeys(cipher: context, mac: macContext), resetSequenceNumber: true)
        }
        var buffer = data.dropFirst()
        while let packet = try? decoder.decode(buffer) {
            buffer = buffer.dropFirst(packet.consumed)
        }
    }

    /// KEXINIT parsing and negotiation against our defaults.
    package static func kexInit(_ data: [UInt8]) {
        guard let theirs = try? KexInitMessage(payload: [SSHMessageNumber.kexInit] + data) else { return }
        let defaults = SSHAlgorithms.clientDefaults
        let ours = KexInitMessage(
            cookie: [UInt8](repeating: 0, count: 16),
            keyExchange: defaults.keyExchange,
            hostKey: defaults.hostKey,
            ciphers: defaults.ciphers,
            macs: defaults.macs
        )
        _ = try? KexNegotiation.negotiate(client: ours, server: theirs)
    }

    /// User authentication as the server's messages drive it: every method offered, with a
    /// key, a password and keyboard-interactive answers at hand.
    package static func userAuth(_ data: [UInt8]) {
        let client = SSHUserAuthClient(
            user: "fuzz",
            host: "fuzz.example",
            peer: "fuzz.example:22",
            order: [.publicKey, .keyboardInteractive, .password],
            identities: [SSHAuthIdentity(label: "fuzz", privateKey: Self.key)],
            password: { _ in SecureBytes(utf8: "password") },
            keyboardInteractive: { _, _, prompts in prompts.map { _ in SecureBytes(utf8: "answer") } },
            sessionID: [UInt8](repeating: 7, count: 32)
        )
        client.serverSignatureAlgorithms = ["ssh-ed25519"]
        _ = client.start()
        for message in Self.messages(data) {
            guard (try? client.receive(message)) != nil else { return }
        }
    }

    /// The connection layer with an exec channel and an sftp subsystem channel open.
    package static func connection(_ data: [UInt8]) {
        let connection = SSHConnectionClient(peer: "fuzz.example:22")
        let exec = connection.openExec(command: "true", stdin: [1, 2, 3])
        let sftp = connection.openSubsystem("sftp")
        _ = connection.takeOutbound()
        for message in Self.messages(data) {
            guard (try? connection.receive(message)) != nil else { return }
            _ = connection.takeOutbound()
            for id in [exec, sftp] {
                _ = connection.takeOutput(id)
                if connection.isFinished(id) { _ = try? connection.takeResult(id) }
            }
        }
    }

    /// SFTP replies: packet framing, then each packet read as the client reads VERSION,
    /// STATUS, HANDLE, DATA, NAME and ATTRS.
    package static func sftpReplies(_ data: [UInt8]) {
        var reader = SFTPPacketReader()
        reader.append(data)
        while let packet = try? reader.next() {
            guard let type = packet.first else { continue }
            var r = SSHWireReader(packet.dropFirst())
            do {
                switch type {
                case SFTPMessage.version:
                    _ = try r.readUInt32()
                    while !r.isAtEnd {
                        _ = String(decoding: try r.readString(), as: UTF8.self)
                        _ = String(decoding: try r.readString(), as: UTF8.self)
                    }
                case SFTPMessage.status:
                    _ = try r.readUInt32()
                    _ = SFTPStatus.describe(try r.readUInt32())
                    _ = String(decoding: try r.readString(), as: UTF8.self)
                case SFTPMessage.handle, SFTPMessage.data:
                    _ = try r.readUInt32()
                    _ = try r.readString()
                case SFTPMessage.name:
                    _ = try r.readUInt32()
                    let count = try r.readUInt32()
                    for _ in 0..<min(count, 1024) {
                        _ = try r.readString()
                        _ = try r.readString()
                        _ = try SFTPAttributes.read(from: &r)
                    }
                case SFTPMessage.attrs:
                    _ = try r.readUInt32()
                    _ = try SFTPAttributes.read(from: &r)
                default:
                    break
                }
            } catch {
                continue
            }
        }
    }

    /// The server transport from the client's first byte: version exchange, packets, the
    /// client's KEXINIT and kex init messages, NEWKEYS. Two pieces, as for the client.
    package static func serverTransport(_ data: [UInt8]) {
        let transport = SSHTransport(hostKeys: [Self.key])
        _ = transport.takeOutbound()
        let half = data.count / 2
        for piece in [data[..<half], data[half...]] {
            guard (try? transport.receive(piece)) != nil else { return }
            _ = transport.takeOutbound()
        }
    }

    /// Server-side user authentication as a client's messages drive it; one key (ours) is
    /// accepted, every other refused.
    package static func serverUserAuth(_ data: [UInt8]) {
        let accepted = Self.key.publicKey
        let server = SSHUserAuthServer(sessionID: [UInt8](repeating: 7, count: 32)) { _, key in
            key == accepted ? .accept(comment: "fuzz") : .refuse(reason: "not listed")
        }
        for message in Self.messages(data) {
            guard (try? server.receive(message)) != nil else { return }
        }
    }

    /// The server's session channel as a client's connection messages drive it.
    package static func serverSession(_ data: [UInt8]) {
        let session = SSHSessionServer(text: "fuzz\n")
        for message in Self.messages(data) {
            guard (try? session.receive(message)) != nil else { return }
            if session.isFinished { return }
        }
    }

    /// Messages from a fuzz input: a two-byte big-endian length, then that many bytes.
    package static func messages(_ data: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var rest = data[...]
        while rest.count >= 2 {
            let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
            rest = rest.dropFirst(2)
            out.append(Array(rest.prefix(length)))
            rest = rest.dropFirst(length)
        }
        return out
    }

    /// One Ed25519 key (our identity, or the server's host key) for the whole run;
    /// generating per input would dominate the time.
    private static let key = try! SSHPrivateKey(generating: .ed25519)
}
