import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

/// The ssh_config keywords of certificates: CertificateFile, HostKeyAlias, CASignatureAlgorithms.
@Suite("ssh_config for certificates")
struct CertificateConfigTests {
    func resolve(_ text: String, options: [String] = []) throws -> SSHResolvedConfig {
        var config = SSHConfig()
        for o in options { try config.addOption(o) }
        try config.addFile(contents: text, path: "config", sshDirectory: "/home/me/.ssh")
        return try config.resolve(destination: try SSHDestination(parsing: "web"), localUser: "me", home: "/home/me")
    }

    @Test("CertificateFile accumulates like IdentityFile, -o first, with ~ and % tokens; none is skipped")
    func certificateFiles() throws {
        #expect(try resolve("").certificateFiles.isEmpty)
        let c = try resolve(
            "Host web\n  CertificateFile ~/.ssh/%r-cert.pub\n  CertificateFile none\n  CertificateFile /certs/b.pub\n",
            options: ["CertificateFile=/certs/a.pub"]
        )
        #expect(c.certificateFiles == ["/certs/a.pub", "/home/me/.ssh/me-cert.pub", "/certs/b.pub"])
    }

    @Test("HostKeyAlias is lowercased as ssh.c does, and names known_hosts entries instead of [host]:port")
    func hostKeyAlias() throws {
        let c = try resolve("Host web\n  Port 2222\n  HostKeyAlias Build.Example\n")
        #expect(c.hostKeyAlias == "build.example")
        let policy = HostKeyPolicy(config: c, log: { _ in })
        #expect(policy.knownHostsName == "build.example")
        #expect(
            HostKeyPolicy(config: try resolve("Host web\n  Port 2222\n"), log: { _ in }).knownHostsName == "[web]:2222"
        )
    }

    @Test("CASignatureAlgorithms: OpenSSH's default, a list, +ssh-rsa, -rsa-sha2-*; nothing known is refused")
    func caSignatureAlgorithms() throws {
        #expect(try resolve("").certificateSignatureAlgorithms() == SSHCertificate.defaultCASignatureAlgorithms)
        #expect(
            try resolve("", options: ["CASignatureAlgorithms=ssh-ed25519,rsa-sha2-512"])
                .certificateSignatureAlgorithms() == ["ssh-ed25519", "rsa-sha2-512"]
        )
        #expect(
            try resolve("", options: ["CASignatureAlgorithms=+ssh-rsa"]).certificateSignatureAlgorithms()
                == SSHCertificate.defaultCASignatureAlgorithms + ["ssh-rsa"]
        )
        #expect(
            try resolve("", options: ["CASignatureAlgorithms=-rsa-sha2-*"]).certificateSignatureAlgorithms()
                == SSHCertificate.defaultCASignatureAlgorithms.filter { !$0.hasPrefix("rsa-") }
        )
        #expect(throws: SSHProtocolError.self) {
            try resolve("", options: ["CASignatureAlgorithms=nothing-known"]).certificateSignatureAlgorithms()
        }
    }

    @Test("HostKeyAlgorithms may name host certificate algorithms, as in ssh's own list")
    func hostKeyAlgorithms() throws {
        let c = try resolve("", options: ["HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com,ssh-ed25519"])
        #expect(try c.algorithms().hostKey == ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"])
        let plain = try resolve("", options: ["HostKeyAlgorithms=+rsa-sha2-512-cert-v01@openssh.com"])
        #expect(try plain.algorithms().hostKey.last == "rsa-sha2-512-cert-v01@openssh.com")
    }
}
