import SSHKeys
import SSHProtocol
import Testing

private func message(_ type: UInt8, _ build: (inout SSHWireWriter) -> Void = { _ in }) -> [UInt8] {
    var w = SSHWireWriter()
    w.writeByte(type)
    build(&w)
    return w.bytes
}

/// OPEN_CONFIRMATION for our channel `local`, the server's channel 7.
private func confirmation(local: UInt32, window: UInt32, maximumPacket: UInt32) -> [UInt8] {
    message(91) {
        $0.writeUInt32(local)
        $0.writeUInt32(7)
        $0.writeUInt32(window)
        $0.writeUInt32(maximumPacket)
    }
}

private func data(_ local: UInt32, _ bytes: [UInt8]) -> [UInt8] {
    message(94) {
        $0.writeUInt32(local)
        $0.writeString(bytes)
    }
}

private func request(
    _ local: UInt32,
    _ name: String,
    wantReply: Bool,
    _ build: (inout SSHWireWriter) -> Void = { _ in }
)
    -> [UInt8]
{
    message(98) {
        $0.writeUInt32(local)
        $0.writeString(name)
        $0.writeByte(wantReply ? 1 : 0)
        build(&$0)
    }
}

/// The stdin bytes carried by CHANNEL_DATA messages for the server's channel 7, and whether EOF followed.
private func stdinSent(_ payloads: [[UInt8]]) throws -> (chunks: [[UInt8]], eof: Bool) {
    var chunks: [[UInt8]] = []
    var eof = false
    for p in payloads {
        var r = SSHWireReader(p)
        let type = try r.readByte()
        #expect(try r.readUInt32() == 7)
        if type == 94 { chunks.append(Array(try r.readString())) }
        if type == 96 { eof = true }
    }
    return (chunks, eof)
}

@Suite("session channel state machine (RFC 4254)")
struct ChannelExecTests {
    @Test("open, exec with want-reply, stdin within the server's window and packet size, then EOF")
    func execAndStdinFlowControl() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        let stdin = (0..<10).map { UInt8($0) }
        let id = connection.openExec(command: "cat", stdin: stdin)
        var open = SSHWireReader(try #require(connection.takeOutbound().first))
        #expect(try open.readByte() == 90)
        #expect(try open.readUTF8() == "session")
        #expect(try open.readUInt32() == id)
        #expect(try open.readUInt32() == 2 * 1024 * 1024)
        #expect(try open.readUInt32() == 32 * 1024)

        try connection.receive(confirmation(local: id, window: 6, maximumPacket: 4))
        var exec = SSHWireReader(try #require(connection.takeOutbound().first))
        #expect(try exec.readByte() == 98)
        #expect(try exec.readUInt32() == 7)
        #expect(try exec.readUTF8() == "exec")
        #expect(try exec.readByte() == 1)
        #expect(try exec.readUTF8() == "cat")

        try connection.receive(message(99) { $0.writeUInt32(id) })
        var sent = try stdinSent(connection.takeOutbound())
        #expect(sent.chunks == [[0, 1, 2, 3], [4, 5]])
        #expect(!sent.eof)

        try connection.receive(
            message(93) {
                $0.writeUInt32(id)
                $0.writeUInt32(100)
            }
        )
        sent = try stdinSent(connection.takeOutbound())
        #expect(sent.chunks == [[6, 7, 8, 9]])
        #expect(sent.eof)
        #expect(!connection.isFinished(id))
    }

    @Test("stdout, stderr, exit-status; unknown requests refused; CLOSE answered and the result returned")
    func collectsOutput() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        let id = connection.openExec(command: "x", stdin: [])
        _ = connection.takeOutbound()
        try connection.receive(confirmation(local: id, window: 1000, maximumPacket: 1000))
        try connection.receive(message(99) { $0.writeUInt32(id) })
        #expect(try stdinSent(connection.takeOutbound()).eof)

        try connection.receive(data(id, Array("out".utf8)))
        try connection.receive(
            message(95) {
                $0.writeUInt32(id)
                $0.writeUInt32(1)
                $0.writeString("err")
            }
        )
        try connection.receive(request(id, "keepalive@openssh.com", wantReply: true))
        #expect(connection.takeOutbound() == [[100, 0, 0, 0, 7]])
        try connection.receive(
            message(80) {
                $0.writeString("hostkeys-00@openssh.com")
                $0.writeByte(1)
            }
        )
        #expect(connection.takeOutbound() == [[82]])
        try connection.receive(request(id, "exit-status", wantReply: false) { $0.writeUInt32(3) })
        try connection.receive(message(96) { $0.writeUInt32(id) })
        #expect(!connection.isFinished(id))
        try connection.receive(message(97) { $0.writeUInt32(id) })
        #expect(connection.takeOutbound() == [[97, 0, 0, 0, 7]])
        #expect(connection.isFinished(id))
        let result = try connection.takeResult(id)
        #expect(result.stdout == Array("out".utf8))
        #expect(result.stderr == Array("err".utf8))
        #expect(result.exitStatus == 3)
        #expect(result.exitSignal == nil)
    }

    @Test("our window is topped up once half of it is used")
    func windowAdjust() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        let id = connection.openExec(command: "x", stdin: [])
        try connection.receive(confirmation(local: id, window: 1000, maximumPacket: 1000))
        try connection.receive(message(99) { $0.writeUInt32(id) })
        _ = connection.takeOutbound()
        let chunk = [UInt8](repeating: 0x41, count: 32 * 1024)
        for _ in 0..<31 { try connection.receive(data(id, chunk)) }
        #expect(connection.takeOutbound().isEmpty)
        try connection.receive(data(id, chunk))
        var adjust = SSHWireReader(try #require(connection.takeOutbound().first))
        #expect(try adjust.readByte() == 93)
        #expect(try adjust.readUInt32() == 7)
        #expect(try adjust.readUInt32() == 1024 * 1024)
    }

    @Test("data beyond our window is a protocol violation")
    func windowOverrun() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        let id = connection.openExec(command: "x", stdin: [])
        try connection.receive(confirmation(local: id, window: 1000, maximumPacket: 1000))
        #expect(throws: SSHProtocolError(.protocolViolation, "")) {
            try connection.receive(data(id, [UInt8](repeating: 0, count: 40 * 1024)))
        }
    }

    @Test("exit-signal is recorded")
    func exitSignal() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        let id = connection.openExec(command: "x", stdin: [])
        try connection.receive(confirmation(local: id, window: 1000, maximumPacket: 1000))
        try connection.receive(message(99) { $0.writeUInt32(id) })
        try connection.receive(
            request(id, "exit-signal", wantReply: false) {
                $0.writeString("KILL")
                $0.writeByte(0)
                $0.writeString("")
                $0.writeString("")
            }
        )
        try connection.receive(message(97) { $0.writeUInt32(id) })
        let result = try connection.takeResult(id)
        #expect(result.exitSignal == "KILL")
        #expect(result.exitStatus == nil)
    }

    @Test("a refused channel or exec request becomes channelFailure")
    func refusals() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        let id = connection.openExec(command: "x", stdin: [])
        try connection.receive(
            message(92) {
                $0.writeUInt32(id)
                $0.writeUInt32(1)
                $0.writeString("prohibited")
                $0.writeString("")
            }
        )
        #expect(connection.isFinished(id))
        #expect(throws: SSHProtocolError(.channelFailure, "")) { try connection.takeResult(id) }

        let second = connection.openExec(command: "x", stdin: [1, 2, 3])
        try connection.receive(confirmation(local: second, window: 1000, maximumPacket: 1000))
        _ = connection.takeOutbound()
        try connection.receive(message(100) { $0.writeUInt32(second) })
        #expect(connection.takeOutbound() == [[97, 0, 0, 0, 7]])
        try connection.receive(message(97) { $0.writeUInt32(second) })
        #expect(throws: SSHProtocolError(.channelFailure, "")) { try connection.takeResult(second) }
    }

    @Test("a channel the server opens is refused")
    func serverOpenedChannel() throws {
        let connection = SSHConnectionClient(peer: "h:22")
        try connection.receive(
            message(90) {
                $0.writeString("auth-agent@openssh.com")
                $0.writeUInt32(42)
                $0.writeUInt32(1000)
                $0.writeUInt32(1000)
            }
        )
        var refusal = SSHWireReader(try #require(connection.takeOutbound().first))
        #expect(try refusal.readByte() == 92)
        #expect(try refusal.readUInt32() == 42)
        #expect(try refusal.readUInt32() == 1)
    }

    @Test("malformed messages and unknown channels are protocol violations, never crashes")
    func malformed() throws {
        for payload: [UInt8] in [[], [94], [94, 0, 0, 0, 9, 0, 0, 0, 1, 65], [91, 0, 0], [98, 0, 0, 0, 0], [81]] {
            let connection = SSHConnectionClient(peer: "h:22")
            _ = connection.openExec(command: "x", stdin: [])
            #expect(throws: SSHProtocolError.self) { try connection.receive(payload) }
        }
    }
}

@Suite("direct-tcpip channels (RFC 4254 §7.2)")
struct DirectTCPIPChannelTests {
    @Test("the open request names the host and port to connect, then the originator")
    func openRequest() throws {
        let c = SSHConnectionClient(peer: "bastion:22")
        let id = c.openDirectTCPIP(host: "target.example", port: 2222)
        let out = c.takeOutbound()
        #expect(out.count == 1)
        var r = SSHWireReader(out[0])
        #expect(try r.readByte() == 90)
        #expect(Array(try r.readString()) == Array("direct-tcpip".utf8))
        #expect(try r.readUInt32() == id)
        #expect(try r.readUInt32() == SSHConnectionClient.windowSize)
        #expect(try r.readUInt32() == SSHConnectionClient.maximumPacket)
        #expect(Array(try r.readString()) == Array("target.example".utf8))
        #expect(try r.readUInt32() == 2222)
        #expect(Array(try r.readString()) == Array("127.0.0.1".utf8))
        #expect(try r.readUInt32() == 65535)
        #expect(r.isAtEnd)
    }

    @Test("confirmed, it runs at once and sends input within the server's window and packet size")
    func sendsWithinWindow() throws {
        let c = SSHConnectionClient(peer: "bastion:22")
        let id = c.openDirectTCPIP(host: "t", port: 22)
        _ = c.takeOutbound()
        c.send([UInt8](repeating: 1, count: 250), on: id)
        try c.receive(confirmation(local: id, window: 200, maximumPacket: 100))
        #expect(c.isRunning(id))
        #expect(try stdinSent(c.takeOutbound()).chunks.map(\.count) == [100, 100])
        #expect(c.pendingInput(id) == 50)
        try c.receive(
            message(93) {
                $0.writeUInt32(id)
                $0.writeUInt32(1000)
            }
        )
        #expect(try stdinSent(c.takeOutbound()).chunks.map(\.count) == [50])
        #expect(c.pendingInput(id) == 0)
        c.finishInput(id)
        #expect(try stdinSent(c.takeOutbound()).eof)
    }

    @Test("the window is given back only as the data is taken, so a slow reader stops the server")
    func windowFollowsTheReader() throws {
        let c = SSHConnectionClient(peer: "bastion:22")
        let id = c.openDirectTCPIP(host: "t", port: 22)
        _ = c.takeOutbound()
        try c.receive(confirmation(local: id, window: 1 << 20, maximumPacket: 32768))
        let chunk = [UInt8](repeating: 7, count: Int(SSHConnectionClient.maximumPacket))
        let half = Int(SSHConnectionClient.windowSize) / chunk.count / 2
        for _ in 0..<(half + 1) { try c.receive(data(id, chunk)) }
        #expect(c.takeOutbound().isEmpty, "no WINDOW_ADJUST before the data is taken")
        #expect(c.takeOutput(id).count == (half + 1) * chunk.count)
        let adjust = c.takeOutbound()
        #expect(adjust.count == 1)
        var r = SSHWireReader(adjust[0])
        #expect(try r.readByte() == 93)
        #expect(try r.readUInt32() == 7)
        #expect(try r.readUInt32() == UInt32((half + 1) * chunk.count))
        // A server that ignores the window is a protocol violation.
        let rest = Int(SSHConnectionClient.windowSize) / chunk.count
        #expect(throws: SSHProtocolError(.protocolViolation, "")) {
            for _ in 0...rest { try c.receive(data(id, chunk)) }
        }
    }

    @Test("a refusal names the tunnel and the reason as OpenSSH words it")
    func refusal() throws {
        let c = SSHConnectionClient(peer: "bastion:22")
        let id = c.openDirectTCPIP(host: "127.0.0.1", port: 2222)
        try c.receive(
            message(92) {
                $0.writeUInt32(id)
                $0.writeUInt32(1)
                $0.writeString("open failed")
                $0.writeString("")
            }
        )
        #expect(c.isFinished(id))
        let error = #expect(throws: SSHProtocolError(.channelFailure, "")) { try c.takeResult(id) }
        #expect(
            error?.message
                == "bastion:22 refused to open a tunnel to 127.0.0.1:2222 (administratively prohibited: open failed)"
        )
    }

    @Test("the server's EOF is reported; its CLOSE finishes the channel with the data still there to take")
    func eofAndClose() throws {
        let c = SSHConnectionClient(peer: "bastion:22")
        let id = c.openDirectTCPIP(host: "t", port: 22)
        try c.receive(confirmation(local: id, window: 1000, maximumPacket: 1000))
        try c.receive(data(id, [1, 2, 3]))
        try c.receive(message(96) { $0.writeUInt32(id) })
        #expect(c.receivedEOF(id))
        try c.receive(message(97) { $0.writeUInt32(id) })
        #expect(c.isFinished(id))
        #expect(c.takeOutput(id) == [1, 2, 3])
    }
}
