import SSHKeys

/// The server side of the connection protocol (RFC 4254) for a server that runs nothing:
/// one session channel whose `exec` or `shell` request is answered with a fixed text,
/// exit-status 0, EOF and CLOSE. Sans I/O.
///
/// `pty-req` and `env` are accepted (and ignored), as sshd accepts them, so that
/// `ssh -t` works; with a pty, the text's line ends become CR LF as a terminal would make
/// them. `subsystem`, `x11-req`, agent forwarding, every other channel type and every
/// global request that wants a reply are refused; a second session is refused.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHSessionServer {
    /// Our receive window and largest packet (we accept little data: it is discarded).
    static let window: UInt32 = 64 * 1024
    static let maximumPacket: UInt32 = 32 * 1024
    /// At most this many channel requests before the exec or shell request.
    static let maximumRequests = 64

    private enum State { case idle, open, replied, closed }

    private let text: [UInt8]
    private var state = State.idle
    private var peerID: UInt32 = 0
    private var peerWindow: UInt64 = 0
    private var peerMaximumPacket = 0
    private var hasPTY = false
    private var requests = 0
    private var received: UInt64 = 0
    private var pending: [UInt8] = []
    private var finishPending = false

    /// The request that was answered: `exec` (with its command) or `shell`, for the log.
    package private(set) var answeredRequest: String?
    /// Whether both sides sent CHANNEL_CLOSE: the connection can end.
    package private(set) var isFinished = false

    /// - Parameter text: what an exec or shell request gets on its standard output.
    package init(text: String) { self.text = Array(text.utf8) }

    /// Handles one message from the client.
    /// - Returns: the messages to send in reply, in order.
    package func receive(_ payload: [UInt8]) throws(SSHProtocolError) -> [[UInt8]] {
        guard let type = payload.first else { throw clientMalformed("empty") }
        var r = SSHWireReader(payload.dropFirst())
        do {
            return try self.handle(type, &r)
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw clientMalformed(Self.name(of: type))
        }
    }

    private func handle(_ type: UInt8, _ r: inout SSHWireReader) throws -> [[UInt8]] {
        switch type {
        case ConnectionMessage.globalRequest:
            // RFC 4254 §4: string name, boolean want reply.
            _ = try r.readString()
            let wantReply = try r.readByte() != 0
            return wantReply ? [[ConnectionMessage.requestFailure]] : []
        case ConnectionMessage.channelOpen:
            // RFC 4254 §5.1: string type, uint32 sender channel, uint32 window, uint32 maximum packet.
            let channelType = try r.readString()
            let sender = try r.readUInt32()
            let window = try r.readUInt32()
            let maximumPacket = try r.readUInt32()
            guard channelType.elementsEqual("session".utf8), self.state == .idle else {
                var w = SSHWireWriter()
                w.writeByte(ConnectionMessage.channelOpenFailure)
                w.writeUInt32(sender)
                w.writeUInt32(1)  // SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
                w.writeString(self.state == .idle ? "only session channels are served" : "one session only")
                w.writeString("")
                return [w.bytes]
            }
            self.state = .open
            self.peerID = sender
            self.peerWindow = UInt64(window)
            self.peerMaximumPacket = Int(max(maximumPacket, 1))
            var w = SSHWireWriter()
            w.writeByte(ConnectionMessage.channelOpenConfirmation)
            w.writeUInt32(sender)
            w.writeUInt32(0)
            w.writeUInt32(Self.window)
            w.writeUInt32(Self.maximumPacket)
            return [w.bytes]
        default:
            break
        }
        // Everything else names our channel 0.
        let recipient = try r.readUInt32()
        guard recipient == 0, self.state != .idle else {
            throw SSHProtocolError(.protocolViolation, "the client named channel \(recipient), which is not open")
        }
        switch type {
        case ConnectionMessage.channelWindowAdjust:
            // RFC 4254 §5.2: the window may grow to at most 2^32 - 1 bytes.
            self.peerWindow = min(self.peerWindow + UInt64(try r.readUInt32()), UInt64(UInt32.max))
            return self.flush()
        case ConnectionMessage.channelData, ConnectionMessage.channelExtendedData:
            if type == ConnectionMessage.channelExtendedData { _ = try r.readUInt32() }
            let data = try r.readString()
            // The data is discarded; the client may not send more than the window it got.
            self.received += UInt64(data.count)
            guard self.received <= UInt64(Self.window) else {
                throw SSHProtocolError(.protocolViolation, "the client sent more data than its window")
            }
            return []
        case ConnectionMessage.channelEOF:
            return []
        case ConnectionMessage.channelClose:
            var out: [[UInt8]] = []
            if self.state != .closed { out.append(self.channelMessage(ConnectionMessage.channelClose)) }
            self.state = .closed
            self.isFinished = true
            return out
        case ConnectionMessage.channelRequest:
            return try self.request(&r)
        default:
            throw SSHProtocolError(.protocolViolation, "unexpected message \(type) on the session")
        }
    }

    /// RFC 4254 §5.4: string request type, boolean want reply, type-specific data.
    private func request(_ r: inout SSHWireReader) throws -> [[UInt8]] {
        let name = printable(try r.readString().prefix(64))
        let wantReply = try r.readByte() != 0
        self.requests += 1
        guard self.requests <= Self.maximumRequests else {
            throw SSHProtocolError(.protocolViolation, "the client sent too many channel requests")
        }
        func reply(_ ok: Bool) -> [[UInt8]] {
            guard wantReply, self.state != .closed else { return [] }
            return [self.channelMessage(ok ? ConnectionMessage.channelSuccess : ConnectionMessage.channelFailure)]
        }
        switch name {
        case "pty-req" where self.state == .open:
            self.hasPTY = true
            return reply(true)
        case "env", "window-change", "signal", "break":
            return reply(self.state == .open)
        case "exec" where self.state == .open, "shell" where self.state == .open:
            if name == "exec" {
                let command = try r.readString()
                self.answeredRequest = "exec \(printable(command.prefix(256)))"
            } else {
                self.answeredRequest = "shell"
            }
            self.state = .replied
            var text = self.text
            if self.hasPTY {
                // A terminal's ONLCR turns each LF into CR LF.
                text = text.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
            }
            self.pending = text
            self.finishPending = true
            return reply(true) + self.flush()
        default:
            return reply(false)
        }
    }

    /// Sends what the client's window allows; once all is sent, exit-status 0, EOF, CLOSE.
    private func flush() -> [[UInt8]] {
        var out: [[UInt8]] = []
        while !self.pending.isEmpty && self.peerWindow > 0 {
            let count = min(self.pending.count, self.peerMaximumPacket, Int(min(self.peerWindow, 1 << 30)))
            var w = self.channelWriter(ConnectionMessage.channelData)
            w.writeString(self.pending.prefix(count))
            out.append(w.bytes)
            self.pending.removeFirst(count)
            self.peerWindow -= UInt64(count)
        }
        if self.pending.isEmpty && self.finishPending && self.state == .replied {
            self.finishPending = false
            // RFC 4254 §6.10: "exit-status", FALSE, uint32 exit_status.
            var w = self.channelWriter(ConnectionMessage.channelRequest)
            w.writeString("exit-status")
            w.writeByte(0)
            w.writeUInt32(0)
            out.append(w.bytes)
            out.append(self.channelMessage(ConnectionMessage.channelEOF))
            out.append(self.channelMessage(ConnectionMessage.channelClose))
            self.state = .closed
        }
        return out
    }

    private func channelWriter(_ type: UInt8) -> SSHWireWriter {
        var w = SSHWireWriter()
        w.writeByte(type)
        w.writeUInt32(self.peerID)
        return w
    }

    private func channelMessage(_ type: UInt8) -> [UInt8] { self.channelWriter(type).bytes }

    private static func name(of type: UInt8) -> String {
        switch type {
        case ConnectionMessage.globalRequest: "GLOBAL_REQUEST"
        case ConnectionMessage.channelOpen: "CHANNEL_OPEN"
        case ConnectionMessage.channelRequest: "CHANNEL_REQUEST"
        default: "message \(type)"
        }
    }
}
