import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ServerAliveInterval / ServerAliveCountMax and RekeyLimit against OpenSSH's sshd.
@Suite("keepalives and re-keys against OpenSSH's sshd")
struct KeepaliveRekeyInteropTests {
    func connect(_ sshd: SSHDFixture, _ adjust: (inout SSHClientOptions) -> Void) throws -> SSHClient {
        let trusted = Set(sshd.hostKeys.values.compactMap { try? SSHPublicKey(openSSHLine: $0) })
        let secret = sshd.password
        var options = SSHClientOptions(
            host: sshd.host,
            port: sshd.port,
            user: sshd.user,
            credentials: SSHCredentials(password: { _ in SecureBytes(utf8: secret) }),
            authenticationOrder: [.password],
            connectTimeout: 5,
            overallTimeout: 60,
            idleTimeout: 30
        ) { (key: SSHPublicKey) throws(SSHProtocolError) in
            guard trusted.contains(key) else { throw SSHProtocolError(.hostKeyRejected, "unknown host key") }
        }
        adjust(&options)
        return try SSHClient.connect(options)
    }

    /// The sshd processes serving connections: the daemon's descendants.
    func connectionProcesses(_ sshd: SSHDFixture) throws -> [pid_t] {
        let daemon = try readText(sshd.directory.path("sshd.pid")).trimmingCharacters(in: .whitespacesAndNewlines)
        var found: [pid_t] = []
        var parents = [daemon]
        while let parent = parents.popLast() {
            let out = try runProcess("/usr/bin/pgrep", ["-P", parent]).stdout
            for line in out.split(separator: "\n") {
                guard let pid = pid_t(line) else { continue }
                found.append(pid)
                parents.append(String(pid))
            }
        }
        return found
    }

    @Test(
        "a server that stops answering is dropped after ServerAliveInterval × (ServerAliveCountMax + 1), in one sentence"
    )
    func serverStopsAnswering() throws {
        let sshd = try SSHDFixture()
        let client = try connect(sshd) {
            $0.serverAliveInterval = 1
            $0.serverAliveCountMax = 2
        }
        defer { client.close() }
        // Keepalives a live server answers keep a quiet command going.
        let quiet = try client.exec("sleep 3; echo done")
        #expect(quiet.exitStatus == 0 && String(decoding: quiet.stdout, as: UTF8.self) == "done\n")

        let stopped = try connectionProcesses(sshd)
        try #require(!stopped.isEmpty)
        for pid in stopped { kill(pid, SIGSTOP) }
        defer { for pid in stopped { kill(pid, SIGCONT) } }
        let start = ContinuousClock.now
        do {
            _ = try client.exec("echo never")
            Issue.record("the client did not give up on a stopped server")
        } catch {
            let elapsed = ContinuousClock.now - start
            #expect(error.code == .timeout)
            #expect(error.message.contains("Timeout, server 127.0.0.1 not responding"), "\(error.message)")
            #expect(!error.message.contains("\n"))
            // ssh's clientloop.c: CountMax keepalives go unanswered, the next check gives
            // up: Interval × (CountMax + 1) after the server last spoke, which was a little
            // before this command.
            #expect(elapsed >= .seconds(2) && elapsed < .seconds(6), "\(elapsed)")
        }
    }

    @Test("a small RekeyLimit makes the client re-key as data flows, and the session still works")
    func rekeyByData() throws {
        let sshd = try SSHDFixture()
        let client = try connect(sshd) { $0.rekeyLimitBytes = 16 * 1024 }
        defer { client.close() }
        let input = [UInt8](repeating: UInt8(ascii: "k"), count: 256 * 1024)
        let result = try client.exec("wc -c", stdin: input)
        #expect(result.exitStatus == 0)
        #expect(
            String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "262144"
        )
        // 256 KiB under a 16 KiB limit, in channel packets of up to 32 KiB (each of which
        // passes the limit): the first key exchange and one per packet at least.
        #expect(client.completedKeyExchanges > 8, "\(client.completedKeyExchanges)")
        let again = try client.exec("echo still here")
        #expect(String(decoding: again.stdout, as: UTF8.self) == "still here\n")
    }

    @Test("RekeyLimit's time makes the client re-key while a command runs")
    func rekeyByTime() throws {
        let sshd = try SSHDFixture()
        let client = try connect(sshd) { $0.rekeyLimitSeconds = 1 }
        defer { client.close() }
        let result = try client.exec("sleep 3.5; echo done")
        #expect(String(decoding: result.stdout, as: UTF8.self) == "done\n")
        #expect(client.completedKeyExchanges >= 3, "\(client.completedKeyExchanges)")
    }

    @Test("SetEnv reaches the command where sshd's AcceptEnv names the variable, and only there")
    func environment() throws {
        let sshd = try SSHDFixture(extraConfig: ["AcceptEnv KEYSMITH_OK"])
        let client = try connect(sshd) {
            $0.environment = [("KEYSMITH_OK", "yes please"), ("KEYSMITH_NO", "dropped")]
        }
        defer { client.close() }
        let result = try client.exec("printf '%s|%s' \"$KEYSMITH_OK\" \"${KEYSMITH_NO-unset}\"")
        #expect(String(decoding: result.stdout, as: UTF8.self) == "yes please|unset")
    }
}

@Suite("AddressFamily and BindAddress against OpenSSH's sshd")
struct AddressFamilyInteropTests {
    @Test("inet reaches sshd on 127.0.0.1 from BindAddress 127.0.0.2; inet6 finds no address for 127.0.0.1")
    func family() throws {
        let sshd = try SSHDFixture()
        let rig = KeepaliveRekeyInteropTests()
        let client = try rig.connect(sshd) {
            $0.addressFamily = .inet
            $0.bindAddress = "127.0.0.2"
        }
        let from = try client.exec("echo $SSH_CLIENT")
        client.close()
        #expect(String(decoding: from.stdout, as: UTF8.self).hasPrefix("127.0.0.2 "), "\(from)")
        #expect {
            _ = try rig.connect(sshd) { $0.addressFamily = .inet6 }
        } throws: { error in
            (error as? SSHProtocolError)?.code == .connectionFailed
        }
    }
}
