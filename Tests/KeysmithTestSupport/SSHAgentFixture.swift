import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH's ssh-agent (`ssh-agent -D -a SOCKET`) on a socket in a temporary folder, killed
/// on release.
public final class SSHAgentFixture: @unchecked Sendable {
    // @unchecked: every stored property is a constant.
    /// The folder holding the socket and the agent's log.
    public let directory: TempDir
    /// The agent's socket, for SSH_AUTH_SOCK.
    public let socket: String
    private let pid: Int32

    /// - Parameters:
    ///   - arguments: more ssh-agent options (`-P` for security key providers).
    ///   - environment: variables the agent runs with (its SSH_ASKPASS for `ssh-add -c`).
    public init(arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.directory = try TempDir()
        self.socket = self.directory.path("agent.sock")
        let variables = environment.map { "\($0.key)=\($0.value)" }
        // A daemon must not be a Foundation Process child (see spawnDaemon); env(1) sets its
        // variables and execs it, so the pid is the agent's.
        self.pid = try spawnDaemon(
            "/usr/bin/env",
            variables + ["/usr/bin/ssh-agent", "-D", "-a", self.socket] + arguments,
            log: self.directory.path("agent.log")
        )
        // ssh-agent binds (the socket file appears) before it listens: until then a client
        // is refused, so the agent is ready when a connection is accepted.
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(self.socket) {
            guard Date() < deadline else {
                kill(self.pid, SIGKILL)
                stopDaemon(self.pid)
                throw FixtureError("ssh-agent did not listen on \(self.socket)")
            }
            usleep(20_000)
        }
    }

    /// Whether a connection to the Unix socket at `path` is accepted.
    static func accepts(_ path: String) -> Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc == 0
    }

    deinit {
        // posix_spawn hands the test thread's signal mask to the child, and libdispatch's
        // worker threads block SIGTERM; ssh-agent's ppoll keeps that mask, so SIGTERM never
        // arrives. SIGKILL cannot be blocked; stopDaemon then reaps it.
        kill(self.pid, SIGKILL)
        stopDaemon(self.pid)
    }
}
