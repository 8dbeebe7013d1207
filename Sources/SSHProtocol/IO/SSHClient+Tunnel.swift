import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SSHClient {
    /// Opens a `direct-tcpip` channel to `host`:`port` (RFC 4254 §7.2, what `ssh -W` and
    /// ProxyJump ask of a jump host) and returns it as a stream another client connects over.
    ///
    /// The client is handed to a thread that relays between the channel and one end of a
    /// socketpair (the stream is the other end) until either side closes: use it no more.
    /// Closing the client connected over the stream ends the relay and closes this client.
    ///
    /// - Parameter timeout: seconds to wait for the jump host to open it (it connects to
    ///   `host` first), and then for the version line of the server behind it; the idle
    ///   timeout by default.
    /// - Throws: `.channelFailure` naming this host when it refuses the tunnel
    ///   (`AllowTcpForwarding no`, `PermitOpen`, nothing listening there).
    public func openTunnel(host: String, port: Int, timeout: Double? = nil) throws(SSHProtocolError) -> SSHByteStream {
        try self.checkUsable()
        let target = TCPConnection.describe(host: host, port: port)
        let id = self.connection.openDirectTCPIP(host: host, port: port)
        try self.pump("while opening a tunnel to \(target)", idle: timeout) {
            self.connection.isRunning(id) || self.connection.isFinished(id)
        }
        if self.connection.isFinished(id) {
            _ = try self.connection.takeResult(id)
            throw SSHProtocolError(.channelFailure, "\(self.peer) closed the tunnel to \(target) as it opened")
        }
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, socketStreamType | socketCloseOnExec, 0, &ends) == 0 else {
            throw SSHProtocolError(.connectionFailed, "cannot create a socket for the tunnel: \(errnoText())")
        }
        for fd in ends { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK) }
        let relay = TunnelRelay(client: self, channel: id, local: ends[0])
        let ended = RelayEnd()
        do {
            try startThread {
                relay.run()
                ended.finish()
            }
        } catch {
            _ = Glibc.close(ends[0])
            _ = Glibc.close(ends[1])
            throw SSHProtocolError(.connectionFailed, "\(error.message) for the tunnel through \(self.peer)")
        }
        return SSHByteStream(
            descriptor: ends[1],
            label: "the jump host \(self.peer)",
            versionTimeout: timeout,
            onRelease: { ended.wait() },
            diagnose: { relay.failure }
        )
    }

    /// Moves bytes between channel `id` and the socket `local` until the channel closes or
    /// `local` does: data from `local` goes out within the server's window, and the server's
    /// data is taken from the channel (refilling its window) only as fast as `local` takes
    /// it, so neither side buffers more than a window.
    fileprivate func relay(_ id: UInt32, local: Int32) throws(SSHProtocolError) {
        let limit = 256 * 1024
        var toLocal: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var localOpen = true
        var shutDown = false
        while true {
            if toLocal.count < limit && self.connection.hasOutput(id) { toLocal += self.connection.takeOutput(id) }
            for payload in self.connection.takeOutbound() { try self.send(payload) }
            self.outgoing += self.transport.takeOutbound()
            let flushed = self.outgoingOffset == self.outgoing.count
            if flushed {
                self.outgoing.removeAll(keepingCapacity: true)
                self.outgoingOffset = 0
            }
            let drained = toLocal.isEmpty && !self.connection.hasOutput(id)
            if !localOpen && flushed { return }
            if drained && self.connection.isFinished(id) {
                _ = try? self.connection.takeResult(id)
                return
            }
            if drained && !shutDown && self.connection.receivedEOF(id) {
                // The far end sent EOF: pass it on, and keep sending what comes from `local`.
                shutdown(local, Int32(SHUT_WR))
                shutDown = true
            }

            var localEvents: Int16 = 0
            if localOpen && self.connection.pendingInput(id) < limit { localEvents |= Int16(POLLIN) }
            if !toLocal.isEmpty { localEvents |= Int16(POLLOUT) }
            var remoteEvents = Int16(POLLIN)
            if !flushed { remoteEvents |= Int16(POLLOUT) }
            var fds = [
                pollfd(fd: self.socket.descriptor, events: remoteEvents, revents: 0),
                pollfd(fd: local, events: localEvents, revents: 0),
            ]
            let rc = poll(&fds, 2, 5000)
            if rc < 0 {
                if errno == EINTR { continue }
                throw SSHProtocolError(.connectionFailed, "poll failed: \(errnoText())")
            }
            let ready = Int16(POLLIN | POLLHUP | POLLERR)

            if fds[1].revents & Int16(POLLOUT) != 0 && !toLocal.isEmpty {
                let n = toLocal.withUnsafeBytes { sendNoSignal(local, $0.baseAddress!, $0.count) }
                if n > 0 {
                    toLocal.removeFirst(n)
                } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    toLocal.removeAll()
                    localOpen = false
                    self.connection.closeChannel(id)
                }
            }
            if localOpen && fds[1].revents & ready != 0 && localEvents & Int16(POLLIN) != 0 {
                let n = buffer.withUnsafeMutableBytes { read(local, $0.baseAddress!, $0.count) }
                if n > 0 {
                    self.connection.send(Array(buffer[..<n]), on: id)
                } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    // The connection over the tunnel has ended: close the channel.
                    localOpen = false
                    self.connection.closeChannel(id)
                }
            }
            if fds[0].revents & Int16(POLLOUT) != 0 && !flushed {
                switch self.socket.write(self.outgoing[self.outgoingOffset...]) {
                case .success(let n): self.outgoingOffset += n
                case .failure(let error):
                    throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) broke: \(error)")
                }
            }
            if fds[0].revents & ready != 0 {
                switch self.socket.read(into: &buffer) {
                case .success(0):
                    throw SSHProtocolError(
                        .disconnected,
                        "\(self.peer) closed the connection while it carried the tunnel"
                    )
                case .success(let n):
                    let events: [SSHTransportEvent]
                    do {
                        events = try self.transport.receive(buffer[..<n])
                    } catch {
                        throw self.named(error)
                    }
                    for event in events {
                        switch event {
                        case .ready(let sessionID): self.sessionID = sessionID
                        case .payload(let payload): try self.dispatch(payload)
                        }
                    }
                case .failure(let error) where error.wouldBlock:
                    break
                case .failure(let error):
                    throw SSHProtocolError(.connectionFailed, "the connection to \(self.peer) broke: \(error)")
                }
            }
        }
    }
}

/// One tunnel's relay: the jump host's client, driven by the relay thread alone once it
/// starts, and what broke it.
private final class TunnelRelay: @unchecked Sendable {
    // @unchecked: `client` is touched by the relay thread only; `failureBox` is a Mutex.
    private let client: SSHClient
    private let channel: UInt32
    private let local: Int32
    private let failureBox = Mutex<SSHProtocolError?>(nil)

    init(client: SSHClient, channel: UInt32, local: Int32) {
        self.client = client
        self.channel = channel
        self.local = local
    }

    /// Why the relay ended early, naming the jump host; nil while it runs or when it ended cleanly.
    var failure: SSHProtocolError? { self.failureBox.withLock { $0 } }

    func run() {
        do {
            try self.client.relay(self.channel, local: self.local)
        } catch {
            let named = self.client.named(error)
            self.failureBox.withLock { $0 = named }
        }
        _ = close(self.local)
        self.client.close()
    }
}

/// The end of a relay's thread, waited for by whoever closes the connection over it.
private final class RelayEnd: @unchecked Sendable {
    // @unchecked: `ended` is read and written under `lock`.
    private let lock = ConditionLock()
    private var ended = false

    func finish() {
        self.lock.withLock { self.ended = true }
        self.lock.broadcast()
    }

    func wait() { self.lock.wait { self.ended } }
}
