import SSHCrypto
import SSHKeys

/// Message numbers of the transport layer (RFC 4250 §4.1.2, RFC 8308, RFC 4419, RFC 5656).
enum SSHMessageNumber {
    static let disconnect: UInt8 = 1
    static let ignore: UInt8 = 2
    static let unimplemented: UInt8 = 3
    static let debug: UInt8 = 4
    static let serviceRequest: UInt8 = 5
    static let serviceAccept: UInt8 = 6
    static let extInfo: UInt8 = 7
    static let kexInit: UInt8 = 20
    static let newKeys: UInt8 = 21
    // 30...49 belong to the key exchange method.
    static let kexDHInit: UInt8 = 30
    static let kexDHReply: UInt8 = 31
    static let kexDHGexGroup: UInt8 = 31
    static let kexDHGexInit: UInt8 = 32
    static let kexDHGexReply: UInt8 = 33
    static let kexDHGexRequest: UInt8 = 34
}

/// RFC 4253 §11.1's reason codes, for messages.
enum SSHDisconnectReason {
    static func name(_ code: UInt32) -> String {
        switch code {
        case 1: "host not allowed to connect"
        case 2: "protocol error"
        case 3: "key exchange failed"
        case 4: "reserved"
        case 5: "MAC error"
        case 6: "compression error"
        case 7: "service not available"
        case 8: "protocol version not supported"
        case 9: "host key not verifiable"
        case 10: "connection lost"
        case 11: "by application"
        case 12: "too many connections"
        case 13: "auth cancelled by user"
        case 14: "no more auth methods available"
        case 15: "illegal user name"
        default: "reason \(code)"
        }
    }
}

/// The pseudo-algorithms signalled in kex_algorithms.
enum SSHKexExtension {
    /// RFC 8308 §2.1.
    static let extInfoClient = "ext-info-c"
    static let extInfoServer = "ext-info-s"
    /// PROTOCOL §1.9 (strict key exchange).
    static let strictClient = "kex-strict-c-v00@openssh.com"
    static let strictServer = "kex-strict-s-v00@openssh.com"
}

/// RFC 4253 §7.1:
/// ```
/// byte         SSH_MSG_KEXINIT
/// byte[16]     cookie (random bytes)
/// name-list    kex_algorithms
/// name-list    server_host_key_algorithms
/// name-list    encryption_algorithms_client_to_server
/// name-list    encryption_algorithms_server_to_client
/// name-list    mac_algorithms_client_to_server
/// name-list    mac_algorithms_server_to_client
/// name-list    compression_algorithms_client_to_server
/// name-list    compression_algorithms_server_to_client
/// name-list    languages_client_to_server
/// name-list    languages_server_to_client
/// boolean      first_kex_packet_follows
/// uint32       0 (reserved for future extension)
/// ```
struct KexInitMessage: Equatable {
    var cookie: [UInt8]
    var keyExchange: [String]
    var hostKey: [String]
    var ciphersClientToServer: [String]
    var ciphersServerToClient: [String]
    var macsClientToServer: [String]
    var macsServerToClient: [String]
    var compressionClientToServer: [String] = ["none"]
    var compressionServerToClient: [String] = ["none"]
    var languagesClientToServer: [String] = []
    var languagesServerToClient: [String] = []
    var firstKexPacketFollows = false

    var payload: [UInt8] {
        var w = SSHWireWriter(capacity: 1024)
        w.writeByte(SSHMessageNumber.kexInit)
        w.writeBytes(self.cookie)
        for list in [
            self.keyExchange, self.hostKey, self.ciphersClientToServer, self.ciphersServerToClient,
            self.macsClientToServer, self.macsServerToClient, self.compressionClientToServer,
            self.compressionServerToClient, self.languagesClientToServer, self.languagesServerToClient,
        ] {
            w.writeString(list.joined(separator: ","))
        }
        w.writeByte(self.firstKexPacketFollows ? 1 : 0)
        w.writeUInt32(0)
        return w.bytes
    }

    init(
        cookie: [UInt8],
        keyExchange: [String],
        hostKey: [String],
        ciphers: [String],
        macs: [String]
    ) {
        self.cookie = cookie
        self.keyExchange = keyExchange
        self.hostKey = hostKey
        self.ciphersClientToServer = ciphers
        self.ciphersServerToClient = ciphers
        self.macsClientToServer = macs
        self.macsServerToClient = macs
    }

    init(payload: [UInt8]) throws(SSHProtocolError) {
        do {
            var r = SSHWireReader(payload)
            guard try r.readByte() == SSHMessageNumber.kexInit else {
                throw SSHProtocolError(.protocolViolation, "expected SSH_MSG_KEXINIT")
            }
            self.cookie = Array(try r.readBytes(16))
            var lists: [[String]] = []
            for _ in 0..<10 { lists.append(try Self.readNameList(&r)) }
            self.keyExchange = lists[0]
            self.hostKey = lists[1]
            self.ciphersClientToServer = lists[2]
            self.ciphersServerToClient = lists[3]
            self.macsClientToServer = lists[4]
            self.macsServerToClient = lists[5]
            self.compressionClientToServer = lists[6]
            self.compressionServerToClient = lists[7]
            self.languagesClientToServer = lists[8]
            self.languagesServerToClient = lists[9]
            self.firstKexPacketFollows = try r.readByte() != 0
            _ = try r.readUInt32()
            // RFC 4253 §7.1 leaves room for extensions after the reserved field; OpenSSH
            // ignores trailing bytes here too.
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw SSHProtocolError(.protocolViolation, "malformed SSH_MSG_KEXINIT: \(error)")
        }
    }

    /// RFC 4251 §5 name-list: comma-separated US-ASCII names, none empty.
    static func readNameList(_ r: inout SSHWireReader) throws(SSHProtocolError) -> [String] {
        let raw: ArraySlice<UInt8>
        do { raw = try r.readString() } catch {
            throw SSHProtocolError(.protocolViolation, "a name-list is truncated")
        }
        guard raw.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw SSHProtocolError(.protocolViolation, "a name-list holds bytes that are not printable ASCII")
        }
        if raw.isEmpty { return [] }
        let names = raw.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard names.allSatisfy({ !$0.isEmpty }) else {
            throw SSHProtocolError(.protocolViolation, "a name-list has an empty name")
        }
        return names.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// RFC 4253 §7.1: for each slot, the first of the client's algorithms that the server
/// also supports.
enum KexNegotiation {
    static func negotiate(
        client: KexInitMessage,
        server: KexInitMessage
    ) throws(SSHProtocolError) -> SSHNegotiatedAlgorithms {
        func pick(_ what: String, _ ours: [String], _ theirs: [String]) throws(SSHProtocolError) -> String {
            guard let found = ours.first(where: { theirs.contains($0) }) else {
                throw SSHProtocolError(
                    .noCommonAlgorithm,
                    "no matching \(what) found: client \(ours.joined(separator: ",")) server \(theirs.joined(separator: ","))"
                )
            }
            return found
        }
        let pseudo: Set<String> = [SSHKexExtension.extInfoClient, SSHKexExtension.strictClient]
        let kex = try pick(
            "key exchange method",
            client.keyExchange.filter { !pseudo.contains($0) },
            server.keyExchange
        )
        let hostKey = try pick("host key type", client.hostKey, server.hostKey)
        let cipherCS = try pick("cipher", client.ciphersClientToServer, server.ciphersClientToServer)
        let cipherSC = try pick("cipher", client.ciphersServerToClient, server.ciphersServerToClient)
        func mac(for cipher: String, _ ours: [String], _ theirs: [String]) throws(SSHProtocolError) -> String? {
            // AEAD ciphers authenticate themselves; the MAC slot is ignored (RFC 5647 §5.1,
            // PROTOCOL.chacha20poly1305).
            if CipherAlgorithm(sshName: cipher)?.isAEAD == true { return nil }
            return try pick("MAC", ours, theirs)
        }
        let macCS = try mac(for: cipherCS, client.macsClientToServer, server.macsClientToServer)
        let macSC = try mac(for: cipherSC, client.macsServerToClient, server.macsServerToClient)
        _ = try pick("compression method", client.compressionClientToServer, server.compressionClientToServer)
        _ = try pick("compression method", client.compressionServerToClient, server.compressionServerToClient)
        return SSHNegotiatedAlgorithms(
            keyExchange: kex,
            hostKey: hostKey,
            cipherClientToServer: cipherCS,
            cipherServerToClient: cipherSC,
            macClientToServer: macCS,
            macServerToClient: macSC
        )
    }
}
