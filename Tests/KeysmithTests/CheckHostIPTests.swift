import Foundation
import KeysmithTestSupport
import Testing

/// CheckHostIP against OpenSSH's ssh: the same known_hosts copied for each, ssh (BatchMode)
/// and `keysmith list-ids` connect to one sshd with the same options, and the known_hosts
/// files they leave, their exit statuses (0 against 0, failure against failure) and the
/// warning lines they print are compared.
///
/// ssh turns the address check off for a loopback address and for a host named by its
/// address, so the sshd listens on a network namespace's veth address
/// (``NetworkNamespace``) and both clients run inside that namespace (`ip netns exec`),
/// where `/etc/netns/NAME/hosts` gives the address the name `checkhostip.test`.
@Suite("CheckHostIP against ssh")
struct CheckHostIPTests {
    static let name = "checkhostip.test"

    final class Setup {
        let namespace: NetworkNamespace
        let sshd: SSHDFixture
        let dir: TempDir
        let key: String
        /// The server's Ed25519 host key and another one, `type base64`.
        let hostKey: String
        let otherKey: String
        let etc: String

        init() throws {
            self.namespace = try NetworkNamespace()
            self.etc = "/etc/netns/\(self.namespace.name)"
            try FileManager.default.createDirectory(atPath: self.etc, withIntermediateDirectories: true)
            try writeText(
                self.etc + "/hosts",
                "127.0.0.1 localhost\n\(self.namespace.address) \(CheckHostIPTests.name)\n",
                mode: 0o644
            )
            self.sshd = try SSHDFixture(network: (self.namespace.name, self.namespace.address, 2022))
            self.dir = try TempDir()
            self.key = self.dir.path("id")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", self.key]).checked("ssh-keygen")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", self.dir.path("other")]).checked("ssh-keygen")
            let ssh = self.sshd.home + "/.ssh"
            try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
            try writeText(ssh + "/authorized_keys", try readText(self.key + ".pub"), mode: 0o600)
            _ = try runProcess("/bin/chown", ["-R", "\(self.sshd.user):\(self.sshd.user)", ssh]).checked("chown")
            self.hostKey = keyPart(self.sshd.hostKeys["ssh-ed25519"] ?? "")
            self.otherKey = keyPart(try readText(self.dir.path("other.pub")))
        }

        deinit { try? FileManager.default.removeItem(atPath: self.etc) }

        var ipName: String { "[\(self.namespace.address)]:2022" }
        var hostName: String { "[\(CheckHostIPTests.name)]:2022" }

        /// What one client did: its exit status, its warning lines (the directory of its
        /// known_hosts written as DIR) and its known_hosts afterwards.
        struct Outcome: Equatable, CustomStringConvertible {
            var succeeded: Bool
            var warnings: [String]
            var knownHosts: String
            /// The first line of the host key question, when one was asked (through askpass).
            var question: String? = nil
            var description: String {
                "ok=\(succeeded)\n\(warnings.joined(separator: "\n"))\n--\n\(knownHosts)\n\(question ?? "no question")"
            }
        }

        static let warningPrefixes = [
            "Warning: ", "Offending key for IP", "Matching host key", "The ED25519 host key for ",
            "and the key for the corresponding IP address",
        ]

        func outcome(
            _ result: ProcessResult,
            _ home: String,
            _ knownHosts: String,
            prefixes: [String] = Setup.warningPrefixes
        ) throws -> Outcome {
            // ssh ends its log lines with \r\n.
            let warnings = result.stderr.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n")
                .map { $0.replacingOccurrences(of: home, with: "DIR") }
                .filter { line in prefixes.contains { line.hasPrefix($0) } }
            let question = (try? readText(home + "/question"))?.split(separator: "\n").first.map(String.init)
            return Outcome(
                succeeded: result.status == 0,
                warnings: warnings,
                knownHosts: try readText(knownHosts),
                question: question
            )
        }

        /// Runs ssh and keysmith list-ids with `options` on `destination`, each with its own
        /// copy of `knownHosts`.
        func run(
            knownHosts: String,
            options: [String],
            destination: String = CheckHostIPTests.name,
            prefixes: [String] = Setup.warningPrefixes,
            askpass: String? = nil
        ) throws -> (ssh: Outcome, keysmith: Outcome) {
            var outcomes: [Outcome] = []
            for client in ["ssh", "keysmith"] {
                let home = self.dir.path("\(client)-\(UUID().uuidString)")
                try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
                let file = home + "/known_hosts"
                try writeText(file, knownHosts, mode: 0o644)
                // An askpass program (forced, as SSH_ASKPASS_REQUIRE=force) in place of BatchMode.
                let asking: [String: String] =
                    askpass.map {
                        [
                            "SSH_ASKPASS": $0, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0",
                            "QUESTION": home + "/question",
                        ]
                    } ?? [:]
                let common =
                    [
                        "-o", "CheckHostIP=yes", "-o", "UserKnownHostsFile=\(file)", "-o",
                        "GlobalKnownHostsFile=/dev/null",
                        "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "User=\(self.sshd.user)", "-p", "2022",
                    ] + options
                let result: ProcessResult
                if client == "ssh" {
                    result = try runProcess(
                        "/usr/bin/timeout",
                        [
                            "-k", "5", "60", "/usr/sbin/ip", "netns", "exec", self.namespace.name, Tool.ssh, "-F",
                            "/dev/null",
                        ]
                            + ["-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=\(askpass == nil)"]
                            + common + [destination, "true"],
                        environment: ["SSH_AUTH_SOCK": ""].merging(asking) { _, new in new }
                    )
                } else {
                    result = try runProcess(
                        "/usr/bin/timeout",
                        ["-k", "5", "60", "/usr/sbin/ip", "netns", "exec", self.namespace.name, keysmithPath]
                            + ["list-ids"] + (askpass == nil ? ["--password-stdin"] : []) + ["-F", "/dev/null"] + common
                            + [destination],
                        input: Data((self.sshd.password + "\n").utf8),
                        environment: ["HOME": home, "SSH_AUTH_SOCK": ""].merging(asking) { _, new in new }
                    )
                }
                outcomes.append(try self.outcome(result, home, file, prefixes: prefixes))
            }
            return (outcomes[0], outcomes[1])
        }
    }

    @Test("the address's entry missing: both add it, whatever StrictHostKeyChecking", arguments: ["yes", "no"])
    func addressMissing(strict: String) throws {
        let s = try Setup()
        let (ssh, keysmith) = try s.run(
            knownHosts: "\(s.hostName) \(s.hostKey)\n",
            options: ["-o", "StrictHostKeyChecking=\(strict)"]
        )
        #expect(ssh.succeeded, "\(ssh)")
        #expect(ssh.knownHosts == "\(s.hostName) \(s.hostKey)\n\(s.ipName) \(s.hostKey)\n")
        #expect(
            ssh.warnings == [
                "Warning: Permanently added the ED25519 host key for IP address '\(s.ipName)' to the list of known hosts."
            ]
        )
        #expect(keysmith == ssh)
    }

    @Test("the address's entry has another key: refused under yes and accept-new, a warning under no")
    func addressDiffers() throws {
        let s = try Setup()
        let text = "\(s.hostName) \(s.hostKey)\n\(s.ipName) \(s.otherKey)\n"
        for strict in ["yes", "accept-new", "no"] {
            let (ssh, keysmith) = try s.run(knownHosts: text, options: ["-o", "StrictHostKeyChecking=\(strict)"])
            #expect(ssh.succeeded == (strict == "no"), "\(ssh)")
            #expect(ssh.knownHosts == text)
            #expect(
                Array(ssh.warnings.prefix(3)) == [
                    "Warning: the ED25519 host key for '\(s.hostName)' differs from the key for the IP address '\(s.ipName)'",
                    "Offending key for IP in DIR/known_hosts:2",
                    "Matching host key in DIR/known_hosts:1",
                ],
                "\(ssh)"
            )
            #expect(keysmith == ssh, "\(strict)")
        }
    }

    @Test("the name's key changed while the address's is not: the DNS spoofing warning, refused")
    func nameChanged() throws {
        let s = try Setup()
        let text = "\(s.hostName) \(s.otherKey)\n\(s.ipName) \(s.hostKey)\n"
        let (ssh, keysmith) = try s.run(knownHosts: text, options: ["-o", "StrictHostKeyChecking=accept-new"])
        #expect(!ssh.succeeded && ssh.knownHosts == text)
        #expect(
            ssh.warnings == [
                "The ED25519 host key for \(s.hostName) has changed,",
                "and the key for the corresponding IP address \(s.ipName)",
                "Offending key for IP in DIR/known_hosts:2",
            ],
            "\(ssh)"
        )
        #expect(keysmith == ssh)
    }

    @Test("the name's entry missing but the address's present: the name added under accept-new, refused under yes")
    func nameMissing() throws {
        let s = try Setup()
        let text = "\(s.ipName) \(s.hostKey)\n"
        let (ssh, keysmith) = try s.run(knownHosts: text, options: ["-o", "StrictHostKeyChecking=accept-new"])
        #expect(ssh.succeeded, "\(ssh)")
        #expect(ssh.knownHosts == text + "\(s.hostName) \(s.hostKey)\n")
        #expect(ssh.warnings == ["Warning: Permanently added '\(s.hostName)' (ED25519) to the list of known hosts."])
        #expect(keysmith == ssh)
        let (sshYes, keysmithYes) = try s.run(knownHosts: text, options: ["-o", "StrictHostKeyChecking=yes"])
        #expect(!sshYes.succeeded && sshYes.knownHosts == text)
        #expect(keysmithYes == sshYes)
    }

    @Test("a new host: one `name,address` line, or two hashed lines with HashKnownHosts")
    func newHost() throws {
        let s = try Setup()
        let (ssh, keysmith) = try s.run(knownHosts: "", options: ["-o", "StrictHostKeyChecking=accept-new"])
        #expect(ssh.succeeded, "\(ssh)")
        #expect(ssh.knownHosts == "\(s.hostName),\(s.ipName) \(s.hostKey)\n")
        #expect(
            ssh.warnings == [
                "Warning: Permanently added '\(s.hostName),\(s.ipName)' (ED25519) to the list of known hosts."
            ]
        )
        #expect(keysmith == ssh)

        let (hashedSSH, hashedKeysmith) = try s.run(
            knownHosts: "",
            options: ["-o", "StrictHostKeyChecking=accept-new", "-o", "HashKnownHosts=yes"]
        )
        #expect(hashedSSH.succeeded && hashedKeysmith.succeeded)
        #expect(hashedKeysmith.warnings == hashedSSH.warnings)
        // The salts differ: compare what ssh-keygen -F finds for each name, and the line count.
        for outcome in [hashedSSH, hashedKeysmith] {
            let lines = outcome.knownHosts.split(separator: "\n")
            #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("|1|") && $0.hasSuffix(" \(s.hostKey)") })
            let file = s.dir.path("hashed-\(UUID().uuidString)")
            try writeText(file, outcome.knownHosts)
            for name in [s.hostName, s.ipName] {
                let found = try keygen(["-F", name, "-f", file])
                #expect(found.status == 0 && found.stdout.contains(s.hostKey), "\(name) in \(outcome)")
            }
        }

        // A known name whose address is missing, hashed: the address is added hashed.
        let (addSSH, addKeysmith) = try s.run(
            knownHosts: "\(s.hostName) \(s.hostKey)\n",
            options: ["-o", "StrictHostKeyChecking=yes", "-o", "HashKnownHosts=yes"]
        )
        #expect(addSSH.succeeded && addKeysmith.succeeded)
        #expect(addKeysmith.warnings == addSSH.warnings)
        for outcome in [addSSH, addKeysmith] {
            let lines = outcome.knownHosts.split(separator: "\n")
            #expect(lines.count == 2 && lines[0] == "\(s.hostName) \(s.hostKey)" && lines[1].hasPrefix("|1|"))
        }
    }

    @Test("HostKeyAlias still checks the address; a host named by its address and a ProxyCommand do not")
    func whereNoAddressIsChecked() throws {
        let s = try Setup()
        let (aliasSSH, aliasKeysmith) = try s.run(
            knownHosts: "",
            options: ["-o", "StrictHostKeyChecking=accept-new", "-o", "HostKeyAlias=alias.test"]
        )
        #expect(aliasSSH.knownHosts == "alias.test,\(s.ipName) \(s.hostKey)\n", "\(aliasSSH)")
        #expect(aliasKeysmith == aliasSSH)

        let (addressSSH, addressKeysmith) = try s.run(
            knownHosts: "",
            options: ["-o", "StrictHostKeyChecking=accept-new"],
            destination: s.namespace.address
        )
        #expect(addressSSH.knownHosts == "\(s.ipName) \(s.hostKey)\n", "\(addressSSH)")
        #expect(addressKeysmith == addressSSH)

        let (proxySSH, proxyKeysmith) = try s.run(
            knownHosts: "\(s.hostName) \(s.hostKey)\n",
            options: ["-o", "StrictHostKeyChecking=yes", "-o", "ProxyCommand=nc %h %p"]
        )
        #expect(proxySSH.succeeded, "\(proxySSH)")
        #expect(proxySSH.knownHosts == "\(s.hostName) \(s.hostKey)\n")
        #expect(proxyKeysmith == proxySSH)
    }

    @Test("the host key question names the host and the address connected to, or none through a ProxyCommand, as ssh")
    func question() throws {
        let s = try Setup()
        let askpass = s.dir.path("askpass")
        try writeText(askpass, "#!/bin/sh\nprintf '%s' \"$1\" > \"$QUESTION\"\necho no\n", mode: 0o755)
        for (options, shown) in [
            ([String](), s.ipName),
            (["-o", "ProxyCommand=nc %h %p"], "<no hostip for proxy command>"),
        ] {
            let (ssh, keysmith) = try s.run(
                knownHosts: "",
                options: ["-o", "StrictHostKeyChecking=ask"] + options,
                askpass: askpass
            )
            #expect(
                ssh.question == "The authenticity of host '\(s.hostName) (\(shown))' can't be established.",
                "\(ssh)"
            )
            #expect(!ssh.succeeded && ssh.knownHosts.isEmpty)
            #expect(keysmith == ssh, "\(options)")
        }
    }

    @Test("a changed host key names the last other key known for the name, of any type, as ssh")
    func lastOffendingEntry() throws {
        let s = try Setup()
        let rsa = keyPart(try #require(s.sshd.hostKeys["ssh-rsa"]))
        let prefixes = Setup.warningPrefixes + ["Offending "]
        // The server's own RSA key stands for "a key of another type".
        for text in [
            "\(s.hostName) \(s.otherKey)\n\(s.hostName) \(rsa)\n\(s.ipName) \(s.hostKey)\n",
            "\(s.hostName) \(rsa)\n\(s.hostName) \(s.otherKey)\n\(s.hostName) \(rsa)\n",
            "\(s.hostName) \(rsa)\n",
        ] {
            let (ssh, keysmith) = try s.run(
                knownHosts: text,
                options: ["-o", "StrictHostKeyChecking=accept-new"],
                prefixes: prefixes
            )
            let last = text.split(separator: "\n").lastIndex { $0.hasPrefix(s.hostName) }! + 1
            #expect(
                !ssh.succeeded && ssh.warnings.contains { $0.hasSuffix("key in DIR/known_hosts:\(last)") },
                "\(ssh)"
            )
            #expect(keysmith == ssh, "\(text)")
        }
    }
}
