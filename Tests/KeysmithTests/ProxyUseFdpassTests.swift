import Foundation
import KeysmithTestSupport
import Testing

/// ProxyUseFdpass: the ProxyCommand (netcat-openbsd's `nc -F`) connects and passes the
/// socket back over its standard output; keysmith deploys over that socket as ssh talks
/// over it, proven by OpenSSH's ssh logging in with the new key. A command that exits
/// without passing one is one sentence and exit 1, as ssh fails.
@Suite("ProxyUseFdpass against OpenSSH's sshd")
struct ProxyUseFdpassTests {
    @Test("nc -F passes the connection: copy-id deploys over it; the same command relayed fails")
    func deploys() throws {
        let s = try CopyIDTests.Setup()
        let proxy = ["-o", "ProxyCommand=/usr/bin/nc -F %h %p"]
        // The control: relayed through its standard output, nc -F's message is no SSH
        // server, so the descriptor path is what makes the deploy below work.
        let relayed = try s.copy(proxy + ["-o", "ConnectTimeout=5"])
        #expect(relayed.status == 1, "\(relayed.stderr)")
        #expect(s.sshd.authorizedKeys() == nil)

        let r = try s.copy(proxy + ["-o", "ProxyUseFdpass=yes"])
        #expect(r.status == 0, "\(r.stderr)\n\(s.sshd.log)")
        #expect(s.sshd.authorizedKeys()?.contains(keyPart(try readText(s.key + ".pub"))) == true)
        let login = try s.sshd.sshLogin(identity: s.key, command: "id -un")
        #expect(login.status == 0 && login.stdout == s.sshd.user + "\n", "\(login.stderr)")
        // OpenSSH's ssh takes the same route.
        let ssh = try s.sshd.sshLogin(
            identity: s.key,
            command: "id -un",
            extraOptions: proxy + ["-o", "ProxyUseFdpass=yes"]
        )
        #expect(ssh.status == 0 && ssh.stdout == s.sshd.user + "\n", "\(ssh.stderr)")
    }

    @Test("a ProxyCommand that exits without passing a descriptor: one sentence, exit 1, as ssh fails")
    func nothingPassed() throws {
        let s = try CopyIDTests.Setup()
        let options = ["-o", "ProxyCommand=/usr/bin/false", "-o", "ProxyUseFdpass=yes"]
        let ssh = try s.sshd.sshLogin(identity: s.key, extraOptions: options)
        #expect(
            ssh.status == 255 && ssh.stderr.contains("proxy dialer did not pass back a connection"),
            "\(ssh.stderr)"
        )
        let r = try runProcess(
            "/usr/bin/timeout",
            ["-k", "5", "60", keysmithPath, "copy-id", "-i", s.key + ".pub", "-p", String(s.sshd.port)]
                + ["-o", "UserKnownHostsFile=\(s.knownHosts)", "--password-stdin"] + options + [s.destination],
            input: Data((s.sshd.password + "\n").utf8),
            environment: ["HOME": s.dir.path("home"), "SSH_AUTH_SOCK": ""]
        )
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(
            lines.last
                == "keysmith: \(s.destination): the ProxyCommand '/usr/bin/false' did not pass back a connection (ProxyUseFdpass), and exited with status 1.",
            "\(r.stderr)"
        )
        #expect(lines.count == 2 && lines[0].hasPrefix("keysmith: INFO: Source of key(s)"), "\(r.stderr)")
        #expect(s.sshd.authorizedKeys() == nil)
    }
}
