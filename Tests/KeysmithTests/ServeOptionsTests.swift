import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("keysmith serve honours authorized_keys options as sshd does")
struct ServeOptionsTests {
    @Test("from= that excludes 127.0.0.1 refuses; from= that includes it accepts")
    func fromOption() throws {
        let server = try ServeFixture(authorizedKeys: { keys in
            """
            from="10.0.0.0/8,!192.0.2.1" \(keys["ed25519"])
            from="127.0.0.0/8" \(keys["rsa"])
            from="*,!127.0.0.1" \(keys["ecdsa"])

            """
        })
        let excluded = try server.sshLogin(identity: server.clientKeys["ed25519"]!)
        #expect(excluded.status == 255, "\(excluded)")
        #expect(excluded.stdout.isEmpty)
        let included = try server.sshLogin(identity: server.clientKeys["rsa"]!)
        #expect(included.status == 0, "\(included)\n\(server.log)")
        let negated = try server.sshLogin(identity: server.clientKeys["ecdsa"]!)
        #expect(negated.status == 255, "\(negated)")
        #expect(server.log.contains("not permitted by from="))
    }

    @Test("an expiry-time in the past refuses; one in the future accepts")
    func expiryTime() throws {
        let server = try ServeFixture(authorizedKeys: { keys in
            """
            expiry-time="20000101" \(keys["ed25519"])
            expiry-time="20990101" \(keys["rsa"])

            """
        })
        let past = try server.sshLogin(identity: server.clientKeys["ed25519"]!)
        #expect(past.status == 255, "\(past)")
        let future = try server.sshLogin(identity: server.clientKeys["rsa"]!)
        #expect(future.status == 0, "\(future)\n\(server.log)")
        #expect(server.log.contains("expired"))
    }

    @Test("a key listed only as cert-authority is refused: the line vouches for certificates, not for its key")
    func certAuthority() throws {
        let server = try ServeFixture(authorizedKeys: { keys in "cert-authority \(keys["ed25519"])\n" })
        let result = try server.sshLogin(identity: server.clientKeys["ed25519"]!)
        #expect(result.status == 255, "\(result)")
        #expect(server.log.contains("cert-authority"))
    }

    @Test("authorized_keys is read for each login: a key added later is accepted")
    func rereadsFile() throws {
        let server = try ServeFixture(authorizedKeys: { keys in keys["rsa"] + "\n" })
        let key = server.clientKeys["ed25519"]!
        #expect(try server.sshLogin(identity: key).status == 255)
        let line = try readText(key + ".pub")
        try writeText(server.authorizedKeys, try readText(server.authorizedKeys) + line, mode: 0o600)
        let result = try server.sshLogin(identity: key)
        #expect(result.status == 0, "\(result)\n\(server.log)")
    }

    /// A wall-clock time `offset` seconds from now in UTC, as `YYYYMMDDHHMM`.
    static func utcWallClock(offset: Int) -> String {
        var t = time(nil) + offset
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))\(two(parts.tm_hour))\(two(parts.tm_min))"
    }

    /// Under a non-UTC TZ a plain expiry-time is local time and a `Z` one is UTC. The same
    /// lines go to `keysmith serve` and to a real sshd, each started with that TZ, and
    /// both must let in exactly the same keys.
    ///
    /// Two hours ago in UTC wall-clock time is three hours ahead in New York but eleven
    /// hours ago in Tokyo, so the plain line lets in only under New York.
    @Test("expiry-time under a non-UTC TZ agrees with sshd", arguments: ["America/New_York", "Asia/Tokyo", "UTC"])
    func expiryTimeTimeZone(zone: String) throws {
        let twoHoursAgo = Self.utcWallClock(offset: -7200)
        let inTwoHours = Self.utcWallClock(offset: 7200)
        let lines: (ServeFixture.Keys) -> String = { keys in
            """
            expiry-time="\(twoHoursAgo)" \(keys["ed25519"])
            expiry-time="\(twoHoursAgo)Z" \(keys["rsa"])
            expiry-time="\(inTwoHours)" \(keys["ecdsa"])

            """
        }
        let expected: [String: Bool] =
            switch zone {
            case "America/New_York": ["ed25519": true, "rsa": false, "ecdsa": true]
            case "Asia/Tokyo": ["ed25519": false, "rsa": false, "ecdsa": false]
            default: ["ed25519": false, "rsa": false, "ecdsa": true]
            }
        let server = try ServeFixture(authorizedKeys: lines, environment: ["TZ": zone])
        let sshd = try ZonedSSHD(zone: zone, authorizedKeys: lines(ServeFixture.Keys(lines: server.publicLines)))
        for type in ["ed25519", "rsa", "ecdsa"] {
            let key = server.clientKeys[type]!
            let ours = try server.sshLogin(identity: key).status == 0
            let theirs = try sshd.login(identity: key).status == 0
            #expect(theirs == expected[type], "sshd under TZ=\(zone) on the \(type) line\n\(sshd.fixture.log)")
            #expect(ours == theirs, "keysmith serve under TZ=\(zone) on the \(type) line\n\(server.log)")
        }
    }
}

/// A second sshd beside an ``SSHDFixture``'s, with the fixture's configuration, user and host
/// keys, started under `TZ=zone` (the fixture's own sshd inherits the test's environment).
final class ZonedSSHD: @unchecked Sendable {
    // @unchecked: the process id is only touched in init and deinit.
    let fixture: SSHDFixture
    let port: Int
    private let pid: pid_t

    init(zone: String, authorizedKeys: String) throws {
        let fixture = try SSHDFixture()
        self.fixture = fixture
        let ssh = fixture.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", authorizedKeys, mode: 0o600)
        _ = try runProcess("/bin/chown", ["-R", "\(fixture.user):", ssh]).checked("chown")
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")

        let original = try readText(fixture.directory.path("sshd_config"))
        var lastError = ""
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let config = original.split(separator: "\n").map { line -> String in
                if line.hasPrefix("Port ") { return "Port \(port)" }
                if line.hasPrefix("PidFile ") { return "PidFile \(fixture.directory.path("zoned.pid"))" }
                return String(line)
            }
            let path = fixture.directory.path("zoned_config")
            try writeText(path, config.joined(separator: "\n") + "\n")
            let log = fixture.directory.path("sshd.log")
            let pid = try spawnDaemon(
                "/usr/bin/env",
                ["TZ=\(zone)", "/usr/sbin/sshd", "-f", path, "-D", "-e"],
                log: log
            )
            if waitForLoopbackListener(port: port) {
                self.port = port
                self.pid = pid
                return
            }
            stopDaemon(pid)
            lastError = fixture.log
        }
        throw FixtureError("the second sshd did not start: \(lastError)")
    }

    deinit { stopDaemon(self.pid) }

    func login(identity: String) throws -> ProcessResult {
        let knownHosts = try self.fixture.knownHostsFile()
        return try runProcess(
            Tool.ssh,
            [
                "-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "ConnectTimeout=20", "-p", String(self.port),
                "\(self.fixture.user)@127.0.0.1", "true",
            ]
        )
    }
}

/// A loopback port that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FixtureError("socket failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    guard bound == 0 else { throw FixtureError("bind failed") }
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Whether something accepts connections on 127.0.0.1:`port` within `seconds`.
func waitForLoopbackListener(port: Int, seconds: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let fd = connectLoopback(port: port)
        if fd >= 0 {
            close(fd)
            return true
        }
        usleep(50_000)
    }
    return false
}
