import SSHKeys

/// The client side of the SSH connection protocol (RFC 4254) for `exec` sessions, sans I/O:
/// feed it the payloads that arrive after authentication and send what ``takeOutbound()``
/// returns.
///
/// Each ``openExec(command:stdin:)`` opens a session channel, asks for `exec` with
/// want-reply, streams stdin within the server's window and maximum packet size, then sends
/// EOF; it collects stdout, stderr (extended data type 1), exit-status and exit-signal until
/// the server closes the channel. Our receive window starts at ``windowSize`` and is topped
/// up with WINDOW_ADJUST once half of it is used. Global requests and channel requests we
/// do not know (hostkeys-00@openssh.com, keepalive@openssh.com) are refused when the server
/// wants a reply, and channels the server tries to open are refused.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHConnectionClient {
    /// Our receive window per channel (as OpenSSH's session default, 2 MiB).
    package static let windowSize: UInt32 = 2 * 1024 * 1024
    /// The largest data packet we accept (OpenSSH's session default).
    package static let maximumPacket: UInt32 = 32 * 1024
    /// A command's stdout or stderr may not grow past this (a hostile server could stream forever).
    package static let maximumOutput = 64 * 1024 * 1024

    private final class ExecChannel {
        enum State { case opening, awaitingExecReply, running, closed }
        let localID: UInt32
        let command: String
        /// For a subsystem channel `command` names the subsystem; its input is streamed with
        /// ``SSHConnectionClient/send(_:on:)`` and has no EOF until the channel is closed.
        let isSubsystem: Bool
        /// For a `direct-tcpip` channel (RFC 4254 §7.2) the host and port the server connects
        /// to; such a channel runs as soon as it is confirmed, and its receive window is
        /// given back only as ``SSHConnectionClient/takeOutput(_:)`` takes the data.
        let tunnel: (host: String, port: Int)?
        /// More input may follow (subsystems, and exec channels opened with
        /// ``SSHConnectionClient/openStreamingExec(command:)`` until ``SSHConnectionClient/finishInput(_:)``).
        var inputOpen: Bool
        var stdin: [UInt8]
        var stdinSent = 0
        var state = State.opening
        var remoteID: UInt32 = 0
        var remoteWindow: UInt64 = 0
        var remoteMaximumPacket = 0
        var localWindow = SSHConnectionClient.windowSize
        var eofSent = false
        var eofReceived = false
        var closeSent = false
        var result = SSHExecResult(exitStatus: nil, exitSignal: nil, stdout: [], stderr: [])
        var failure: SSHProtocolError?
        /// The server refused the channel (CHANNEL_OPEN_FAILURE) or its exec or subsystem
        /// request (CHANNEL_FAILURE): nothing ran on it.
        var refused = false

        init(
            localID: UInt32,
            command: String,
            stdin: [UInt8],
            isSubsystem: Bool = false,
            tunnel: (host: String, port: Int)? = nil
        ) {
            self.localID = localID
            self.command = command
            self.stdin = stdin
            self.isSubsystem = isSubsystem
            self.tunnel = tunnel
            self.inputOpen = isSubsystem || tunnel != nil
        }
    }

    private let peer: String
    private var channels: [UInt32: ExecChannel] = [:]
    private var nextChannelID: UInt32 = 0
    private var outbound: [[UInt8]] = []

    /// - Parameter peer: how the server is named in messages (`host:port`).
    package init(peer: String) { self.peer = peer }

    /// Variables sent as "env" requests (RFC 4254 §6.4, want reply false, as ssh's SetEnv
    /// and SendEnv) on each session channel before its command or subsystem; sshd keeps
    /// those its AcceptEnv names and drops the others without a word.
    package var environment: [(name: String, value: String)] = []

    /// Global requests sent whose reply has not come (keepalives).
    private var unansweredGlobalRequests = 0

    /// Queues a "keepalive@openssh.com" global request wanting a reply, as ssh's
    /// ServerAliveInterval does (clientloop.c): any server answers it, with success or failure.
    package func sendKeepalive() {
        var w = SSHWireWriter()
        w.writeByte(ConnectionMessage.globalRequest)
        w.writeString("keepalive@openssh.com")
        w.writeByte(1)
        self.outbound.append(w.bytes)
        self.unansweredGlobalRequests += 1
    }

    /// The messages to send now, in order; empties the queue.
    package func takeOutbound() -> [[UInt8]] {
        defer { self.outbound.removeAll() }
        return self.outbound
    }

    /// Opens a session channel that will run `command` with `stdin`; returns its local id.
    package func openExec(command: String, stdin: [UInt8]) -> UInt32 {
        self.open(ExecChannel(localID: self.nextChannelID, command: command, stdin: stdin))
    }

    /// Opens a session channel that runs `command` with its input streamed through
    /// ``send(_:on:)`` and ended with ``finishInput(_:)``, so the input can depend on the output.
    package func openStreamingExec(command: String) -> UInt32 {
        let channel = ExecChannel(localID: self.nextChannelID, command: command, stdin: [])
        channel.inputOpen = true
        return self.open(channel)
    }

    /// Sends EOF on a streaming exec channel once its queued input is out.
    package func finishInput(_ id: UInt32) {
        guard let channel = self.channels[id], channel.state != .closed, channel.inputOpen else { return }
        channel.inputOpen = false
        if channel.state == .running { self.sendStdin(channel) }
    }

    /// Opens a session channel that will start the subsystem `name` (RFC 4254 §6.5); its
    /// input goes through ``send(_:on:)`` and its output is taken with ``takeOutput(_:)``.
    package func openSubsystem(_ name: String) -> UInt32 {
        self.open(ExecChannel(localID: self.nextChannelID, command: name, stdin: [], isSubsystem: true))
    }

    /// Opens a `direct-tcpip` channel (RFC 4254 §7.2): the server connects to `host`:`port`
    /// and the channel carries that TCP stream. Its input goes through ``send(_:on:)`` and
    /// ends with ``finishInput(_:)``; its output is taken with ``takeOutput(_:)``, and the
    /// server may send more only as output is taken (our window is refilled then, so a
    /// consumer that stops taking stops the server). ``isRunning(_:)`` once confirmed;
    /// a refusal makes it finished, with the reason in ``takeResult(_:)``.
    package func openDirectTCPIP(host: String, port: Int) -> UInt32 {
        let channel = ExecChannel(localID: self.nextChannelID, command: "", stdin: [], tunnel: (host, port))
        // RFC 4254 §7.2: after the common fields, string host to connect, uint32 port to
        // connect, string originator IP address, uint32 originator port.
        return self.open(channel, type: "direct-tcpip") { w in
            w.writeString(host)
            w.writeUInt32(UInt32(clamping: port))
            // ssh -W sends these too: there is no local originator.
            w.writeString("127.0.0.1")
            w.writeUInt32(65535)
        }
    }

    /// Input queued on the channel and not yet sent (the server's window is closed).
    package func pendingInput(_ id: UInt32) -> Int {
        guard let channel = self.channels[id] else { return 0 }
        return channel.stdin.count - channel.stdinSent
    }

    /// Whether the server sent EOF on the channel.
    package func receivedEOF(_ id: UInt32) -> Bool { self.channels[id]?.eofReceived ?? true }

    /// Whether the channel's exec or subsystem request was accepted and it is still open.
    package func isRunning(_ id: UInt32) -> Bool { self.channels[id]?.state == .running }

    /// Whether the server refused the channel or its request, so that nothing ran on it.
    package func wasRefused(_ id: UInt32) -> Bool { self.channels[id]?.refused ?? false }

    /// Whether output is waiting in ``takeOutput(_:)``.
    package func hasOutput(_ id: UInt32) -> Bool { !(self.channels[id]?.result.stdout.isEmpty ?? true) }

    /// The channel's output so far; empties it.
    package func takeOutput(_ id: UInt32) -> [UInt8] {
        guard let channel = self.channels[id] else { return [] }
        defer {
            channel.result.stdout.removeAll()
            if channel.tunnel != nil && channel.state != .closed { self.refillWindow(channel) }
        }
        return channel.result.stdout
    }

    /// Queues `bytes` for a subsystem or streaming exec channel, sent within the server's window.
    package func send(_ bytes: [UInt8], on id: UInt32) {
        guard let channel = self.channels[id], channel.state != .closed else { return }
        channel.stdin += bytes
        if channel.state == .running { self.sendStdin(channel) }
    }

    /// Sends EOF and CLOSE on a channel; it is finished once the server's CLOSE arrives.
    package func closeChannel(_ id: UInt32) {
        guard let channel = self.channels[id], channel.state != .closed else { return }
        if channel.state == .opening {
            channel.state = .closed
            return
        }
        if !channel.eofSent && !channel.closeSent {
            self.outbound.append(self.channelWriter(ConnectionMessage.channelEOF, channel).bytes)
            channel.eofSent = true
        }
        self.sendClose(channel)
    }

    /// Sends CHANNEL_OPEN for `channel`: RFC 4254 §5.1's string channel type, uint32 sender
    /// channel, uint32 initial window size, uint32 maximum packet size, then what `extra`
    /// writes for that type (nothing for "session").
    private func open(
        _ channel: ExecChannel,
        type: String = "session",
        extra: (inout SSHWireWriter) -> Void = { _ in }
    ) -> UInt32 {
        let id = channel.localID
        self.nextChannelID &+= 1
        self.channels[id] = channel
        var w = SSHWireWriter()
        w.writeByte(ConnectionMessage.channelOpen)
        w.writeString(type)
        w.writeUInt32(id)
        w.writeUInt32(Self.windowSize)
        w.writeUInt32(Self.maximumPacket)
        extra(&w)
        self.outbound.append(w.bytes)
        return id
    }

    /// Whether the channel has closed (or failed to open).
    package func isFinished(_ id: UInt32) -> Bool {
        guard let channel = self.channels[id] else { return true }
        return channel.state == .closed
    }

    /// The finished channel's result; forgets the channel.
    /// - Throws: `.channelFailure` when the server refused the channel or the command.
    package func takeResult(_ id: UInt32) throws(SSHProtocolError) -> SSHExecResult {
        guard let channel = self.channels.removeValue(forKey: id) else {
            throw SSHProtocolError(.channelFailure, "no such channel \(id)")
        }
        if let failure = channel.failure { throw failure }
        return channel.result
    }

    /// Handles one connection-protocol message from the server.
    /// - Throws: `.protocolViolation` for a malformed or out-of-place message.
    package func receive(_ payload: [UInt8]) throws(SSHProtocolError) {
        guard let type = payload.first else { throw malformed("empty") }
        var r = SSHWireReader(payload.dropFirst())
        do {
            try self.handle(type, &r)
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw malformed(Self.name(of: type))
        }
    }

    private func handle(_ type: UInt8, _ r: inout SSHWireReader) throws {
        switch type {
        case ConnectionMessage.globalRequest:
            // RFC 4254 §4: string request name, boolean want reply, ….
            _ = try r.readString()
            if try r.readByte() != 0 { self.outbound.append([ConnectionMessage.requestFailure]) }
        case ConnectionMessage.requestSuccess, ConnectionMessage.requestFailure:
            // Only keepalives are sent, so only they can be answered.
            guard self.unansweredGlobalRequests > 0 else {
                throw SSHProtocolError(.protocolViolation, "the server answered a global request that was never sent")
            }
            self.unansweredGlobalRequests -= 1
        case ConnectionMessage.channelOpen:
            // RFC 4254 §5.1: string type, uint32 sender channel, …; refuse with
            // SSH_OPEN_ADMINISTRATIVELY_PROHIBITED (1).
            _ = try r.readString()
            let sender = try r.readUInt32()
            var w = SSHWireWriter()
            w.writeByte(ConnectionMessage.channelOpenFailure)
            w.writeUInt32(sender)
            w.writeUInt32(1)
            w.writeString("keysmith opens no channels for the server")
            w.writeString("")
            self.outbound.append(w.bytes)
        default:
            let channel = try self.channel(try r.readUInt32(), for: type)
            try self.handle(type, &r, channel)
        }
    }

    private func channel(_ id: UInt32, for type: UInt8) throws(SSHProtocolError) -> ExecChannel {
        guard let channel = self.channels[id], channel.state != .closed else {
            throw SSHProtocolError(
                .protocolViolation,
                "the server sent \(Self.name(of: type)) for channel \(id), which is not open"
            )
        }
        return channel
    }

    private func handle(_ type: UInt8, _ r: inout SSHWireReader, _ channel: ExecChannel) throws {
        switch (type, channel.state) {
        case (ConnectionMessage.channelOpenConfirmation, .opening):
            // RFC 4254 §5.1: uint32 sender channel, uint32 initial window, uint32 maximum packet.
            channel.remoteID = try r.readUInt32()
            channel.remoteWindow = UInt64(try r.readUInt32())
            channel.remoteMaximumPacket = Int(try r.readUInt32())
            guard channel.remoteMaximumPacket > 0 else {
                throw SSHProtocolError(.protocolViolation, "the server allows no data on the session channel")
            }
            if channel.tunnel != nil {
                // RFC 4254 §7.2: a direct-tcpip channel carries data at once, no request.
                channel.state = .running
                self.sendStdin(channel)
                return
            }
            // RFC 4254 §6.4: string "env", boolean want reply (false), string name, string value.
            for (name, value) in self.environment {
                var env = self.channelWriter(ConnectionMessage.channelRequest, channel)
                env.writeString("env")
                env.writeByte(0)
                env.writeString(name)
                env.writeString(value)
                self.outbound.append(env.bytes)
            }
            // RFC 4254 §6.5: string "exec", boolean want reply, string command; or string
            // "subsystem", boolean want reply, string subsystem name.
            var w = self.channelWriter(ConnectionMessage.channelRequest, channel)
            w.writeString(channel.isSubsystem ? "subsystem" : "exec")
            w.writeByte(1)
            w.writeString(channel.command)
            self.outbound.append(w.bytes)
            channel.state = .awaitingExecReply

        case (ConnectionMessage.channelOpenFailure, .opening):
            // RFC 4254 §5.1: uint32 reason code, string description, string language tag.
            let reason = try r.readUInt32()
            let description = printableText(try r.readString())
            if let tunnel = channel.tunnel {
                channel.failure = SSHProtocolError(
                    .channelFailure,
                    "\(self.peer) refused to open a tunnel to \(Self.hostPort(tunnel.host, tunnel.port)) "
                        + "(\(Self.openFailureName(reason))\(description.isEmpty ? "" : ": " + description))"
                )
            } else {
                channel.failure = SSHProtocolError(
                    .channelFailure,
                    "\(self.peer) refused to open a session channel (reason \(reason): \(description))"
                )
                channel.refused = true
            }
            channel.state = .closed

        case (ConnectionMessage.channelSuccess, .awaitingExecReply):
            channel.state = .running
            self.sendStdin(channel)

        case (ConnectionMessage.channelFailure, .awaitingExecReply):
            channel.failure = SSHProtocolError(
                .channelFailure,
                channel.isSubsystem
                    ? "\(self.peer) refused to start the \(channel.command) subsystem"
                    : "\(self.peer) refused to run the command (exec request failed)"
            )
            channel.refused = true
            channel.state = .running
            self.sendClose(channel)

        case (ConnectionMessage.channelWindowAdjust, .awaitingExecReply),
            (ConnectionMessage.channelWindowAdjust, .running):
            // RFC 4254 §5.2: uint32 bytes to add; the window never exceeds 2^32 - 1.
            channel.remoteWindow = min(channel.remoteWindow + UInt64(try r.readUInt32()), UInt64(UInt32.max))
            if channel.state == .running { self.sendStdin(channel) }

        case (ConnectionMessage.channelData, .awaitingExecReply), (ConnectionMessage.channelData, .running):
            let data = try r.readString()
            try self.consume(data.count, channel)
            try self.append(data, to: \.stdout, channel)

        case (ConnectionMessage.channelExtendedData, .awaitingExecReply),
            (ConnectionMessage.channelExtendedData, .running):
            // RFC 4254 §5.2: uint32 data_type_code (1 = SSH_EXTENDED_DATA_STDERR), string data.
            let code = try r.readUInt32()
            let data = try r.readString()
            try self.consume(data.count, channel)
            if code == 1 { try self.append(data, to: \.stderr, channel) }

        case (ConnectionMessage.channelEOF, .awaitingExecReply), (ConnectionMessage.channelEOF, .running):
            channel.eofReceived = true

        case (ConnectionMessage.channelRequest, .awaitingExecReply), (ConnectionMessage.channelRequest, .running):
            try self.handleChannelRequest(&r, channel)

        case (ConnectionMessage.channelClose, .awaitingExecReply), (ConnectionMessage.channelClose, .running):
            // RFC 4254 §5.3: answer CLOSE with CLOSE unless ours went first.
            self.sendClose(channel)
            channel.state = .closed

        default:
            throw SSHProtocolError(
                .protocolViolation,
                "the server sent \(Self.name(of: type)) out of place on channel \(channel.localID)"
            )
        }
    }

    private func handleChannelRequest(_ r: inout SSHWireReader, _ channel: ExecChannel) throws {
        // RFC 4254 §5.4: string request type, boolean want reply, type-specific data.
        let name = try r.readString()
        let wantReply = try r.readByte() != 0
        if name.elementsEqual("exit-status".utf8) {
            // RFC 4254 §6.10: uint32 exit_status.
            channel.result.exitStatus = Int32(bitPattern: try r.readUInt32())
        } else if name.elementsEqual("exit-signal".utf8) {
            // RFC 4254 §6.10: string signal name (without "SIG"), boolean core dumped,
            // string error message, string language tag.
            channel.result.exitSignal = printableText(try r.readString())
        } else if wantReply {
            // keepalive@openssh.com and anything else we do not implement.
            self.outbound.append(self.channelWriter(ConnectionMessage.channelFailure, channel).bytes)
        }
    }

    private func consume(_ count: Int, _ channel: ExecChannel) throws(SSHProtocolError) {
        guard count <= channel.localWindow, count <= Self.maximumPacket else {
            throw SSHProtocolError(.protocolViolation, "\(self.peer) sent more data than the channel window allows")
        }
        channel.localWindow -= UInt32(count)
        if channel.tunnel == nil { self.refillWindow(channel) }
    }

    /// Tops our window up to ``windowSize`` once half of it is used: at once for sessions
    /// (their output is bounded by ``maximumOutput``), as output is taken for tunnels.
    private func refillWindow(_ channel: ExecChannel) {
        if channel.localWindow <= Self.windowSize / 2 && !channel.eofReceived {
            // RFC 4254 §5.2: uint32 bytes to add.
            var w = self.channelWriter(ConnectionMessage.channelWindowAdjust, channel)
            w.writeUInt32(Self.windowSize - channel.localWindow)
            self.outbound.append(w.bytes)
            channel.localWindow = Self.windowSize
        }
    }

    private func append(
        _ data: ArraySlice<UInt8>,
        to stream: WritableKeyPath<SSHExecResult, [UInt8]>,
        _ channel: ExecChannel
    ) throws(SSHProtocolError) {
        guard channel.result[keyPath: stream].count + data.count <= Self.maximumOutput else {
            throw SSHProtocolError(
                .protocolViolation,
                "the command's output on \(self.peer) exceeds \(Self.maximumOutput >> 20) MiB"
            )
        }
        channel.result[keyPath: stream].append(contentsOf: data)
    }

    /// Sends as much stdin as the server's window and packet size allow, then EOF.
    private func sendStdin(_ channel: ExecChannel) {
        while channel.stdinSent < channel.stdin.count && channel.remoteWindow > 0 && !channel.closeSent {
            let count = min(
                channel.stdin.count - channel.stdinSent,
                channel.remoteMaximumPacket,
                Int(channel.remoteWindow)
            )
            // RFC 4254 §5.2: uint32 recipient channel, string data.
            var w = self.channelWriter(ConnectionMessage.channelData, channel)
            w.writeString(channel.stdin[channel.stdinSent..<channel.stdinSent + count])
            self.outbound.append(w.bytes)
            channel.stdinSent += count
            channel.remoteWindow -= UInt64(count)
        }
        if channel.inputOpen {
            if channel.stdinSent == channel.stdin.count {
                channel.stdin.removeAll(keepingCapacity: true)
                channel.stdinSent = 0
            }
            return
        }
        if channel.stdinSent == channel.stdin.count && !channel.eofSent && !channel.closeSent {
            self.outbound.append(self.channelWriter(ConnectionMessage.channelEOF, channel).bytes)
            channel.eofSent = true
        }
    }

    private func sendClose(_ channel: ExecChannel) {
        guard !channel.closeSent else { return }
        self.outbound.append(self.channelWriter(ConnectionMessage.channelClose, channel).bytes)
        channel.closeSent = true
    }

    private func channelWriter(_ type: UInt8, _ channel: ExecChannel) -> SSHWireWriter {
        var w = SSHWireWriter()
        w.writeByte(type)
        w.writeUInt32(channel.remoteID)
        return w
    }

    /// `host:port`, `[v6]:port`.
    private static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// RFC 4254 §5.1's reason codes, as OpenSSH words them.
    private static func openFailureName(_ reason: UInt32) -> String {
        switch reason {
        case 1: "administratively prohibited"
        case 2: "connect failed"
        case 3: "unknown channel type"
        case 4: "resource shortage"
        default: "reason \(reason)"
        }
    }

    private static func name(of type: UInt8) -> String {
        switch type {
        case ConnectionMessage.globalRequest: "GLOBAL_REQUEST"
        case ConnectionMessage.channelOpen: "CHANNEL_OPEN"
        case ConnectionMessage.channelOpenConfirmation: "CHANNEL_OPEN_CONFIRMATION"
        case ConnectionMessage.channelOpenFailure: "CHANNEL_OPEN_FAILURE"
        case ConnectionMessage.channelWindowAdjust: "CHANNEL_WINDOW_ADJUST"
        case ConnectionMessage.channelData: "CHANNEL_DATA"
        case ConnectionMessage.channelExtendedData: "CHANNEL_EXTENDED_DATA"
        case ConnectionMessage.channelEOF: "CHANNEL_EOF"
        case ConnectionMessage.channelClose: "CHANNEL_CLOSE"
        case ConnectionMessage.channelRequest: "CHANNEL_REQUEST"
        case ConnectionMessage.channelSuccess: "CHANNEL_SUCCESS"
        case ConnectionMessage.channelFailure: "CHANNEL_FAILURE"
        default: "message \(type)"
        }
    }
}

/// Text from the peer for a message: invalid UTF-8 replaced, control characters dropped.
func printableText(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self).filter { c in
        !c.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
