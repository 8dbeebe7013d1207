import Foundation
import KeysmithTestSupport
import Testing

/// `keysmith serve` against Python's paramiko, a client library that sends
/// SSH_MSG_SERVICE_REQUEST for `ssh-userauth` again before each authentication attempt
/// (its auth_handler's `_request_auth`), and the same client against OpenSSH's sshd, which
/// answers every such request and goes on counting attempts (auth2.c).
@Suite("keysmith serve with paramiko, compared with OpenSSH's sshd")
struct ServeParamikoTests {
    /// `login PORT USER KNOWN_HOSTS KEY...`: offers each Ed25519 key in turn until one is
    /// accepted, then runs `whoami` and prints its output; `none PORT USER KNOWN_HOSTS`:
    /// sends `none` requests until the server ends the connection (at most 20) and prints
    /// how many were answered with a failure. The host key must be in KNOWN_HOSTS.
    static let script = """
        import sys, paramiko
        mode, port, user, known = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
        trusted = {line.split()[2] for line in open(known) if line.strip()}
        t = paramiko.Transport(("127.0.0.1", port))
        t.start_client(timeout=20)
        if t.get_remote_server_key().get_base64() not in trusted:
            sys.exit("unknown host key")
        if mode == "none":
            answered = 0
            try:
                for _ in range(20):
                    try:
                        t.auth_none(user)
                    except paramiko.BadAuthenticationType:
                        answered += 1
            except (paramiko.SSHException, EOFError, OSError) as e:
                print("ended:", type(e).__name__, e, file=sys.stderr)
            print(answered)
        else:
            for path in sys.argv[5:]:
                try:
                    t.auth_publickey(user, paramiko.Ed25519Key(filename=path))
                except paramiko.AuthenticationException as e:
                    print("refused", path, type(e).__name__, e, file=sys.stderr)
                if t.is_authenticated():
                    break
            channel = t.open_session()
            channel.exec_command("whoami")
            sys.stdout.write(channel.makefile().read().decode())
            sys.exit(channel.recv_exit_status())
        """

    static func paramiko(_ arguments: [String]) throws -> ProcessResult {
        let result = try runProcess(Tool.python, ["-c", Self.script] + arguments)
        if result.stderr.contains("No module named 'paramiko'") {
            throw FixtureError("python3-paramiko is needed (make deps)")
        }
        return result
    }

    static func makeKey(_ path: String) throws {
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "k", "-f", path]).checked(
            "ssh-keygen"
        )
    }

    @Test("paramiko offering an unlisted key, then a listed one, logs in (as to sshd)")
    func secondKeyAfterUnlisted() throws {
        let server = try ServeFixture()
        let stranger = server.dir.path("stranger")
        try Self.makeKey(stranger)
        let listed = server.clientKeys["ed25519"]!
        let result = try Self.paramiko(
            ["login", String(server.port), "alice", server.knownHosts, stranger, listed]
        )
        #expect(result.status == 0, "\(result)\n\(server.log)")
        #expect(result.stdout == (try server.expectedLine(for: listed)) + "\n", "\(result)\n\(server.log)")
        #expect(result.stderr.contains("refused \(stranger)"), "\(result)")

        // The same client against OpenSSH's sshd, which answers every SERVICE_REQUEST.
        let sshd = try SSHDFixture()
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", try readText(listed + ".pub"), mode: 0o600)
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", ssh]).checked("chown")
        let reference = try Self.paramiko(
            ["login", String(sshd.port), sshd.user, try sshd.knownHostsFile(), stranger, listed]
        )
        #expect(reference.status == 0, "\(reference)\n\(sshd.log)")
        #expect(reference.stdout == sshd.user + "\n")
    }

    @Test("repeated none requests end the connection after as many failures as sshd allows (MaxAuthTries 6)")
    func repeatedNone() throws {
        let sshd = try SSHDFixture()
        let reference = try Self.paramiko(["none", String(sshd.port), sshd.user, try sshd.knownHostsFile()])
        #expect(reference.stdout == "6\n", "\(reference)\n\(sshd.log)")

        let server = try ServeFixture()
        let result = try Self.paramiko(["none", String(server.port), "alice", server.knownHosts])
        #expect(result.stdout == reference.stdout, "\(result)\n\(server.log)")
        #expect(server.log.contains("too many authentication failures"), "\(server.log)")
    }
}
