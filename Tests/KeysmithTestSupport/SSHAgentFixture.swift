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
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: self.socket) {
            guard Date() < deadline else {
                kill(self.pid, SIGKILL)
                stopDaemon(self.pid)
                throw FixtureError("ssh-agent did not create \(self.socket)")
            }
            usleep(20_000)
        }
    }

    deinit {
        // posix_spawn hands the test thread's signal mask to the child, and libdispatch's
        // worker threads block SIGTERM; ssh-agent's ppoll keeps that mask, so SIGTERM never
        // arrives. SIGKILL cannot be blocked; stopDaemon then reaps it.
        kill(self.pid, SIGKILL)
        stopDaemon(self.pid)
    }
}
