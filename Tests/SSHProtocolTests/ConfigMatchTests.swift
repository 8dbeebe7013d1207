import Foundation
import KeysmithTestSupport
import SSHProtocol
import Testing

@Suite("ssh_config Match, canonicalisation and refusals")
struct ConfigMatchTests {
    let home = "/home/me"

    func resolve(
        _ text: String,
        options: [String] = [],
        host: String = "web",
        resolver: SSHNameResolver = SSHNameResolver { _, _ in nil }
    ) throws(SSHProtocolError) -> SSHResolvedConfig {
        var config = SSHConfig()
        for o in options { try config.addOption(o) }
        try config.addFile(contents: text, path: "/cfg", sshDirectory: home + "/.ssh")
        return try config.resolve(
            destination: try SSHDestination(parsing: host),
            localUser: "me",
            home: home,
            resolver: resolver
        )
    }

    @Test("an unknown Match criterion is one sentence naming it, the file and the line")
    func unknownCriterion() {
        #expect {
            _ = try resolve("Host x\n  Port 1\nMatch host web bogus yes\n  Port 2\n")
        } throws: { error in
            let e = error as? SSHProtocolError
            return e?.code == .invalidConfiguration && e?.message == "/cfg line 3: unknown Match criterion 'bogus'"
        }
        #expect(throws: SSHProtocolError.self) { _ = try resolve("Match tagged x\n") }
    }

    @Test("a Match exec that hangs is killed after ConnectTimeout and named")
    func execHangs() throws {
        let dir = try TempDir()
        let marker = dir.path("child-alive")
        let start = ContinuousClock.now
        do {
            _ = try resolve(
                "Match exec \"sleep 30; touch \(marker)\"\n  Port 2\n",
                options: ["ConnectTimeout=1"]
            )
            Issue.record("a hanging Match exec was not stopped")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message.contains("/cfg line 1: Match exec 'sleep 30; touch \(marker)'"), "\(error.message)")
            #expect(error.message.contains("within 1 seconds"), "\(error.message)")
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        // The shell's own child was killed with it: the marker never appears.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("Match exec sees the tokens; its standard output is not ours")
    func execTokens() throws {
        let c = try resolve(
            "Host web\n  HostName real\nMatch exec \"echo noise; test %h.%n.%r.%p = real.web.me.22\"\n  Port 7\n"
        )
        #expect(c.port == 7)
    }

    @Test("CanonicalDomains: the first domain that resolves names the host; the second pass sees it")
    func canonicalDomains() throws {
        let resolver = SSHNameResolver { name, _ in name == "web.b.test." ? "web.b.test" : nil }
        let text = """
            CanonicalizeHostname yes
            CanonicalDomains a.test b.test
            Host web.b.test
              Port 2022
            Match canonical originalhost web
              User canon
            """
        let c = try resolve(text, resolver: resolver)
        #expect(c.hostName == "web.b.test" && c.port == 2022 && c.user == "canon")
        // More dots than CanonicalizeMaxDots: left alone.
        let d = try resolve(text, host: "web.x.y", resolver: resolver)
        #expect(d.hostName == "web.x.y" && d.port == 22)
        // Not found, with and without the local fallback.
        #expect(try resolve(text, host: "db", resolver: resolver).hostName == "db")
        #expect(throws: SSHProtocolError.self) {
            _ = try resolve("CanonicalizeFallbackLocal no\n" + text, host: "db", resolver: resolver)
        }
        // No canonicalisation behind a proxy unless CanonicalizeHostname always.
        #expect(try resolve("ProxyJump j\n" + text, resolver: resolver).hostName == "web")
        let always = text.replacingOccurrences(of: "yes", with: "always")
        #expect(try resolve("ProxyJump j\n" + always, resolver: resolver).hostName == "web.b.test")
    }

    @Test("CanonicalizePermittedCNAMEs: a CNAME is followed only where a rule allows it")
    func permittedCNAMEs() throws {
        let resolver = SSHNameResolver { name, _ in name == "web.a.test." ? "node7.cluster.test" : nil }
        let text = "CanonicalizeHostname yes\nCanonicalDomains a.test\n"
        #expect(try resolve(text, resolver: resolver).hostName == "web.a.test")
        let allowed = text + "CanonicalizePermittedCNAMEs *.a.test:*.cluster.test\n"
        #expect(try resolve(allowed, resolver: resolver).hostName == "node7.cluster.test")
        let other = text + "CanonicalizePermittedCNAMEs *.a.test:*.elsewhere.test\n"
        #expect(try resolve(other, resolver: resolver).hostName == "web.a.test")
    }

    @Test(
        "a keyword that changes how ssh connects and keysmith does not implement is refused where it applies",
        arguments: [
            "GSSAPIAuthentication yes", "PKCS11Provider /usr/lib/p11.so",
            "VerifyHostKeyDNS ask", "HostbasedAuthentication yes",
        ]
    )
    func refused(line: String) throws {
        let keyword = String(line.prefix { $0 != " " })
        #expect {
            _ = try resolve("Host web\n  \(line)\n")
        } throws: { error in
            let m = (error as? SSHProtocolError)?.message ?? ""
            return m.hasPrefix("/cfg line 2: keysmith does not implement \(keyword)") && !m.contains("\n")
        }
        // Not for another host, and not with its harmless value.
        _ = try resolve("Host db\n  \(line)\n")
        _ = try resolve("Host web\n  GSSAPIAuthentication no\n  CheckHostIP no\n  PKCS11Provider none\n")
    }

    @Test("ProxyUseFdpass: with a ProxyCommand only, never with ProxyJump or ProxyCommand -, as ssh.c")
    func proxyUseFdpass() throws {
        #expect(try resolve("ProxyUseFdpass yes\nProxyCommand nc -F %h %p\n").proxyUseFdpass)
        #expect(try !resolve("ProxyUseFdpass no\nProxyCommand nc -F %h %p\n").proxyUseFdpass)
        #expect(try !resolve("ProxyUseFdpass yes\nProxyJump j@b\n").proxyUseFdpass)
        #expect(try !resolve("ProxyUseFdpass yes\n").proxyUseFdpass)
        #expect {
            _ = try resolve("ProxyUseFdpass yes\nProxyCommand -\n")
        } throws: { error in
            (error as? SSHProtocolError)?.message == "/cfg line 1: ProxyCommand=- and ProxyUseFdpass are incompatible"
        }
        #expect(throws: SSHProtocolError.self) { _ = try resolve("ProxyUseFdpass maybe\n") }
    }

    @Test("ignored keywords are not refused; the first of ProxyJump and ProxyCommand wins")
    func ignoredAndProxy() throws {
        let c = try resolve(
            "ControlMaster auto\nControlPath ~/.ssh/%C\nForwardAgent yes\nTunnel yes\nProxyJump j@b\nProxyCommand nc %h %p\n"
        )
        #expect(c.hostName == "web")
        #expect(c.proxyJump?.description == "j@b")
        #expect(c.proxyCommand == nil)
    }

    @Test("IdentityAgent: a path with ~ and tokens, SSH_AUTH_SOCK, $NAME and none, as parse_agent_path keeps them")
    func identityAgent() throws {
        #expect(try resolve("").identityAgent == .environment("SSH_AUTH_SOCK"))
        let path = try resolve("IdentityAgent ~/.ssh/agent-%h.sock\n").identityAgent
        #expect(path == .socket("/home/me/.ssh/agent-web.sock"))
        #expect(try resolve("IdentityAgent SSH_AUTH_SOCK\n").identityAgent == .environment("SSH_AUTH_SOCK"))
        #expect(try resolve("IdentityAgent $OTHER_SOCK\n").identityAgent == .environment("OTHER_SOCK"))
        #expect(try resolve("IdentityAgent none\nIdentityAgent /x\n").identityAgent == .none)
        #expect(try resolve("Host db\n  IdentityAgent none\n").identityAgent == .environment("SSH_AUTH_SOCK"))
    }

    @Test("PubkeyAuthentication, PasswordAuthentication, KbdInteractiveAuthentication no take methods out")
    func authenticationSwitches() throws {
        let c = try resolve("PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
        #expect(c.preferredAuthentications == [.publicKey])
        #expect(try resolve("PubkeyAuthentication no\n").preferredAuthentications == [.keyboardInteractive, .password])
    }
}
