import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

/// Collects what the policy logs.
final class LogLines: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { self.lock.withLock { self.lines.append(s) } }
    var all: [String] { self.lock.withLock { self.lines } }
}

@Suite("host key policy")
struct HostKeyPolicyTests {
    func key(_ dir: TempDir, _ name: String, type: String = "ed25519") throws -> SSHPublicKey {
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", type, "-N", "", "-f", dir.path(name)]).checked("ssh-keygen")
        return try SSHPublicKey(openSSHLine: try dir.readText(name + ".pub"))
    }

    func policy(
        _ dir: TempDir,
        _ strict: StrictHostKeyChecking,
        port: Int = 2222,
        log: LogLines = LogLines(),
        ask: (@Sendable (String) -> String?)? = nil
    ) -> HostKeyPolicy {
        HostKeyPolicy(
            hostName: "127.0.0.1",
            port: port,
            userKnownHostsFiles: [dir.path("known_hosts")],
            strictHostKeyChecking: strict,
            log: { log.append($0) },
            ask: ask
        )
    }

    @Test("a known key is accepted, in plain and hashed entries and with [host]:port")
    func known() throws {
        let dir = try TempDir()
        let k = try key(dir, "k")
        try dir.write("known_hosts", "[127.0.0.1]:2222 \(k.openSSHLine())\n")
        try policy(dir, .yes).check(k)
        _ = try runProcess(Tool.sshKeygen, ["-H", "-f", dir.path("known_hosts")]).checked("ssh-keygen -H")
        #expect(try dir.readText("known_hosts").hasPrefix("|1|"))
        try policy(dir, .yes).check(k)
        // Port 22 is written without brackets, so the [host]:2222 entry does not apply.
        #expect(throws: SSHProtocolError.self) { try policy(dir, .yes, port: 22).check(k) }
    }

    @Test("a changed key is refused with ssh's warning naming file and line, whatever the strictness")
    func changed() throws {
        let dir = try TempDir()
        let old = try key(dir, "old")
        let new = try key(dir, "new")
        let other = try key(dir, "rsa", type: "rsa")
        let text = "# c\n[127.0.0.1]:2222 \(other.openSSHLine())\n[127.0.0.1]:2222 \(old.openSSHLine())\n"
        try dir.write("known_hosts", text)
        for strict in StrictHostKeyChecking.allCases {
            let log = LogLines()
            do {
                try policy(dir, strict, log: log).check(new)
                Issue.record("accepted a changed key under \(strict)")
            } catch {
                #expect(error.code == .hostKeyRejected)
                #expect(error.message.contains("has changed"))
                #expect(error.message.contains("\(dir.path("known_hosts")):3"))
            }
            #expect(log.all.contains("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @"))
            #expect(log.all.contains("Offending ED25519 key in \(dir.path("known_hosts")):3"))
            #expect(log.all.contains("\(new.fingerprint())."))
        }
        #expect(try dir.readText("known_hosts") == text)
        // hostfile.c: the last other key known for the name is the offending one, whatever its type.
        let rsaLast = "[127.0.0.1]:2222 \(old.openSSHLine())\n[127.0.0.1]:2222 \(other.openSSHLine())\n"
        try dir.write("known_hosts", rsaLast)
        let log = LogLines()
        #expect(throws: SSHProtocolError.self) { try policy(dir, .acceptNew, log: log).check(new) }
        #expect(log.all.contains("Offending RSA key in \(dir.path("known_hosts")):2"), "\(log.all)")
        #expect(try dir.readText("known_hosts") == rsaLast)
    }

    @Test("a revoked key is refused")
    func revoked() throws {
        let dir = try TempDir()
        let k = try key(dir, "k")
        try dir.write("known_hosts", "@revoked * \(k.openSSHLine())\n[127.0.0.1]:2222 \(k.openSSHLine())\n")
        #expect(throws: SSHProtocolError.self) { try policy(dir, .no).check(k) }
    }

    @Test("an unknown host: yes refuses, accept-new and no add [host]:port, the file keeps its lines")
    func unknown() throws {
        let dir = try TempDir()
        let k = try key(dir, "k")
        try dir.write(
            "known_hosts",
            "other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        )
        do {
            try policy(dir, .yes).check(k)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("StrictHostKeyChecking is yes"))
        }
        let log = LogLines()
        try policy(dir, .acceptNew, log: log).check(k)
        #expect(log.all == ["Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts."])
        let lines = try dir.readText("known_hosts").split(separator: "\n")
        #expect(lines.count == 2 && lines[1] == "[127.0.0.1]:2222 \(k.openSSHLine())")
        // ssh-keygen -F finds what we added.
        let found = try runProcess(Tool.sshKeygen, ["-F", "[127.0.0.1]:2222", "-f", dir.path("known_hosts")])
        #expect(found.stdout.contains(k.openSSHLine()))
        try policy(dir, .yes).check(k)
    }

    @Test("ask: yes or the fingerprint accept, no refuses, no terminal refuses")
    func ask() throws {
        let dir = try TempDir()
        let k = try key(dir, "k")
        let asked = LogLines()
        #expect(throws: SSHProtocolError.self) {
            try policy(
                dir,
                .ask,
                ask: {
                    asked.append($0)
                    return "no"
                }
            ).check(k, address: "127.0.0.1")
        }
        #expect(
            asked.all.first?.contains(
                "The authenticity of host '[127.0.0.1]:2222 ([127.0.0.1]:2222)' can't be established."
            ) == true
        )
        // Through a proxy (no address) ssh shows none.
        #expect(throws: SSHProtocolError.self) {
            try policy(
                dir,
                .ask,
                ask: {
                    asked.append($0)
                    return "no"
                }
            ).check(k)
        }
        #expect(
            asked.all.last?.hasPrefix(
                "The authenticity of host '[127.0.0.1]:2222 (<no hostip for proxy command>)' can't be established.\n"
            ) == true
        )
        #expect(asked.all.first?.contains("ED25519 key fingerprint is \(k.fingerprint()).") == true)
        #expect(
            asked.all.first?.hasSuffix("Are you sure you want to continue connecting (yes/no/[fingerprint])? ") == true
        )
        #expect(throws: SSHProtocolError.self) { try policy(dir, .ask, ask: nil).check(k) }
        #expect(throws: SSHProtocolError.self) { try policy(dir, .ask, ask: { _ in nil }).check(k) }
        #expect(!FileManager.default.fileExists(atPath: dir.path("known_hosts")))
        let answers = LogLines()
        let fp = k.fingerprint().description
        try policy(
            dir,
            .ask,
            ask: { q in
                answers.append(q)
                return answers.all.count == 1 ? "maybe" : fp
            }
        ).check(k)
        #expect(answers.all.last == "Please type 'yes', 'no' or the fingerprint: ")
        try policy(dir, .yes).check(k)
    }

    @Test("known key types are moved first in the host key algorithms")
    func ordering() throws {
        let dir = try TempDir()
        let k = try key(dir, "k", type: "rsa")
        try dir.write("known_hosts", "[127.0.0.1]:2222 \(k.openSSHLine())\n")
        let order = try policy(dir, .yes).orderingHostKeyAlgorithms([
            "ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256",
        ])
        #expect(order == ["rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519", "ecdsa-sha2-nistp256"])
    }
}

@Suite("host key policy: CheckHostIP")
struct CheckHostIPPolicyTests {
    func policy(_ dir: TempDir, host: String, port: Int = 2222, checkHostIP: Bool = true) -> HostKeyPolicy {
        var p = HostKeyPolicy(
            hostName: host,
            port: port,
            userKnownHostsFiles: [dir.path("known_hosts")],
            strictHostKeyChecking: .acceptNew,
            log: { _ in }
        )
        p.checkHostIP = checkHostIP
        return p
    }

    @Test("the address is checked only where sshconnect.c checks it")
    func addressName() throws {
        let dir = try TempDir()
        #expect(policy(dir, host: "web.test").addressName("192.0.2.9") == "[192.0.2.9]:2222")
        #expect(policy(dir, host: "web.test", port: 22).addressName("2001:db8::9") == "2001:db8::9")
        // Off, through a proxy (no address), for loopback, and for a host named by its address.
        #expect(policy(dir, host: "web.test", checkHostIP: false).addressName("192.0.2.9") == nil)
        #expect(policy(dir, host: "web.test").addressName(nil) == nil)
        #expect(policy(dir, host: "web.test").addressName("127.0.0.2") == nil)
        #expect(policy(dir, host: "web.test").addressName("::1") == nil)
        #expect(policy(dir, host: "192.0.2.9", port: 22).addressName("192.0.2.9") == nil)
    }

    @Test("the address with another key under ask: the question is ssh's yes/no; no or no terminal refuses")
    func askDiffers() throws {
        let dir = try TempDir()
        for name in ["k", "other"] {
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", dir.path(name)]).checked(
                "ssh-keygen"
            )
        }
        let k = try SSHPublicKey(openSSHLine: try dir.readText("k.pub"))
        let other = try SSHPublicKey(openSSHLine: try dir.readText("other.pub"))
        let text = "[web.test]:2222 \(k.openSSHLine())\n[192.0.2.9]:2222 \(other.openSSHLine())\n"
        try dir.write("known_hosts", text)
        let file = dir.path("known_hosts")
        let questions = LogLines()
        for (answer, accepted) in [("yes", true), ("no", false), (nil, false)] as [(String?, Bool)] {
            var p = policy(dir, host: "web.test")
            p.strictHostKeyChecking = .ask
            p.ask = {
                questions.append($0)
                return answer
            }
            let passed = (try? p.check(k, address: "192.0.2.9")) != nil
            #expect(passed == accepted, "\(answer ?? "no terminal")")
        }
        #expect(
            questions.all.first
                == "Warning: the ED25519 host key for '[web.test]:2222' differs from the key for the IP address '[192.0.2.9]:2222'\nOffending key for IP in \(file):2\nMatching host key in \(file):1\nAre you sure you want to continue connecting (yes/no)? "
        )
        #expect(try dir.readText("known_hosts") == text)
    }

    @Test("a new host is recorded with its address, a known one gains its address; loopback is never recorded")
    func records() throws {
        let dir = try TempDir()
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", dir.path("k")]).checked("ssh-keygen")
        let k = try SSHPublicKey(openSSHLine: try dir.readText("k.pub"))
        try policy(dir, host: "web.test").check(k, address: "192.0.2.9")
        #expect(try dir.readText("known_hosts") == "[web.test]:2222,[192.0.2.9]:2222 \(k.openSSHLine())\n")
        try dir.write("known_hosts", "[web.test]:2222 \(k.openSSHLine())\n")
        try policy(dir, host: "web.test").check(k, address: "127.0.0.1")
        #expect(try dir.readText("known_hosts") == "[web.test]:2222 \(k.openSSHLine())\n")
        try policy(dir, host: "web.test").check(k, address: "192.0.2.9")
        #expect(
            try dir.readText("known_hosts")
                == "[web.test]:2222 \(k.openSSHLine())\n[192.0.2.9]:2222 \(k.openSSHLine())\n"
        )
        // The address's key is known now, so nothing more is written.
        try policy(dir, host: "web.test").check(k, address: "192.0.2.9")
        #expect(try dir.readText("known_hosts").split(separator: "\n").count == 2)
    }
}
