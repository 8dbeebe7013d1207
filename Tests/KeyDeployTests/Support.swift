import Foundation
import KeysmithTestSupport
import SSHKeys

@testable import KeyDeploy

/// Runs KeyDeploy's commands through OpenSSH's `ssh` with the fixture's password (sshpass),
/// so the remote script is exercised on the real sshd before keysmith's own client is used.
struct OpenSSHRunner: RemoteCommandRunner {
    let sshd: SSHDFixture

    func run(_ command: String, stdin: [UInt8]) throws -> RemoteCommandResult {
        let r = try runProcess(
            "/usr/bin/sshpass",
            [
                "-e", "/usr/bin/ssh", "-F", "/dev/null", "-o", "BatchMode=no", "-o", "PubkeyAuthentication=no",
                "-o", "PreferredAuthentications=password", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=\(try self.sshd.knownHostsFile())", "-o", "NumberOfPasswordPrompts=1",
                "-p", String(self.sshd.port), "\(self.sshd.user)@\(self.sshd.host)", command,
            ],
            input: Data(stdin),
            environment: ["SSHPASS": self.sshd.password]
        )
        return RemoteCommandResult(
            exitStatus: r.status == 255 ? nil : r.status,
            stdout: Array(r.stdoutData),
            stderr: Array(r.stderrData)
        )
    }
}

/// A fresh Ed25519 key pair made by ssh-keygen: (private key path, public line).
func makeKey(_ dir: TempDir, _ name: String, comment: String = "test") throws -> (path: String, line: String) {
    let path = dir.path(name)
    _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]).checked(
        "ssh-keygen"
    )
    let line = try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
    return (path, line)
}

/// Writes a file into the test account's home, owned by the account.
func writeAsUser(_ sshd: SSHDFixture, _ relative: String, _ bytes: [UInt8], mode: Int = 0o600) throws {
    let path = sshd.home + "/" + relative
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    _ = try runProcess("/bin/chown", ["\(sshd.user):\(sshd.user)", dir]).checked("chown")
    _ = try runProcess("/bin/chmod", ["700", dir]).checked("chmod")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    _ = try runProcess("/bin/chown", ["\(sshd.user):\(sshd.user)", path]).checked("chown")
    _ = try runProcess("/bin/chmod", [String(mode, radix: 8), path]).checked("chmod")
}

/// The bytes of the account's authorized_keys (empty when missing).
func authorizedKeysBytes(_ sshd: SSHDFixture) -> [UInt8] {
    (try? Array(readBytes(sshd.home + "/.ssh/authorized_keys"))) ?? []
}

/// The lock's timings for tests whose stale lock has no live holder: stale after a second
/// (the standard 20 s scaled down), so a takeover costs a second, not twenty.
let quickLock = LockTiming.scaled(staleAfter: .seconds(1))

/// The names in a directory, sorted.
func entries(_ path: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: path).sorted()
}

/// Events in the order they happened, from any thread.
final class Events: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var events: [String] = []
    func add(_ event: String) { self.lock.withLock { self.events.append(event) } }
    var all: [String] { self.lock.withLock { self.events } }
}
