import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Many deploys to one account at the same moment, each a separate keysmith process: the
/// remote lock is held from reading authorized_keys to replacing it, so none gives up and
/// none loses another's key.
@Suite("Concurrent deploys to one account")
struct ConcurrencyTests {
    /// Starts every `copy-id` from one shell, records each `$!`, and waits on each pid.
    static let script = """
        pids=""
        for k in "$@"; do
            printf '%s\\n' "$PW" | "$KS" copy-id -i "$k.pub" -p "$PORT" -o UserKnownHostsFile="$KH" \
                -o StrictHostKeyChecking=yes -o PreferredAuthentications=password --password-stdin "$DEST" \
                > "$k.out" 2>&1 &
            pids="$pids $!"
        done
        failed=0
        for pid in $pids; do wait "$pid" || failed=$((failed + 1)); done
        exit "$failed"
        """

    @Test("sixteen copy-id processes at once: all sixteen keys present exactly once, the file valid, every key logs in")
    func sixteen() throws {
        let sshd = try SSHDFixture(extraConfig: ["MaxStartups 100"])
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: true)
        // A key already there must survive the stampede untouched.
        let existing = dir.path("existing")
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "existing", "-f", existing])
            .checked("ssh-keygen")
        let existingLine = try readText(existing + ".pub").trimmingCharacters(in: .newlines)
        try installAuthorizedKeys(sshd, Array((existingLine + "\n").utf8))

        let keys = try (0..<16).map { i in
            let path = dir.path("k\(i)")
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "k\(i)", "-f", path])
                .checked("ssh-keygen")
            return path
        }
        // spawnDaemon, not runProcess: the shell must not inherit the test thread's blocked
        // SIGCHLD, or dash never reaps the children it waits for.
        let environment = [
            "PW=\(sshd.password)", "KS=\(keysmithPath)", "PORT=\(sshd.port)", "KH=\(try sshd.knownHostsFile())",
            "DEST=\(sshd.user)@\(sshd.host)", "HOME=\(dir.path("home"))", "SSH_AUTH_SOCK=",
        ]
        let pid = try spawnDaemon(
            "/usr/bin/env",
            environment + ["/bin/sh", "-c", Self.script, "race"] + keys,
            log: dir.path("race.log")
        )
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let failures = (status >> 8) & 0xFF
        let outputs = keys.map { "\($0): " + ((try? readText($0 + ".out")) ?? "") }.joined(separator: "\n")
        #expect(status & 0x7F == 0 && failures == 0, "\(failures) processes failed:\n\(outputs)")

        let text = sshd.authorizedKeys() ?? ""
        let installed = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let expected = try [existingLine] + keys.map { try readText($0 + ".pub").trimmingCharacters(in: .newlines) }
        #expect(text.hasSuffix("\n"))
        #expect(installed.dropLast().count == expected.count, "\(installed)")
        #expect(Set(installed.dropLast()) == Set(expected))
        #expect(installed.first == existingLine, "the existing line moved")
        // ssh-keygen reads every line as a key.
        let listed = try runProcess(Tool.sshKeygen, ["-l", "-f", sshd.home + "/.ssh/authorized_keys"])
        #expect(listed.status == 0 && listed.stdout.split(separator: "\n").count == expected.count, "\(listed)")
        // No lock, snapshot or temporary file is left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: sshd.home + "/.ssh")
            .filter { $0 != "authorized_keys" }
        #expect(leftovers.isEmpty, "\(leftovers)")
        for key in [existing] + keys { #expect(try sshd.sshLogin(identity: key).status == 0, "\(key)") }
    }
}

/// Writes the account's authorized_keys (and ~/.ssh) owned by the account, as sshd wants them.
func installAuthorizedKeys(_ sshd: SSHDFixture, _ bytes: [UInt8]) throws {
    let dir = sshd.home + "/.ssh"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/authorized_keys"))
    _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", dir]).checked("chown")
    _ = try runProcess("/bin/chmod", ["700", dir]).checked("chmod")
    _ = try runProcess("/bin/chmod", ["600", dir + "/authorized_keys"]).checked("chmod")
}
