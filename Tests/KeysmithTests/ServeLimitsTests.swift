import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("keysmith serve under junk and idle connections")
struct ServeLimitsTests {
    /// Writes `bytes` to a new connection and reads until the server closes it; true when
    /// it closed (each wait is bounded, so a server that never closes fails, not hangs).
    static func sendAndWaitForClose(port: Int, _ bytes: [UInt8]) -> Bool {
        let fd = connectLoopback(port: port)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return waitForClose(fd)
    }

    static func waitForClose(_ fd: Int32, polls: Int = 10) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<polls {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) > 0 else { return false }
            if read(fd, &buffer, buffer.count) <= 0 { return true }
        }
        return false
    }

    @Test("random bytes, a bad version, a huge packet length and garbage after KEXINIT are dropped; ssh still logs in")
    func junk() throws {
        let server = try ServeFixture()
        var randomBytes = [UInt8](repeating: 0, count: 4096)
        for i in randomBytes.indices { randomBytes[i] = UInt8.random(in: 0...255) }
        randomBytes[0] = 0x00
        let hugePacket = Array("SSH-2.0-junk\r\n".utf8) + [0x7F, 0xFF, 0xFF, 0xFF] + Array(repeating: 0, count: 64)
        let garbage = Array("SSH-2.0-junk\r\n".utf8) + [0, 0, 0, 12, 4, 20] + Array(repeating: 0xEE, count: 10)
        let cases: [(String, [UInt8])] = [
            ("random bytes", randomBytes),
            ("an SSH-1 version", Array("SSH-1.5-old\r\n".utf8)),
            ("a banner line before the version", Array("hello\r\nSSH-2.0-x\r\n".utf8)),
            ("a version line without end", Array(repeating: UInt8(ascii: "S"), count: 9000)),
            ("a huge packet length", hugePacket),
            ("a malformed KEXINIT", garbage),
        ]
        for (name, bytes) in cases {
            #expect(Self.sendAndWaitForClose(port: server.port, bytes), "the server closes after \(name)")
        }
        let key = server.clientKeys["ed25519"]!
        let result = try server.sshLogin(identity: key)
        #expect(result.status == 0, "\(result)\n\(server.log)")
        #expect(result.stdout == (try server.expectedLine(for: key)) + "\n")
        #expect(server.log.contains("outcome=error"))
    }

    @Test("idle connections beyond --max-startups are dropped; after the grace time ssh logs in")
    func idleConnections() throws {
        let server = try ServeFixture(arguments: ["--max-startups", "3", "--login-grace-time", "2"])
        let idle = (0..<3).map { _ in connectLoopback(port: server.port) }
        defer { for fd in idle where fd >= 0 { close(fd) } }
        for fd in idle {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&pfd, 1, 10_000) > 0, "an admitted connection gets the version line")
        }
        // A fourth connection is closed without a word.
        let extra = connectLoopback(port: server.port)
        var buffer = [UInt8](repeating: 0, count: 256)
        var pfd = pollfd(fd: extra, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pfd, 1, 10_000) > 0)
        #expect(read(extra, &buffer, buffer.count) == 0, "the connection past the cap is closed at once")
        close(extra)
        // The idle ones are closed by the login grace time; then a login gets through.
        for fd in idle { #expect(Self.waitForClose(fd), "the grace time closes an idle connection") }
        let key = server.clientKeys["rsa"]!
        let result = try server.sshLogin(identity: key)
        #expect(result.status == 0, "\(result)\n\(server.log)")
        #expect(server.log.contains("reason=max-startups"))
        #expect(server.log.contains("reason=\"login grace time\""))
    }

    @Test("six failed keys end the connection, as MaxAuthTries 6")
    func maxAuthTries() throws {
        let server = try ServeFixture()
        var identities: [String] = []
        for i in 0..<7 {
            let path = server.dir.path("stranger\(i)")
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", path]).checked("ssh-keygen")
            identities += ["-i", path]
        }
        let result = try runProcess(
            Tool.ssh,
            server.sshArguments(identity: nil, options: identities + ["-o", "BatchMode=yes"])
                + ["alice@127.0.0.1", "true"]
        )
        #expect(result.status == 255)
        #expect(result.stderr.contains("Too many authentication failures"), "\(result)")
    }

    /// A field of /proc/PID/status, in its unit (kB for memory).
    static func status(_ pid: pid_t, _ field: String) -> Int? {
        guard let text = try? readText("/proc/\(pid)/status"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
        else { return nil }
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
    }

    @Test(
        "hundreds of junk connections: ssh logs in during the flood and after, threads and memory come back down"
    )
    func flood() throws {
        let server = try ServeFixture(arguments: ["--max-startups", "64", "--login-grace-time", "3"])
        let key = server.clientKeys["ed25519"]!
        let expected = try server.expectedLine(for: key) + "\n"
        #expect(try server.sshLogin(identity: key).stdout == expected)
        let threadsBefore = try #require(Self.status(server.pid, "Threads"))

        // Eight threads of junk connections, of six kinds in turn: random bytes, a bad
        // version, an endless version line, a 2^31 packet length, a malformed KEXINIT (the
        // server closes each), and a packet cut short (the client hangs up). Each thread
        // makes at least 40 and keeps going until OpenSSH's logins below are done.
        let version = Array("SSH-2.0-junk\r\n".utf8)
        let kinds: [[UInt8]] = [
            (0..<2048).map { _ in UInt8.random(in: 0...255) },
            Array("SSH-1.5-old\r\n".utf8),
            Array(repeating: UInt8(ascii: "S"), count: 9000),
            version + [0x7F, 0xFF, 0xFF, 0xFF] + Array(repeating: 0, count: 64),
            version + [0, 0, 0, 12, 4, 20] + Array(repeating: 0xEE, count: 10),
            version + [0, 0, 0x10, 0, 6] + Array(repeating: 0x14, count: 40),
        ]
        let made = Tally()
        let closedByServer = Tally()
        let hungUp = Tally()
        let loginsDone = Tally()
        // Threads of their own: the shared pool may be busy with other suites.
        let finished = DispatchSemaphore(value: 0)
        for thread in 0..<8 {
            Thread.detachNewThread {
                var i = 0
                while i < 40 || loginsDone.count == 0 {
                    let kind = (thread + i) % kinds.count
                    i += 1
                    made.add()
                    if kind == kinds.count - 1 {
                        let fd = connectLoopback(port: server.port)
                        guard fd >= 0 else { continue }
                        _ = kinds[kind].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        close(fd)
                        hungUp.add()
                    } else if Self.sendAndWaitForClose(port: server.port, kinds[kind]) {
                        closedByServer.add()
                    }
                }
                finished.signal()
            }
        }
        while made.count < 8 { usleep(1000) }
        // OpenSSH logs in while the flood runs.
        var loginsDuring = 0
        for _ in 0..<5 {
            let r = try server.sshLogin(identity: key)
            #expect(r.status == 0 && r.stdout == expected, "a login during the flood: \(r)")
            if r.status == 0 { loginsDuring += 1 }
        }
        let madeDuringLogins = made.count
        loginsDone.add()
        for _ in 0..<8 { finished.wait() }
        let junk = made.count
        #expect(junk >= 320)
        // Every connection the server had to close, it closed (each wait is bounded).
        #expect(
            closedByServer.count + hungUp.count == junk,
            "the server closed \(closedByServer.count) of \(junk - hungUp.count)"
        )

        // 150 idle sockets at once: 64 are admitted and closed by the grace time, the rest at once.
        let idle = (0..<150).map { _ in connectLoopback(port: server.port) }
        var closed = 0
        for fd in idle where fd >= 0 {
            if Self.waitForClose(fd) { closed += 1 }
            close(fd)
        }
        #expect(closed == 150, "idle connections closed: \(closed) of 150")

        let after = try server.sshLogin(identity: key)
        #expect(after.status == 0 && after.stdout == expected, "\(after)\n\(server.log.suffix(2000))")
        // Every connection thread has ended; the memory stays bounded.
        var threads = Self.status(server.pid, "Threads") ?? -1
        for _ in 0..<100 where threads > threadsBefore {
            usleep(100_000)
            threads = Self.status(server.pid, "Threads") ?? -1
        }
        #expect(threads <= threadsBefore, "threads: \(threads) after, \(threadsBefore) before")
        let peak = Self.status(server.pid, "VmHWM") ?? 0
        let resident = Self.status(server.pid, "VmRSS") ?? 0
        #expect(peak > 0 && peak < 256 * 1024, "peak resident memory \(peak) kB")
        print(
            "ServeLimitsTests.flood: \(junk) junk connections (\(madeDuringLogins) while ssh logged in), \(closedByServer.count) closed by the server, \(closed) of 150 idle closed, \(loginsDuring) of 5 ssh logins during the flood succeeded; threads \(threadsBefore) before, \(threads) after; resident \(resident) kB, peak \(peak) kB"
        )
    }

    @Test("SIGTERM stops the server; the port is free again")
    func sigterm() throws {
        let port: Int
        do {
            let server = try ServeFixture()
            port = server.port
            #expect(try server.sshLogin(identity: server.clientKeys["ecdsa"]!).status == 0)
        }
        // The fixture's deinit sent SIGTERM and reaped the process.
        #expect(connectLoopback(port: port) < 0)
    }
}

/// A count that several threads add to.
final class Tally: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var value = 0

    func add() { self.lock.withLock { self.value += 1 } }
    var count: Int { self.lock.withLock { self.value } }
}
