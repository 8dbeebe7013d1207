import Foundation
import KeysmithTestSupport
import Testing

/// keysmith's client with certificates against OpenSSH's sshd: a host certificate trusted
/// through a known_hosts `@cert-authority` line, a user certificate (`KEY-cert.pub`,
/// `CertificateFile`) accepted through sshd's TrustedUserCAKeys with no authorized_keys
/// entry for the key, and `copy-id --cert-authority`. Every certificate is made by
/// `ssh-keygen -s`; OpenSSH's `ssh` proves each deploy.
@Suite("certificates in keysmith's client against OpenSSH's sshd")
struct CertificateClientTests {
    /// An sshd presenting a host certificate and trusting a user CA, and a HOME whose
    /// known_hosts holds only the host CA's `@cert-authority` line.
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        /// The login key (private); its certificate is `KEY-cert.pub` unless told otherwise.
        let key: String
        let knownHosts: String
        let knownHostsText: String

        /// - Parameters:
        ///   - type: the login key's and the host key's type.
        ///   - hostNames / hostValidity: the host certificate's principals and `-V`.
        ///   - userValidity: the user certificate's `-V`.
        ///   - certificateBeside: write the user certificate as `KEY-cert.pub` (else `user-cert.pub`).
        ///   - revokeCA: add `@revoked * HOST_CA` to known_hosts.
        init(
            type: String = "ed25519",
            hostNames: String = "127.0.0.1",
            hostValidity: String? = nil,
            userValidity: String? = nil,
            certificateBeside: Bool = true,
            revokeCA: Bool = false
        ) throws {
            let dir = try TempDir()
            self.dir = dir
            try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: true)
            let bits = type == "rsa" ? ["-b", "2048"] : []
            // A security key (made through the software authenticator) sits on an Ed25519 host.
            let hostType = type.hasSuffix("-sk") ? "ed25519" : type
            let provider = type.hasSuffix("-sk") ? ["-w", try SoftAuthenticator.path()] : []
            for name in ["host_ca", "user_ca"] {
                _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", dir.path(name)]).checked(
                    "ssh-keygen"
                )
            }
            _ = try keygen(["-q", "-t", hostType, "-N", "", "-f", dir.path("host_key")] + bits).checked("ssh-keygen")
            var hostSign = ["-q", "-s", dir.path("host_ca"), "-I", "test host", "-h", "-n", hostNames]
            if let hostValidity { hostSign += ["-V", hostValidity] }
            _ = try keygen(hostSign + [dir.path("host_key.pub")]).checked("ssh-keygen -s -h")

            self.sshd = try SSHDFixture(extraConfig: [
                "HostKey \(dir.path("host_key"))",
                "HostCertificate \(dir.path("host_key-cert.pub"))",
                "TrustedUserCAKeys \(dir.path("user_ca.pub"))",
            ])
            self.key = dir.path("id_\(type)")
            _ = try keygen(["-q", "-t", type, "-N", "", "-C", "login@test", "-f", self.key] + bits + provider)
                .checked("ssh-keygen")
            var userSign = ["-q", "-s", dir.path("user_ca"), "-I", "login", "-n", self.sshd.user]
            if let userValidity { userSign += ["-V", userValidity] }
            _ = try keygen(userSign + [self.key + ".pub"]).checked("ssh-keygen -s")
            if !certificateBeside {
                guard rename(self.key + "-cert.pub", dir.path("user-cert.pub")) == 0 else {
                    throw FixtureError("cannot move the user certificate")
                }
            }

            var text = "@cert-authority 127.0.0.1 \(try dir.readText("host_ca.pub"))"
            if revokeCA { text += "@revoked * \(try dir.readText("host_ca.pub"))" }
            self.knownHostsText = text
            self.knownHosts = dir.path("known_hosts")
            try writeText(self.knownHosts, text, mode: 0o644)
        }

        var destination: String { "\(self.sshd.user)@\(self.sshd.host)" }

        /// Runs keysmith COMMAND logging in with the login key alone: BatchMode (no prompt
        /// of any kind, no password) and StrictHostKeyChecking=ask, which would have to ask
        /// about any host key the @cert-authority line does not vouch for.
        func run(_ command: String, _ extra: [String] = []) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-p", String(self.sshd.port), "-o", "UserKnownHostsFile=\(self.knownHosts)",
                    "-o", "StrictHostKeyChecking=ask", "-o", "BatchMode=yes", "-o", "IdentityFile=\(self.key)",
                    "-o", "IdentitiesOnly=yes",
                ] + extra + [self.destination],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        /// OpenSSH's ssh with `identity` (and its `-cert.pub`, which ssh loads beside it),
        /// trusting the host through the same known_hosts.
        func sshLogin(identity: String, _ extra: [String] = []) throws -> ProcessResult {
            try runProcess(
                Tool.ssh,
                extra + [
                    "-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                    "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=yes",
                    "-o", "UserKnownHostsFile=\(self.knownHosts)", "-p", String(self.sshd.port),
                    self.destination, "id -un",
                ]
            )
        }

        /// A fresh key to deploy.
        func newKey(_ name: String, type: String = "ed25519") throws -> String {
            let path = self.dir.path(name)
            _ = try keygen(["-q", "-t", type, "-N", "", "-C", name, "-f", path]).checked("ssh-keygen")
            return path
        }

        /// stderr without keysmith's INFO lines: what a refusal says.
        func complaint(_ r: ProcessResult) -> [Substring] {
            r.stderr.split(separator: "\n").filter { !$0.hasPrefix("keysmith: INFO:") }
        }
    }

    @Test(
        "copy-id trusts the host through @cert-authority, logs in with the user certificate alone, and deploys; ssh logs in with the new key",
        arguments: [("ed25519", true), ("rsa", true), ("ed25519", false)]
    )
    func deployWithCertificates(type: String, certificateBeside: Bool) throws {
        let s = try Setup(type: type, certificateBeside: certificateBeside)
        let certificate = certificateBeside ? s.key + "-cert.pub" : s.dir.path("user-cert.pub")
        // ssh gets in with the certificate beside the key, never with the plain key: sshd
        // knows only the CA.
        #expect(try s.sshLogin(identity: s.key).status == (certificateBeside ? 0 : 255))
        let new = try s.newKey("new_key")
        var extra = ["-i", new + ".pub", "-v"]
        if !certificateBeside { extra += ["-o", "CertificateFile=\(certificate)"] }
        let r = try s.run("copy-id", extra)
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"), "\(r)")
        let hostAlgorithm = type == "rsa" ? "rsa-sha2-512-cert-v01@openssh.com" : "ssh-ed25519-cert-v01@openssh.com"
        #expect(r.stderr.contains("keysmith: kex: host key algorithm: \(hostAlgorithm)"), "\(r)")
        #expect(r.stderr.contains("authenticated with publickey (\(certificate))"), "\(r)")
        #expect(!r.stderr.contains("authenticity"), "\(r)")
        #expect(try readText(s.knownHosts) == s.knownHostsText)
        let userAlgorithm = type == "rsa" ? "RSA-CERT" : "ED25519-CERT"
        #expect(s.sshd.log.contains("Accepted publickey for \(s.sshd.user)"), "\(s.sshd.log)")
        #expect(s.sshd.log.contains(userAlgorithm), "\(s.sshd.log)")

        // The proof: OpenSSH's ssh logs in with the new key, which sshd knows only from the deploy.
        let login = try s.sshLogin(identity: new)
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        #expect(login.stdout == s.sshd.user + "\n")
        #expect(s.sshd.authorizedKeys() == (try readText(new + ".pub")))
    }

    @Test(
        "PubkeyAcceptedAlgorithms decides whether the user certificate is offered, as for ssh",
        arguments: [
            ("ed25519", "-*-cert-v01@openssh.com", false),
            ("rsa", "rsa-sha2-256-cert-v01@openssh.com", true),
            ("rsa", "rsa-sha2-512,rsa-sha2-256", false),
        ]
    )
    func acceptedAlgorithms(type: String, list: String, logsIn: Bool) throws {
        let s = try Setup(type: type)
        let option = "PubkeyAcceptedAlgorithms=\(list)"
        let ssh = try s.sshLogin(identity: s.key, ["-o", option])
        #expect(ssh.status == (logsIn ? 0 : 255), "\(ssh)")
        let r = try s.run("list-ids", ["-o", option])
        #expect(r.status == (logsIn ? 0 : 1), "\(r)\n\(s.sshd.log)")
        if !logsIn {
            // sshd knows the CA alone: the plain key is offered and refused, the certificate never.
            #expect(r.stderr.contains("its algorithm is not in PubkeyAcceptedAlgorithms"), "\(r)")
            #expect(s.complaint(r).count == 1, "\(r)")
        }
    }

    @Test("a security key logs in with its user certificate, signing on the authenticator")
    func securityKeyCertificate() throws {
        let s = try Setup(type: "ed25519-sk")
        let r = try s.run("list-ids", ["-v", "-o", "SecurityKeyProvider=\(try SoftAuthenticator.path())"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stderr.contains("authenticated with publickey (\(s.key)-cert.pub)"), "\(r)")
        #expect(s.sshd.log.contains("ED25519-SK-CERT"), "\(s.sshd.log)")
        #expect(s.sshd.authorizedKeys() == nil)
    }

    @Test("rotate logs in with the user certificate alone, installs the new key, proves it and removes the old one")
    func rotate() throws {
        let s = try Setup()
        let old = try s.newKey("old_key")
        let copied = try s.run("copy-id", ["-i", old + ".pub"])
        #expect(copied.status == 0, "\(copied)")
        // Only the certificate can log keysmith in now.
        try FileManager.default.removeItem(atPath: old)
        let new = try s.newKey("new_key")
        let r = try s.run("rotate", ["-i", new, "--old", old + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(s.sshd.authorizedKeys() == (try readText(new + ".pub")))
        let login = try s.sshLogin(identity: new)
        #expect(login.status == 0, "\(login)")
    }

    @Test("a CertificateFile pairs with the key ssh-agent holds; the agent signs for the certificate")
    func agentKey() throws {
        let s = try Setup(certificateBeside: false)
        let socket = s.dir.path("agent.sock")
        // A daemon must not be a Foundation Process child (see spawnDaemon).
        let pid = try spawnDaemon("/usr/bin/ssh-agent", ["-D", "-a", socket], log: s.dir.path("agent.log"))
        defer {
            // ssh-agent may have inherited a blocked SIGTERM (see AgentClientTests); SIGKILL it.
            kill(pid, SIGKILL)
            stopDaemon(pid)
        }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard Date() < deadline else { throw FixtureError("ssh-agent did not create \(socket)") }
            usleep(20_000)
        }
        _ = try runProcess("/usr/bin/ssh-add", [s.key], environment: ["SSH_AUTH_SOCK": socket]).checked("ssh-add")
        // Only the agent holds the key, and not the certificate.
        try FileManager.default.removeItem(atPath: s.key)
        let listed = try runProcess("/usr/bin/ssh-add", ["-L"], environment: ["SSH_AUTH_SOCK": socket])
        #expect(!listed.stdout.contains("cert"), "\(listed)")
        let certificate = s.dir.path("user-cert.pub")
        let r = try runProcess(
            keysmithPath,
            [
                "list-ids", "-v", "-p", String(s.sshd.port), "-o", "UserKnownHostsFile=\(s.knownHosts)",
                "-o", "BatchMode=yes", "-o", "CertificateFile=\(certificate)", s.destination,
            ],
            environment: ["HOME": s.dir.path("home"), "SSH_AUTH_SOCK": socket]
        )
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stderr.contains("authenticated with publickey (\(certificate))"), "\(r)")
    }

    @Test(
        "a host certificate or CA keysmith must not trust is refused in one sentence, and nothing changes",
        arguments: [
            ("expired host certificate", "expired at"),
            ("host certificate for another name", "is not valid for the host \"127.0.0.1\""),
            ("revoked host CA", "is marked as revoked in"),
            ("expired user certificate", "permission denied"),
        ]
    )
    func refused(_ why: String, _ reason: String) throws {
        let s: Setup
        switch why {
        case "expired host certificate": s = try Setup(hostValidity: "20000101:20000102")
        case "host certificate for another name": s = try Setup(hostNames: "other.example")
        case "revoked host CA": s = try Setup(revokeCA: true)
        default: s = try Setup(userValidity: "20000101:20000102")
        }
        let new = try s.newKey("new_key")
        let r = try s.run("copy-id", ["-i", new + ".pub"])
        #expect(r.status == 1, "\(why): \(r)")
        let complaint = s.complaint(r)
        #expect(complaint.count == 1, "\(why): \(r)")
        #expect(complaint.first?.contains(reason) == true, "\(why): \(r)")
        #expect(s.sshd.authorizedKeys() == nil, "\(why)")
        #expect(try readText(s.knownHosts) == s.knownHostsText, "\(why)")
    }

    @Test(
        "copy-id --cert-authority installs one cert-authority line that sshd honours; list-ids shows it; remove-id removes it"
    )
    func installCertificateAuthority() throws {
        let s = try Setup()
        let team = try s.newKey("team_ca")
        let r = try s.run("copy-id", ["--cert-authority", team + ".pub", "--principals", "deployer,ops"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        let caPublic = try readText(team + ".pub")
        let expected = "cert-authority,principals=\"deployer,ops\" " + caPublic
        #expect(s.sshd.authorizedKeys() == expected)

        // A key certified by the installed CA for the principal "ops" logs in with OpenSSH's ssh.
        let member = try s.newKey("member")
        _ = try keygen(["-q", "-s", team, "-I", "member", "-n", "ops", member + ".pub"]).checked("ssh-keygen -s")
        let login = try s.sshLogin(identity: member)
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        // Not for a principal the line does not list.
        let stranger = try s.newKey("stranger")
        _ = try keygen(["-q", "-s", team, "-I", "stranger", "-n", s.sshd.user, stranger + ".pub"])
            .checked("ssh-keygen -s")
        #expect(try s.sshLogin(identity: stranger).status != 0)

        let again = try s.run("copy-id", ["--cert-authority", team + ".pub", "--principals", "deployer,ops"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stderr.contains("All keys were skipped"), "\(again)")
        #expect(s.sshd.authorizedKeys() == expected)

        let fingerprint = try keygen(["-l", "-f", team + ".pub"]).checked("ssh-keygen -l").stdout
            .trimmingCharacters(in: .newlines)
        let list = try s.run("list-ids")
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout == fingerprint + " certificate authority for principals deployer,ops\n", "\(list)")
        let json = try s.run("list-ids", ["--json"])
        #expect(json.stdout.contains("\"certificateAuthority\":true,\"principals\":[\"deployer\",\"ops\"]"), "\(json)")

        let removed = try s.run("remove-id", ["-i", team + ".pub"])
        #expect(removed.status == 0, "\(removed)")
        #expect(s.sshd.authorizedKeys() == "")
        #expect(try s.sshLogin(identity: member).status != 0)
    }

    @Test("--principals needs --cert-authority, and -i and --cert-authority exclude each other")
    func usage() throws {
        let a = try keysmith("copy-id", "--principals", "ops", "host.example")
        #expect(a.status == 64 && a.stderr.contains("--principals needs --cert-authority"), "\(a)")
        let b = try keysmith("copy-id", "-i", "k.pub", "--cert-authority", "ca.pub", "host.example")
        #expect(b.status == 64 && b.stderr.contains("give one of them"), "\(b)")
        let c = try keysmith("copy-id", "--cert-authority", "ca.pub", "--principals", "a\"b", "host.example")
        #expect(c.status == 64, "\(c)")
    }
}
