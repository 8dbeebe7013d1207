package import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client of ssh-agent (draft-miller-ssh-agent, OpenSSH's PROTOCOL.agent) over its
/// UNIX socket: lists the agent's keys and asks it to sign.
///
/// Each message is uint32 length, byte type, contents. The socket is blocking with a
/// receive and send timeout, so an agent that never answers (or waits forever for a
/// confirmation) cannot hang the client.
///
/// Not `Sendable`: one socket, used from one thread.
package final class SSHAgentClient {
    /// draft-miller-ssh-agent §6.1 and PROTOCOL.agent: the message numbers.
    enum Message {
        static let failure: UInt8 = 5
        static let success: UInt8 = 6
        static let removeAllV1: UInt8 = 9
        static let requestIdentities: UInt8 = 11
        static let identitiesAnswer: UInt8 = 12
        static let signRequest: UInt8 = 13
        static let signResponse: UInt8 = 14
        static let addIdentity: UInt8 = 17
        static let removeIdentity: UInt8 = 18
        static let removeAllIdentities: UInt8 = 19
        static let lock: UInt8 = 22
        static let unlock: UInt8 = 23
        static let addIdentityConstrained: UInt8 = 25
    }

    /// draft-miller-ssh-agent §5.3: sign request flags for RSA keys.
    private enum SignFlags {
        static let rsaSHA2_256: UInt32 = 0x02
        static let rsaSHA2_512: UInt32 = 0x04
    }

    /// OpenSSH's AGENT_MAX_LEN: longer replies are refused.
    package static let maximumMessage = 256 * 1024

    private let fd: Int32
    let path: String

    /// Connects to the agent's socket.
    /// - Parameters:
    ///   - path: the socket, usually `SSH_AUTH_SOCK`.
    ///   - timeout: seconds one request may take.
    /// - Throws: `.connectionFailed` naming the path.
    package convenience init(socketPath path: String, timeout: Double = 30) throws(SSHProtocolError) {
        do {
            try self.init(connectingTo: path, timeout: timeout)
        } catch {
            throw SSHProtocolError(.connectionFailed, "cannot connect to ssh-agent at \(path): \(error.reason)")
        }
    }

    /// Connects to the agent's socket, failing with the system's reason alone (what ssh-add
    /// prints after "Error connecting to agent: ").
    package init(connectingTo path: String, timeout: Double = 30) throws(SSHAgentConnectError) {
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else {
            throw SSHAgentConnectError(reason: "the ssh-agent socket path \(path) is empty or too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SSHAgentConnectError(reason: errnoText()) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int(timeout.truncatingRemainder(dividingBy: 1) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = errnoText()
            close(fd)
            throw SSHAgentConnectError(reason: reason)
        }
        self.fd = fd
    }

    deinit { close(self.fd) }

    /// The agent's keys with their comments (SSH_AGENTC_REQUEST_IDENTITIES). Keys of types
    /// keysmith does not know (certificates, security keys) are skipped.
    package func identities() throws(SSHProtocolError) -> [(publicKey: SSHPublicKey, comment: String)] {
        let reply = try self.request([Message.requestIdentities])
        var r = SSHWireReader(reply.dropFirst())
        guard reply.first == Message.identitiesAnswer else {
            throw SSHProtocolError(.connectionFailed, "ssh-agent at \(self.path) refused to list its keys")
        }
        // uint32 nkeys, then nkeys × (string key blob, string comment).
        var keys: [(publicKey: SSHPublicKey, comment: String)] = []
        do {
            let count = try r.readUInt32()
            for _ in 0..<count {
                let blob = try r.readString()
                let comment = String(decoding: try r.readString(), as: UTF8.self)
                if let key = try? SSHPublicKey(wireBlob: blob) { keys.append((key, comment)) }
            }
        } catch {
            throw SSHProtocolError(.protocolViolation, "ssh-agent at \(self.path) sent a malformed key list")
        }
        return keys
    }

    /// Asks the agent to sign `data` with `key` (SSH_AGENTC_SIGN_REQUEST); for RSA keys the
    /// flags select rsa-sha2-256 or rsa-sha2-512 from `algorithm`.
    /// - Throws: `.cryptoFailure` when the agent refuses (key removed, confirmation denied).
    package func sign(
        _ data: [UInt8],
        with key: SSHPublicKey,
        algorithm: String
    ) throws(SSHProtocolError) -> SSHSignature {
        var w = SSHWireWriter()
        w.writeByte(Message.signRequest)
        w.writeString(key.wireBlob)
        w.writeString(data)
        switch algorithm {
        case "rsa-sha2-256": w.writeUInt32(SignFlags.rsaSHA2_256)
        case "rsa-sha2-512": w.writeUInt32(SignFlags.rsaSHA2_512)
        default: w.writeUInt32(0)
        }
        let reply = try self.request(w.bytes)
        guard reply.first == Message.signResponse else {
            throw SSHProtocolError(.cryptoFailure, "ssh-agent at \(self.path) refused to sign with \(key.type.sshName)")
        }
        var r = SSHWireReader(reply.dropFirst())
        guard let blob = try? r.readString(), r.isAtEnd, let signature = try? SSHSignature(wireEncoding: blob) else {
            throw SSHProtocolError(.protocolViolation, "ssh-agent at \(self.path) sent a malformed signature")
        }
        return signature
    }

    /// Sends one message and reads the reply (type byte and contents).
    func request(_ message: [UInt8]) throws(SSHProtocolError) -> [UInt8] {
        try message.withUnsafeBytes { body in
            Result { () throws(SSHProtocolError) in try self.request(body) }
        }.get()
    }

    /// Sends one message from `body`, which the caller keeps (and wipes, when it holds a
    /// private key), and reads the reply.
    func request(_ body: UnsafeRawBufferPointer) throws(SSHProtocolError) -> [UInt8] {
        let count = UInt32(body.count)
        let header: [UInt8] = [
            UInt8(truncatingIfNeeded: count >> 24), UInt8(truncatingIfNeeded: count >> 16),
            UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count),
        ]
        try header.withUnsafeBytes { p in Result { () throws(SSHProtocolError) in try self.writeAll(p) } }.get()
        try self.writeAll(body)
        let lengthBytes = try self.readExactly(4)
        let length =
            Int(lengthBytes[0]) << 24 | Int(lengthBytes[1]) << 16 | Int(lengthBytes[2]) << 8 | Int(lengthBytes[3])
        guard length >= 1, length <= Self.maximumMessage else {
            throw SSHProtocolError(.protocolViolation, "ssh-agent at \(self.path) sent a reply of \(length) bytes")
        }
        // Any type but the expected one (usually SSH_AGENT_FAILURE) is the caller's refusal.
        return try self.readExactly(length)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SSHProtocolError) {
        var offset = 0
        while offset < bytes.count {
            let n = sendNoSignal(self.fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SSHProtocolError(.connectionFailed, "cannot write to ssh-agent at \(self.path): \(errnoText())")
            }
            offset += n
        }
    }

    private func readExactly(_ count: Int) throws(SSHProtocolError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = out[offset...].withUnsafeMutableBytes { read(self.fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "it did not answer in time" : errnoText()
                throw SSHProtocolError(.connectionFailed, "cannot read from ssh-agent at \(self.path): \(reason)")
            }
            if n == 0 {
                throw SSHProtocolError(.connectionFailed, "ssh-agent at \(self.path) closed the connection")
            }
            offset += n
        }
        return out
    }
}

extension SSHAuthIdentity {
    /// The agent's keys as identities that sign through `agent`.
    package static func agentIdentities(_ agent: SSHAgentClient) throws(SSHProtocolError) -> [SSHAuthIdentity] {
        try agent.identities().map { key, comment in
            SSHAuthIdentity(label: "agent key \(comment.isEmpty ? key.type.sshName : comment)", publicKey: key) {
                (data, algorithm) throws(SSHProtocolError) in
                try agent.sign(data, with: key, algorithm: algorithm)
            }
        }
    }
}

/// Why a connection to ssh-agent could not be made: the system's words (strerror), or why
/// the path cannot be used.
package struct SSHAgentConnectError: Error, Sendable {
    package let reason: String
}

/// The text of the current `errno`.
func errnoText() -> String { String(cString: strerror(errno)) }

/// send(2) that reports a closed peer as EPIPE instead of raising SIGPIPE.
func sendNoSignal(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return send(fd, pointer, count, Int32(MSG_NOSIGNAL))
    #else
    return send(fd, pointer, count, 0)
    #endif
}
