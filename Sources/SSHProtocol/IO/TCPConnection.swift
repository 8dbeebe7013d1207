#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One non-blocking TCP socket: connected with a time limit, then read, written and
/// polled by ``SSHClient``'s loop. Owns its descriptor and closes it once.
///
/// It may also be any connected stream socket handed over by an ``SSHByteStream`` (the end
/// of a socketpair whose other end a ProxyCommand or a jump host's tunnel serves); closing
/// it then lets that stream release what serves it.
final class TCPConnection {
    private var fd: Int32
    private var stream: SSHByteStream?

    /// The descriptor, for a poll(2) over several (a jump host's tunnel relay).
    var descriptor: Int32 { self.fd }

    /// How long to wait for the server's version line: ConnectTimeout, as ssh bounds its
    /// banner exchange by it (sshconnect.c); nil for a stream whose ConnectTimeout is unset
    /// (then the idle timeout).
    let versionTimeout: Double?

    /// Takes over `stream`'s socket.
    init(adopting stream: SSHByteStream) {
        self.fd = stream.takeDescriptor()
        self.stream = stream
        self.versionTimeout = stream.versionTimeout
    }

    /// Whether the socket is connected to a loopback address (sshconnect.c
    /// `sockaddr_is_local`: 127.0.0.0/8 or ::1); a socketpair from a stream is not.
    var isLoopbackPeer: Bool {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(self.fd, $0, &length) }
        }
        guard named == 0 else { return false }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    UInt32(bigEndian: $0.pointee.sin_addr.s_addr) >> 24 == 127
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    withUnsafeBytes(of: address.pointee.sin6_addr) {
                        Array($0) == [UInt8](repeating: 0, count: 15) + [1]
                    }
                }
            }
        default:
            return false
        }
    }

    /// `host:port`, or `[host]:port` for an IPv6 literal.
    static func describe(host: String, port: Int) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Resolves `host` (getaddrinfo, the addresses of `family`) and connects to each
    /// address in turn until one answers, giving each at most `connectTimeout` seconds and
    /// all of them no more than `deadline`; `attempts` rounds a second apart, as ssh's
    /// ConnectionAttempts (sshconnect.c `ssh_connect_direct`). With `bindAddress` the
    /// socket is bound to that local address first (BindAddress), else with `bindInterface`
    /// to that interface's address of the remote address's family (BindInterface).
    /// - Throws: `.connectionFailed` (unknown host, refused, unreachable) or `.timeout`.
    convenience init(
        host: String,
        port: Int,
        connectTimeout: Double,
        deadline: ContinuousClock.Instant,
        family: SSHAddressFamily = .any,
        bindAddress: String? = nil,
        bindInterface: String? = nil,
        attempts: Int = 1
    ) throws(SSHProtocolError) {
        let list = try resolveTCP(host, port: port, passive: false, family: family)
        defer { freeaddrinfo(list) }
        try self.init(
            addresses: list,
            peer: Self.describe(host: host, port: port),
            connectTimeout: connectTimeout,
            deadline: deadline,
            bindAddress: bindAddress,
            bindInterface: bindInterface,
            attempts: attempts
        )
    }

    /// Connects to each address of `list` in its order (getaddrinfo's, as ssh tries them),
    /// each for at most `connectTimeout` seconds, until one answers; `attempts` rounds.
    init(
        addresses list: UnsafeMutablePointer<addrinfo>,
        peer: String,
        connectTimeout: Double,
        deadline: ContinuousClock.Instant,
        bindAddress: String? = nil,
        bindInterface: String? = nil,
        attempts: Int = 1
    ) throws(SSHProtocolError) {
        self.versionTimeout = connectTimeout
        var lastError = SSHProtocolError(.connectionFailed, "cannot connect to \(peer): no address")
        for attempt in 0..<max(attempts, 1) {
            if attempt > 0 {
                if ContinuousClock.now + .seconds(1) >= deadline { break }
                sleep(1)
            }
            var cursor: UnsafeMutablePointer<addrinfo>? = list
            while let info = cursor {
                cursor = info.pointee.ai_next
                let attemptEnd = min(ContinuousClock.now + .seconds(connectTimeout), deadline)
                do {
                    self.fd = try Self.connect(
                        info.pointee,
                        peer: peer,
                        until: attemptEnd,
                        timeout: connectTimeout,
                        bindAddress: bindAddress,
                        bindInterface: bindInterface
                    )
                    return
                } catch {
                    lastError = error
                }
                if ContinuousClock.now >= deadline { break }
            }
        }
        throw lastError
    }

    deinit { self.close() }

    /// The address the socket is connected to, numeric (getpeername, then getnameinfo with
    /// NI_NUMERICHOST as sshconnect.c `get_hostfile_hostname_ipaddr` formats it); nil when
    /// it has none (a socketpair).
    var peerAddress: String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(self.fd, $0, &length) }
        }
        guard got == 0, storage.ss_family == sa_family_t(AF_INET) || storage.ss_family == sa_family_t(AF_INET6)
        else { return nil }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard rc == 0 else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func connect(
        _ info: addrinfo,
        peer: String,
        until end: ContinuousClock.Instant,
        timeout: Double,
        bindAddress: String?,
        bindInterface: String?
    ) throws(SSHProtocolError) -> Int32 {
        let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
        guard fd >= 0 else { throw SSHProtocolError(.connectionFailed, "cannot create a socket: \(errnoText())") }
        var keep = false
        defer { if !keep { systemClose(fd) } }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        var one: Int32 = 1
        // Authentication and exec are request/response exchanges of small packets.
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let bindAddress {
            // sshconnect.c `ssh_create_socket`: the local address, in the family of the remote one.
            var hints = addrinfo()
            hints.ai_family = info.ai_family
            hints.ai_socktype = info.ai_socktype
            hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
            var local: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(unbracketed(bindAddress), nil, &hints, &local)
            guard rc == 0, let local else {
                throw SSHProtocolError(
                    .connectionFailed,
                    "cannot bind to the BindAddress \(bindAddress) to reach \(peer): \(String(cString: gai_strerror(rc)))"
                )
            }
            defer { freeaddrinfo(local) }
            guard bind(fd, local.pointee.ai_addr, local.pointee.ai_addrlen) == 0 else {
                throw SSHProtocolError(
                    .connectionFailed,
                    "cannot bind to the BindAddress \(bindAddress) to reach \(peer): \(errnoText())"
                )
            }
        } else if let bindInterface {
            guard let found = interfaceAddress(bindInterface, family: info.ai_family) else {
                let family = info.ai_family == AF_INET6 ? "IPv6" : "IPv4"
                throw SSHProtocolError(
                    .connectionFailed,
                    "cannot connect to \(peer) from the BindInterface \(bindInterface): it has no \(family) address that is up"
                )
            }
            var local = found.address
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, found.length) }
            }
            guard bound == 0 else {
                throw SSHProtocolError(
                    .connectionFailed,
                    "cannot bind to the BindInterface \(bindInterface)'s address to reach \(peer): \(errnoText())"
                )
            }
        }

        if systemConnect(fd, info.ai_addr, info.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                throw SSHProtocolError(.connectionFailed, "cannot connect to \(peer): \(errnoText())")
            }
            while true {
                let remaining = end - ContinuousClock.now
                guard remaining > .zero else {
                    throw SSHProtocolError(
                        .timeout,
                        "connecting to \(peer) timed out after \(seconds(timeout)) seconds"
                    )
                }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let rc = poll(&pfd, 1, milliseconds(remaining))
                if rc < 0 && errno == EINTR { continue }
                if rc < 0 { throw SSHProtocolError(.connectionFailed, "cannot connect to \(peer): \(errnoText())") }
                if rc > 0 { break }
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else {
                throw SSHProtocolError(
                    .connectionFailed,
                    "cannot connect to \(peer): \(String(cString: strerror(error)))"
                )
            }
        }
        keep = true
        return fd
    }

    /// Waits until the socket is readable or writable as asked, or `end` passes.
    func wait(
        readable: Bool,
        writable: Bool,
        until end: ContinuousClock.Instant
    ) throws(SSHProtocolError) -> (readable: Bool, writable: Bool) {
        var events: Int16 = 0
        if readable { events |= Int16(POLLIN) }
        if writable { events |= Int16(POLLOUT) }
        var pfd = pollfd(fd: self.fd, events: events, revents: 0)
        let remaining = end - ContinuousClock.now
        let rc = poll(&pfd, 1, remaining > .zero ? milliseconds(remaining) : 0)
        if rc < 0 {
            if errno == EINTR { return (false, false) }
            throw SSHProtocolError(.connectionFailed, "poll failed: \(errnoText())")
        }
        let r = pfd.revents
        // HUP and ERR show up as readable: the read then reports EOF or the error.
        let ready = r & Int16(POLLIN | POLLHUP | POLLERR) != 0
        return (readable && ready, writable && r & Int16(POLLOUT) != 0)
    }

    /// Writes what the socket takes now; returns the count (0 when it would block).
    func write(_ bytes: ArraySlice<UInt8>) -> Result<Int, TCPError> {
        guard !bytes.isEmpty, self.fd >= 0 else { return .success(0) }
        let n = bytes.withUnsafeBytes { sendNoSignal(self.fd, $0.baseAddress!, $0.count) }
        if n >= 0 { return .success(n) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .success(0) }
        return .failure(TCPError(errnoText()))
    }

    /// Reads what has arrived; 0 means the peer closed, and a read that would block
    /// fails with `wouldBlock` set.
    func read(into buffer: inout [UInt8]) -> Result<Int, TCPError> {
        while true {
            let n = buffer.withUnsafeMutableBytes { systemRead(self.fd, $0.baseAddress!, $0.count) }
            if n >= 0 { return .success(n) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .failure(TCPError(wouldBlock: true)) }
            return .failure(TCPError(errnoText()))
        }
    }

    func close() {
        guard self.fd >= 0 else { return }
        self.stream?.prepareClose()
        systemClose(self.fd)
        self.fd = -1
        self.stream?.release()
        self.stream = nil
    }
}

/// A socket error's text, or a read that found nothing yet.
struct TCPError: Error, CustomStringConvertible {
    let description: String
    let wouldBlock: Bool
    init(_ description: String) {
        self.description = description
        self.wouldBlock = false
    }
    init(wouldBlock: Bool) {
        self.description = "no data yet"
        self.wouldBlock = wouldBlock
    }
}

/// A poll(2) timeout: whole milliseconds, rounded up, capped.
func milliseconds(_ duration: Duration) -> Int32 {
    let (secondsPart, attoseconds) = duration.components
    let ms = secondsPart * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: max(ms, 0))
}

// The methods above shadow these names inside the class.
private func systemClose(_ fd: Int32) { _ = close(fd) }
private func systemConnect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>!, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
private func systemRead(_ fd: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, pointer, count)
}

/// sshconnect.c `check_ifaddrs`: the first address of `family` on the interface named
/// `name` that is up (getifaddrs), preferring one that is neither loopback (127.0.0.1, ::1)
/// nor IPv6 link-local; nil when it has none.
func interfaceAddress(_ name: String, family: Int32) -> (address: sockaddr_storage, length: socklen_t)? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let list else { return nil }
    defer { freeifaddrs(list) }
    for allowLocal in [false, true] {
        var cursor: UnsafeMutablePointer<ifaddrs>? = list
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            guard let address = entry.pointee.ifa_addr, let entryName = entry.pointee.ifa_name,
                entry.pointee.ifa_flags & UInt32(IFF_UP) != 0, Int32(address.pointee.sa_family) == family,
                String(cString: entryName) == name
            else { continue }
            var storage = sockaddr_storage()
            var length: socklen_t
            if family == AF_INET {
                let v4 = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in.self)
                if !allowLocal && v4.sin_addr.s_addr == UInt32(0x7f00_0001).bigEndian { continue }
                length = socklen_t(MemoryLayout<sockaddr_in>.size)
            } else if family == AF_INET6 {
                let v6 = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
                let linkLocal = bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80
                let loopback = bytes.dropLast().allSatisfy { $0 == 0 } && bytes[15] == 1
                if !allowLocal && (linkLocal || loopback) { continue }
                length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            } else {
                continue
            }
            withUnsafeMutableBytes(of: &storage) {
                $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
            }
            return (storage, length)
        }
    }
    return nil
}

/// getaddrinfo(3) for TCP over IPv4 and IPv6 (or the one `family` names), `host` without the brackets of `[::1]`;
/// `passive` for an address to listen on. The caller frees the list with freeaddrinfo.
/// - Throws: `.connectionFailed` naming the host when it cannot be resolved.
func resolveTCP(
    _ host: String,
    port: Int,
    passive: Bool,
    family: SSHAddressFamily = .any
) throws(SSHProtocolError) -> UnsafeMutablePointer<addrinfo> {
    let name = unbracketed(host)
    var hints = streamHints(family: family, flags: (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV)
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(name, String(port), &hints, &list)
    guard rc == 0, let list else {
        throw SSHProtocolError(.connectionFailed, "cannot resolve \(name): \(String(cString: gai_strerror(rc)))")
    }
    return list
}

/// getaddrinfo(3) hints for TCP stream sockets of `family`.
func streamHints(family: SSHAddressFamily, flags: Int32) -> addrinfo {
    var hints = addrinfo()
    hints.ai_family = family.systemValue
    #if canImport(Glibc)
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #else
    hints.ai_socktype = SOCK_STREAM
    #endif
    hints.ai_flags = flags
    return hints
}

/// `host` without the brackets of an IPv6 literal such as `[::1]`.
func unbracketed(_ host: String) -> String {
    host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
}
