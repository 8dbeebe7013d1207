import Foundation
import KeysmithTestSupport
import Testing

/// Destinations that are IPv6 literals, against an sshd listening on ::1 as well as
/// 127.0.0.1: `ssh://user@[::1]:PORT`, `user@[::1]:PORT` and `user@[::1]` with -p. Each deploy is
/// proven by OpenSSH's ssh logging in over ::1 with the key.
@Suite("IPv6 destinations against sshd on ::1")
struct IPv6DestinationTests {
    /// Whether lo carries ::1 (the kernel lists it in /proc/net/if_inet6).
    static var loopbackIPv6: Bool {
        let table = (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains {
            $0.hasPrefix("00000000000000000000000000000001") && $0.hasSuffix(" lo")
        }
    }

    @Test(
        "copy-id, list-ids and remove-id reach sshd on ::1 by each IPv6 form",
        arguments: ["ssh://USER@[::1]:PORT", "USER@[::1]:PORT", "USER@[::1] -p PORT"]
    )
    func forms(form: String) throws {
        guard Self.loopbackIPv6 else {
            Issue.record("IPv6 is not available on lo (no ::1 in /proc/net/if_inet6): these tests cannot run")
            return
        }
        let sshd = try SSHDFixture(extraConfig: ["ListenAddress ::1"])
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: true)
        let key = dir.path("id_ed25519")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "v6@test", "-f", key]).checked("ssh-keygen")
        let knownHosts = dir.path("known_hosts")
        let words = form.replacingOccurrences(of: "USER", with: sshd.user)
            .replacingOccurrences(of: "PORT", with: String(sshd.port)).split(separator: " ").map(String.init)
        func run(_ command: String, _ extra: [String]) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=accept-new",
                    "--password-stdin",
                ]
                    + extra + Array(words.dropFirst()) + [words[0]],
                input: Data((sshd.password + "\n").utf8),
                environment: ["HOME": dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }
        let r = try run("copy-id", ["-i", key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(sshd.log)")
        #expect(sshd.log.contains("from ::1 port"), "sshd saw the connection come over IPv6: \(sshd.log)")
        #expect(try readText(knownHosts).hasPrefix("[::1]:\(sshd.port) "), "known_hosts names [::1]:PORT")
        let login = try runProcess(
            Tool.ssh,
            [
                "-F", "/dev/null", "-6", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes", "-p", String(sshd.port),
                "\(sshd.user)@::1", "id -un",
            ]
        )
        #expect(login.status == 0 && login.stdout == sshd.user + "\n", "\(login)\n\(sshd.log)")
        let list = try run("list-ids", [])
        #expect(list.stdout.contains("v6@test"), "\(list)")
        #expect(try run("remove-id", ["-i", key + ".pub"]).status == 0)
        #expect(sshd.authorizedKeys() == "")
    }
}
