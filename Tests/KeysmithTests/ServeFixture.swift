import Foundation
import KeysmithTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `keysmith serve` on a loopback port it picked itself (`-p 0`, the port read back from
/// its log), with host keys for all six host key algorithms, three client keys (Ed25519,
/// RSA, ECDSA) in its authorized_keys, and a known_hosts file trusting the host keys.
final class ServeFixture: @unchecked Sendable {
    // @unchecked: the process id is only touched in init and deinit.
    let dir: TempDir
    let port: Int
    let knownHosts: String
    let authorizedKeys: String
    /// Client private key paths by type name: ed25519, rsa, ecdsa.
    let clientKeys: [String: String]
    /// Client public key lines by type name.
    let publicLines: [String: String]
    /// The server's process id.
    let pid: pid_t

    /// - Parameters:
    ///   - authorizedKeys: the file's contents; nil lists the three client keys.
    ///   - arguments: extra `keysmith serve` arguments (limits).
    ///   - environment: variables for the server process (TZ).
    init(
        authorizedKeys: ((ServeFixture.Keys) -> String)? = nil,
        arguments: [String] = [],
        environment: [String: String] = [:]
    ) throws {
        let dir = try TempDir()
        self.dir = dir
        var hostKeyArguments: [String] = []
        var knownLines: [String] = []
        for (name, type, bits) in [
            ("ed25519", "ed25519", nil), ("rsa", "rsa", "2048"), ("ecdsa256", "ecdsa", "256"),
            ("ecdsa384", "ecdsa", "384"), ("ecdsa521", "ecdsa", "521"),
        ] as [(String, String, String?)] {
            let path = dir.path("host_\(name)")
            var args = ["-q", "-t", type, "-N", "", "-C", "host", "-f", path]
            if let bits { args += ["-b", bits] }
            _ = try runProcess(Tool.sshKeygen, args).checked("ssh-keygen")
            hostKeyArguments += ["--host-key", path]
            knownLines.append(keyPart(try readText(path + ".pub")))
        }
        var clients: [String: String] = [:]
        var publicLines: [String: String] = [:]
        for (type, bits) in [("ed25519", nil), ("rsa", "2048"), ("ecdsa", "256")] as [(String, String?)] {
            let path = dir.path("id_\(type)")
            var args = ["-q", "-t", type, "-N", "", "-C", "\(type)-user@client", "-f", path]
            if let bits { args += ["-b", bits] }
            _ = try runProcess(Tool.sshKeygen, args).checked("ssh-keygen")
            clients[type] = path
            publicLines[type] = try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        self.clientKeys = clients
        self.publicLines = publicLines
        let keys = Keys(lines: publicLines)
        self.authorizedKeys = dir.path("authorized_keys")
        let contents = authorizedKeys?(keys) ?? (publicLines.values.sorted().joined(separator: "\n") + "\n")
        try writeText(self.authorizedKeys, contents, mode: 0o600)

        let log = dir.path("serve.log")
        // env(1) sets the server's variables without touching this process's environment.
        let pid = try spawnDaemon(
            "/usr/bin/env",
            environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [
                keysmithPath, "serve", "-p", "0", "--listen", "127.0.0.1", "--authorized-keys", self.authorizedKeys,
            ]
                + hostKeyArguments + ["--log-level", "debug"] + arguments,
            log: log
        )
        var port: Int? = nil
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline {
            let text = (try? readText(log)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains(" listening ") }),
                let field = line.split(separator: " ").first(where: { $0.hasPrefix("port=") })
            {
                port = Int(field.dropFirst(5))
            } else {
                usleep(20_000)
            }
        }
        guard let port else {
            stopDaemon(pid)
            throw FixtureError("keysmith serve did not start: \((try? readText(log)) ?? "")")
        }
        self.pid = pid
        self.port = port
        self.knownHosts = dir.path("known_hosts")
        try writeText(
            self.knownHosts,
            knownLines.map { "[127.0.0.1]:\(port) \($0)" }.joined(separator: "\n") + "\n",
            mode: 0o644
        )
    }

    deinit { stopDaemon(self.pid) }

    /// The client keys' public lines, for building authorized_keys contents.
    struct Keys {
        let lines: [String: String]
        subscript(_ type: String) -> String { self.lines[type] ?? "" }
    }

    /// The server's log so far.
    var log: String { (try? readText(self.dir.path("serve.log"))) ?? "" }

    /// The ssh arguments every login uses: no config, known host keys only, no prompts.
    func sshArguments(identity: String?, options: [String] = []) -> [String] {
        var args = [
            "-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(self.knownHosts)", "-o", "ConnectTimeout=20", "-p", String(self.port),
        ]
        if let identity { args += ["-i", identity] }
        return args + options
    }

    /// OpenSSH's ssh logging in with `identity` alone, in batch mode.
    func sshLogin(
        identity: String,
        options: [String] = [],
        user: String = "alice",
        command: String? = "whoami"
    ) throws -> ProcessResult {
        try runProcess(
            Tool.ssh,
            self.sshArguments(identity: identity, options: ["-o", "BatchMode=yes"] + options)
                + ["\(user)@127.0.0.1"] + (command.map { [$0] } ?? [])
        )
    }

    /// The line `serve` must print for a key: `authenticated SHA256:… comment`, from ssh-keygen -lf.
    func expectedLine(for identity: String) throws -> String {
        let listed = try runProcess(Tool.sshKeygen, ["-lf", identity + ".pub"]).checked("ssh-keygen -lf")
        // "256 SHA256:… comment (ED25519)"
        var parts = listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        parts.removeFirst()
        parts.removeLast()
        return "authenticated " + parts.joined(separator: " ")
    }
}
