#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listening sockets and peer addresses for ``SSHServer``.
enum ServerSocket {
    /// Binds every address `address` resolves to (AI_PASSIVE, both families) and listens.
    static func listen(address: String, port: Int) throws(SSHProtocolError) -> [(fd: Int32, address: String, port: Int)]
    {
        let name = unbracketed(address)
        let list = try resolveTCP(address, port: port, passive: true)
        defer { freeaddrinfo(list) }
        var result: [(fd: Int32, address: String, port: Int)] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else {
                let text = errnoText()
                for bound in result { _ = close(bound.fd) }
                throw SSHProtocolError(.connectionFailed, "cannot create a socket: \(text)")
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if info.pointee.ai_family == AF_INET6 {
                // sshd binds IPv6 sockets to IPv6 only; 0.0.0.0 has its own socket.
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, systemListen(fd, 128) == 0 else {
                let text = errnoText()
                _ = close(fd)
                for bound in result { _ = close(bound.fd) }
                throw SSHProtocolError(.connectionFailed, "cannot listen on \(name) port \(port): \(text)")
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            let bound = Self.peer(of: storage)
            result.append((fd, bound.address, bound.port))
        }
        return result
    }

    /// The numeric address and port of a socket address; an IPv4-mapped IPv6 address is
    /// given as IPv4 (canohost.c `ipv64_normalise_mapped`).
    static func peer(of storage: sockaddr_storage) -> SSHPeer {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let length =
            Int32(storage.ss_family) == AF_INET6
            ? socklen_t(MemoryLayout<sockaddr_in6>.size) : socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo(
                    $0,
                    length,
                    &host,
                    socklen_t(host.count),
                    &service,
                    socklen_t(service.count),
                    NI_NUMERICHOST | NI_NUMERICSERV
                )
            }
        }
        guard rc == 0 else { return SSHPeer(address: "unknown", port: 0) }
        var address = cText(host)
        if address.hasPrefix("::ffff:") && address.dropFirst(7).allSatisfy({ $0 == "." || $0.isNumber }) {
            address = String(address.dropFirst(7))
        }
        return SSHPeer(address: address, port: Int(cText(service)) ?? 0)
    }
}

private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }

/// A NUL-terminated C buffer as text.
private func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A mutex with a condition variable.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(self.mutex, nil)
        pthread_cond_init(self.condition, nil)
    }

    deinit {
        pthread_cond_destroy(self.condition)
        pthread_mutex_destroy(self.mutex)
        self.condition.deallocate()
        self.mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(self.mutex)
        defer { pthread_mutex_unlock(self.mutex) }
        return try body()
    }

    /// Waits until `condition` holds (checked under the lock after each ``broadcast()``).
    func wait(until condition: () -> Bool) {
        pthread_mutex_lock(self.mutex)
        defer { pthread_mutex_unlock(self.mutex) }
        while !condition() { pthread_cond_wait(self.condition, self.mutex) }
    }

    func broadcast() {
        pthread_mutex_lock(self.mutex)
        pthread_cond_broadcast(self.condition)
        pthread_mutex_unlock(self.mutex)
    }
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Runs `body` on a new detached thread.
func startThread(_ body: @escaping @Sendable () -> Void) throws(SSHProtocolError) {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    #if canImport(Glibc)
    var thread = pthread_t()
    #else
    var thread: pthread_t? = nil
    #endif
    let rc = pthread_create(
        &thread,
        nil,
        { argument in
            guard let argument else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(argument).takeRetainedValue().body()
            return nil
        },
        box
    )
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(box).release()
        throw SSHProtocolError(.connectionFailed, "cannot start a thread: \(String(cString: strerror(rc)))")
    }
    #if canImport(Glibc)
    pthread_detach(thread)
    #else
    if let thread { pthread_detach(thread) }
    #endif
}
