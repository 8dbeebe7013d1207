import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

/// Host certificates against known_hosts `@cert-authority` and `@revoked` lines, as ssh's
/// check_host_key treats them; every certificate is made by `ssh-keygen -s`.
@Suite("host certificates in the host key policy")
struct HostCertificatePolicyTests {
    /// A host CA, a host key and the certificate `ssh-keygen -s` made of it.
    struct Made {
        let dir: TempDir
        let ca: SSHPublicKey
        let hostKey: SSHPublicKey
        let certificate: SSHPublicKey
        var caLine: String { self.ca.openSSHLine() }
    }

    /// Signs a fresh host key with a fresh CA for `names`, with `validity` (ssh-keygen -V) if given.
    func make(names: String = "127.0.0.1", validity: String? = nil, options: [String] = []) throws -> Made {
        let dir = try TempDir()
        for name in ["ca", "host"] {
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", dir.path(name)])
                .checked("ssh-keygen")
        }
        var sign = ["-q", "-s", dir.path("ca"), "-I", "host", "-h", "-n", names]
        if let validity { sign += ["-V", validity] }
        for option in options { sign += ["-O", option] }
        _ = try runProcess(Tool.sshKeygen, sign + [dir.path("host.pub")]).checked("ssh-keygen -s")
        return Made(
            dir: dir,
            ca: try SSHPublicKey(openSSHLine: try dir.readText("ca.pub")),
            hostKey: try SSHPublicKey(openSSHLine: try dir.readText("host.pub")),
            certificate: try SSHPublicKey(openSSHLine: try dir.readText("host-cert.pub"))
        )
    }

    func policy(
        _ made: Made,
        _ strict: StrictHostKeyChecking = .yes,
        port: Int = 2222,
        alias: String? = nil,
        log: LogLines = LogLines()
    ) -> HostKeyPolicy {
        var policy = HostKeyPolicy(
            hostName: "127.0.0.1",
            port: port,
            userKnownHostsFiles: [made.dir.path("known_hosts")],
            strictHostKeyChecking: strict,
            log: { log.append($0) },
            ask: { _ in "yes" }
        )
        policy.hostKeyAlias = alias
        return policy
    }

    func refusal(_ policy: HostKeyPolicy, _ key: SSHPublicKey) -> String? {
        do {
            try policy.check(key)
            return nil
        } catch {
            #expect(error.code == .hostKeyRejected)
            return error.message
        }
    }

    @Test("a certificate from a @cert-authority of the host is accepted without a question or a write")
    func accepted() throws {
        let made = try make()
        // A bare host name also covers other ports, as ssh checks again without the port.
        for pattern in ["127.0.0.1", "[127.0.0.1]:2222", "127.0.0.*"] {
            let text = "@cert-authority \(pattern) \(made.caLine)\n"
            try made.dir.write("known_hosts", text)
            let log = LogLines()
            try policy(made, .ask, log: log).check(made.certificate)
            #expect(log.all.isEmpty)
            #expect(try made.dir.readText("known_hosts") == text)
        }
    }

    @Test("HostKeyAlias names the @cert-authority line and the principal the certificate must list")
    func alias() throws {
        let made = try make(names: "build.example")
        try made.dir.write("known_hosts", "@cert-authority build.example \(made.caLine)\n")
        try policy(made, alias: "build.example").check(made.certificate)
        let refused = refusal(policy(made), made.certificate)
        #expect(refused?.contains("StrictHostKeyChecking is yes") == true, "\(refused ?? "")")
    }

    @Test(
        "a certificate of a listed CA that checkHost refuses is refused in one sentence",
        arguments: [
            ("expired", "127.0.0.1", "20000101:20000102", [String](), "expired at"),
            ("not yet valid", "127.0.0.1", "+520w:+530w", [], "is not valid until"),
            ("another host", "other.example", nil, [], "is not valid for the host \"127.0.0.1\""),
            (
                "a critical option", "127.0.0.1", nil, ["force-command=true"],
                "has the critical option \"force-command\""
            ),
        ] as [(String, String, String?, [String], String)]
    )
    func refused(_ why: String, _ names: String, _ validity: String?, _ options: [String], _ reason: String) throws {
        let made = try make(names: names, validity: validity, options: options)
        let text = "@cert-authority * \(made.caLine)\n"
        try made.dir.write("known_hosts", text)
        for strict in StrictHostKeyChecking.allCases {
            let message = refusal(policy(made, strict), made.certificate)
            #expect(message?.contains(reason) == true, "\(why): \(message ?? "accepted")")
            #expect(message?.contains("host certificate of [127.0.0.1]:2222") == true, "\(message ?? "")")
            #expect(message?.contains("\(made.dir.path("known_hosts")):1") == true, "\(message ?? "")")
        }
        #expect(try made.dir.readText("known_hosts") == text)
        // A host key known in its own right still lets the host in, as ssh falls back to it.
        try made.dir.write("known_hosts", text + "[127.0.0.1]:2222 \(made.hostKey.openSSHLine())\n")
        try policy(made).check(made.certificate)
    }

    @Test("a @revoked CA key or host key refuses the certificate, whatever StrictHostKeyChecking says")
    func revoked() throws {
        let made = try make()
        for revoked in [made.ca, made.hostKey] {
            let text = "@cert-authority * \(made.caLine)\n@revoked * \(revoked.openSSHLine())\n"
            try made.dir.write("known_hosts", text)
            for strict in StrictHostKeyChecking.allCases {
                let message = refusal(policy(made, strict), made.certificate)
                #expect(message?.contains("is marked as revoked in \(made.dir.path("known_hosts")):2") == true)
            }
            #expect(try made.dir.readText("known_hosts") == text)
        }
    }

    @Test("with no CA for the host the certified key is checked as a plain host key and recorded as one")
    func plainFallback() throws {
        let made = try make()
        let other = try make()
        // A CA for another host, and another CA for this one: neither vouches for the certificate.
        try made.dir.write(
            "known_hosts",
            "@cert-authority other.example \(made.caLine)\n@cert-authority * \(other.caLine)\n"
        )
        let refused = refusal(policy(made, .yes), made.certificate)
        #expect(refused?.contains("no ED25519 host key is known") == true, "\(refused ?? "")")
        let log = LogLines()
        try policy(made, .acceptNew, log: log).check(made.certificate)
        #expect(log.all == ["Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts."])
        #expect(try made.dir.readText("known_hosts").hasSuffix("[127.0.0.1]:2222 \(made.hostKey.openSSHLine())\n"))
        try policy(made, .yes).check(made.certificate)
    }

    @Test("CASignatureAlgorithms without the CA's algorithm refuses the certificate")
    func signatureAlgorithms() throws {
        let made = try make()
        try made.dir.write("known_hosts", "@cert-authority * \(made.caLine)\n")
        var p = policy(made)
        p.caSignatureAlgorithms = ["rsa-sha2-512"]
        #expect(refusal(p, made.certificate)?.contains("not an allowed CA signature algorithm") == true)
    }

    @Test("a @cert-authority for the host puts the host certificate algorithms first")
    func ordering() throws {
        let made = try make()
        let plain = ["ssh-ed25519", "rsa-sha2-512"]
        try made.dir.write("known_hosts", "")
        #expect(try policy(made).orderingHostKeyAlgorithms(plain) == plain)
        try made.dir.write(
            "known_hosts",
            "@cert-authority 127.0.0.1 \(made.caLine)\n[127.0.0.1]:2222 \(made.hostKey.openSSHLine())\n"
        )
        #expect(
            try policy(made).orderingHostKeyAlgorithms(plain)
                == SSHAlgorithms.supportedHostCertificate + ["ssh-ed25519", "rsa-sha2-512"]
        )
        try made.dir.write("known_hosts", "@cert-authority other.example \(made.caLine)\n")
        #expect(try policy(made).orderingHostKeyAlgorithms(plain) == plain)
    }

    @Test("certificate algorithms sign with the algorithm of the key they certify")
    func signatureAlgorithmNames() {
        #expect(SSHAlgorithms.signatureAlgorithm(of: "rsa-sha2-512-cert-v01@openssh.com") == "rsa-sha2-512")
        #expect(SSHAlgorithms.signatureAlgorithm(of: "ssh-ed25519-cert-v01@openssh.com") == "ssh-ed25519")
        #expect(
            SSHAlgorithms.signatureAlgorithm(of: "sk-ssh-ed25519-cert-v01@openssh.com") == "sk-ssh-ed25519@openssh.com"
        )
        #expect(SSHAlgorithms.signatureAlgorithm(of: "ecdsa-sha2-nistp256") == "ecdsa-sha2-nistp256")
    }
}
