import Foundation
import KeysmithTestSupport
import Logging
import SSHKeys
import SSHProtocol
import Testing

@testable import KeyVerify

#if canImport(Glibc)
import Glibc
#endif

/// Collects log lines written by ``KeyValueLogHandler`` into a pipe.
final class LogCapture: @unchecked Sendable {
    // @unchecked: the descriptors never change; reading happens after the writers are done.
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL, 0) | O_NONBLOCK)
        self.readEnd = fds[0]
        self.writeEnd = fds[1]
    }

    deinit {
        close(self.readEnd)
        close(self.writeEnd)
    }

    func text() -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(self.readEnd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

@Suite("AuthorizedKeysServer, embedded")
struct ServeAPITests {
    @Test("a program embeds the server: OpenSSH's ssh logs in, stop() ends run()")
    func embedded() throws {
        let dir = try TempDir()
        let hostKey = try SSHPrivateKey(generating: .ed25519)
        let userKey = dir.path("id_ed25519")
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "embedded user", "-f", userKey])
            .checked("ssh-keygen")
        let line = try readText(userKey + ".pub")
        try writeText(dir.path("authorized_keys"), "# the users\n" + line, mode: 0o600)

        let capture = LogCapture()
        let writeEnd = capture.writeEnd
        let server = try AuthorizedKeysServer(
            configuration: .init(
                addresses: ["127.0.0.1"],
                port: 0,
                hostKeys: [hostKey],
                authorizedKeysPath: dir.path("authorized_keys")
            ),
            logger: Logger(label: "test") { KeyValueLogHandler(label: $0, level: .debug, fileDescriptor: writeEnd) }
        )
        let port = server.endpoints[0].port
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            server.run()
            finished.signal()
        }
        try writeText(
            dir.path("known_hosts"),
            "[127.0.0.1]:\(port) \(hostKey.publicKey.openSSHLine())\n",
            mode: 0o644
        )
        let result = try runProcess(
            Tool.ssh,
            [
                "-F", "/dev/null", "-i", userKey, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(dir.path("known_hosts"))",
                "-p", String(port), "carol@127.0.0.1", "id",
            ]
        )
        server.stop()
        #expect(finished.wait(timeout: .now() + 30) == .success, "run() returns after stop()")
        let fingerprint = try SSHPublicKey(openSSHLine: line).fingerprint()
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == "authenticated \(fingerprint) embedded user\n")
        let log = capture.text()
        #expect(log.contains(" notice authenticated "), "\(log)")
        #expect(log.contains("user=carol"))
        #expect(log.contains("fingerprint=\(fingerprint)"))
        #expect(log.contains("comment=\"embedded user\""))
        #expect(log.contains("outcome=accepted"))
        #expect(log.contains(" info stopped"))
    }

    @Test("decisions follow authorized_keys: from=, expiry-time=, cert-authority, a missing file")
    func decisions() throws {
        let dir = try TempDir()
        let keys = try (0..<4).map { _ in try SSHPrivateKey(generating: .ed25519).publicKey }
        try writeText(
            dir.path("authorized_keys"),
            """
            from="192.0.2.0/24" \(keys[0].openSSHLine()) zero
            expiry-time="20000101" \(keys[1].openSSHLine()) one
            cert-authority \(keys[2].openSSHLine()) two
            \(keys[3].openSSHLine()) three

            """
        )
        let path = dir.path("authorized_keys")
        #expect(AuthorizedKeysServer.decide(keys[0], from: "192.0.2.9", path: path) == .accept(comment: "zero"))
        guard case .refuse = AuthorizedKeysServer.decide(keys[0], from: "127.0.0.1", path: path) else {
            Issue.record("from= did not refuse")
            return
        }
        guard case .refuse = AuthorizedKeysServer.decide(keys[1], from: "127.0.0.1", path: path) else {
            Issue.record("expiry-time did not refuse")
            return
        }
        guard case .refuse(let reason) = AuthorizedKeysServer.decide(keys[2], from: "127.0.0.1", path: path) else {
            Issue.record("cert-authority did not refuse")
            return
        }
        #expect(reason.contains("cert-authority"))
        #expect(AuthorizedKeysServer.decide(keys[3], from: "::1", path: path) == .accept(comment: "three"))
        guard case .refuse = AuthorizedKeysServer.decide(keys[3], from: "::1", path: dir.path("missing")) else {
            Issue.record("a missing file did not refuse")
            return
        }
    }

    @Test("bad configurations are refused with one sentence")
    func badConfiguration() throws {
        let dir = try TempDir()
        try writeText(dir.path("authorized_keys"), "")
        let key = try SSHPrivateKey(generating: .ed25519)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let cases: [AuthorizedKeysServer.Configuration] = [
            .init(port: 0, hostKeys: [], authorizedKeysPath: dir.path("authorized_keys")),
            .init(port: 0, hostKeys: [key], authorizedKeysPath: dir.path("missing")),
            .init(port: 0, hostKeys: [key], authorizedKeysPath: dir.path("authorized_keys"), loginGraceTime: 0),
            .init(port: 0, hostKeys: [key], authorizedKeysPath: dir.path("authorized_keys"), maxStartups: 0),
            .init(addresses: ["192.0.2.1"], port: 0, hostKeys: [key], authorizedKeysPath: dir.path("authorized_keys")),
        ]
        for configuration in cases {
            #expect(throws: KeyVerifyError.self) {
                try AuthorizedKeysServer(configuration: configuration, logger: logger)
            }
        }
    }

    @Test("log values are quoted so that one event is one line")
    func logQuoting() {
        #expect(KeyValueLogHandler.quoted("SHA256:abc/+") == "SHA256:abc/+")
        #expect(KeyValueLogHandler.quoted("two words") == "\"two words\"")
        #expect(KeyValueLogHandler.quoted("") == "\"\"")
        #expect(KeyValueLogHandler.quoted("a\"b\\c\nd=e") == "\"a\\\"b\\\\c\\nd=e\"")
        #expect(KeyValueLogHandler.quoted("\u{1b}[31m") == "\"\\x1b[31m\"")
    }
}
