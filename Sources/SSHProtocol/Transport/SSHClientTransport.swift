package import SSHKeys

/// Algorithm preferences for one connection, each list in order of preference.
public struct SSHAlgorithms: Sendable, Hashable {
    public var keyExchange: [String]
    public var hostKey: [String]
    public var ciphers: [String]
    public var macs: [String]

    public init(keyExchange: [String], hostKey: [String], ciphers: [String], macs: [String]) {
        self.keyExchange = keyExchange
        self.hostKey = hostKey
        self.ciphers = ciphers
        self.macs = macs
    }

    /// Everything keysmith implements, in OpenSSH's default client order.
    public static var clientDefaults: SSHAlgorithms { fatalError("unimplemented") }

    /// Applies an ssh_config algorithm list (`KexAlgorithms=…`): a plain list replaces,
    /// `+list` appends, `-list` removes, `^list` puts first; patterns with `*`/`?` allowed.
    /// - Throws: `.invalidConfiguration` when the result is empty or names nothing we support.
    public static func applying(
        _ spec: String,
        to current: [String],
        supported: [String]
    ) throws(SSHProtocolError) -> [String] {
        fatalError("unimplemented")
    }
}

/// The algorithms both sides settled on.
public struct SSHNegotiatedAlgorithms: Sendable, Hashable {
    public var keyExchange: String
    public var hostKey: String
    public var cipherClientToServer: String
    public var cipherServerToClient: String
    public var macClientToServer: String?
    public var macServerToClient: String?
}

/// What the transport hands to the layer above.
public enum SSHTransportEvent: Sendable {
    /// The first key exchange finished; `sessionID` is the exchange hash H of it.
    case ready(sessionID: [UInt8])
    /// A message for the layer above (userauth, connection), decrypted and verified.
    case payload([UInt8])
}

/// The client side of the SSH transport layer (RFC 4253), sans I/O: feed it the bytes
/// that arrive and send what ``takeOutbound()`` returns.
///
/// It exchanges versions, negotiates algorithms, runs the key exchange (curve25519-sha256,
/// ecdh-sha2-nistp256/384/521, diffie-hellman-group14-sha256/16-sha512/18-sha512,
/// diffie-hellman-group-exchange-sha256), verifies the host key's signature over the
/// exchange hash, derives keys, and frames, encrypts and authenticates packets. It speaks
/// strict key exchange (kex-strict-c-v00@openssh.com), sends ext-info-c and records
/// server-sig-algs, answers a re-key started by the server, and handles IGNORE, DEBUG,
/// UNIMPLEMENTED and DISCONNECT itself.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHClientTransport {
    /// - Parameters:
    ///   - algorithms: preferences.
    ///   - hostKeyVerifier: called once the server's host key has signed the exchange
    ///     hash, before NEWKEYS; throwing refuses the key and ends the connection.
    ///   - versionString: our identification, without CR LF.
    package init(
        algorithms: SSHAlgorithms,
        hostKeyVerifier: @escaping (SSHPublicKey) throws(SSHProtocolError) -> Void,
        versionString: String = "SSH-2.0-keysmith_0.1"
    ) { fatalError("unimplemented") }

    /// Feeds bytes from the network.
    /// - Throws: `SSHProtocolError` for any violation; the connection must then be closed.
    package func receive(_ bytes: some Collection<UInt8>) throws(SSHProtocolError) -> [SSHTransportEvent] {
        fatalError("unimplemented")
    }

    /// Queues a message (payload) for the server. Before the first key exchange finishes
    /// or while a re-key runs, it is held and sent afterwards.
    package func send(_ payload: [UInt8]) throws(SSHProtocolError) { fatalError("unimplemented") }

    /// The bytes to write to the network now (version line, packets); empties the queue.
    package func takeOutbound() -> [UInt8] { fatalError("unimplemented") }

    /// Queues SSH_MSG_DISCONNECT (RFC 4253 §11.1).
    package func disconnect(reason: UInt32, description: String) { fatalError("unimplemented") }

    /// The server's identification line, once received.
    package var serverVersion: String? { fatalError("unimplemented") }
    /// The exchange hash of the first key exchange.
    package var sessionID: [UInt8]? { fatalError("unimplemented") }
    /// The negotiated algorithms of the current keys.
    package var negotiated: SSHNegotiatedAlgorithms? { fatalError("unimplemented") }
    /// The server's host key, once verified.
    package var hostKey: SSHPublicKey? { fatalError("unimplemented") }
    /// server-sig-algs from the server's SSH_MSG_EXT_INFO (RFC 8308), if it sent one.
    package var serverSignatureAlgorithms: [String]? { fatalError("unimplemented") }
}
