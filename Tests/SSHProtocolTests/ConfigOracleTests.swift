import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

/// One configuration and destination that keysmith must resolve as `ssh -G -F CONFIG dest` does.
struct OracleCase: Sendable, CustomStringConvertible {
    var config: String
    var destination: String
    var options: [String] = []
    var description: String { "\(self.destination) \(self.options) with \(self.config.debugDescription)" }
}

/// `ssh -G` is the oracle: for each configuration, keysmith's resolution must name the same
/// host, port, user, identity files, algorithm lists and the keywords it implements.
@Suite("ssh_config against ssh -G")
struct ConfigOracleTests {
    static let sections = """
        Host *.example.com !bad.example.com
            User example
        Host web w
          HostName web.example.com
          Port=2222
          IdentityFile ~/.ssh/id_%h_%r
        Host *
          User fallback
          Port 2200
          IdentityFile %d/.ssh/second
        """

    static let cases: [OracleCase] = [
        OracleCase(config: "", destination: "web"),
        OracleCase(config: sections, destination: "web"),
        OracleCase(config: sections, destination: "a.example.com"),
        OracleCase(config: sections, destination: "bad.example.com"),
        // Host patterns see the host as typed (match.c match_pattern is case-sensitive).
        OracleCase(config: sections, destination: "BAD.example.com"),
        OracleCase(config: sections, destination: "alice@w"),
        // A Match sees what the lines before it set: HostName, User.
        OracleCase(
            config: """
                Match user alice
                  Port 1234
                Match host real.example
                  User bob
                Host web
                  HostName real.example
                Match host real.example
                  IdentityFile ~/.ssh/after
                """,
            destination: "alice@web"
        ),
        OracleCase(
            config:
                "Host web\n  HostName %h.inside\nMatch host *.inside !originalhost w*\n  Port 1\nMatch host *.inside originalhost web\n  Port 2\n",
            destination: "web"
        ),
        OracleCase(
            config: "Match !host web,db\n  Port 3\nMatch localuser \(localUserName)\n  User local\n",
            destination: "db"
        ),
        OracleCase(config: "Match !localuser \(localUserName)\n  User other\nMatch all\n  Port 4\n", destination: "x"),
        OracleCase(config: "Match user root,alice,\(localUserName)\n  Port 5\n", destination: "carol@x"),
        // exec through /bin/sh -c with the tokens ssh expands; several criteria on one line.
        OracleCase(
            config: """
                Host web
                  Port 2022
                Match exec "test %h = web -a %p = 2022 -a %n = web -a %r = \(localUserName) -a %u = \(localUserName)"
                  User tokens
                Match host web exec false
                  IdentityFile ~/.ssh/never
                Match host web !exec false user tokens
                  IdentityFile ~/.ssh/always
                """,
            destination: "web"
        ),
        OracleCase(config: "Match exec \"exit 3\"\n  Port 6\nMatch !exec \"exit 3\"\n  Port 7\n", destination: "x"),
        // The second pass: Match canonical and final hold in it alone.
        OracleCase(
            config: "Match canonical\n  Port 8\nMatch final\n  User final\nMatch !final\n  IdentityFile ~/.ssh/first\n",
            destination: "x"
        ),
        OracleCase(config: "Match !canonical\n  Port 9\nMatch canonical\n  Port 10\n", destination: "x"),
        OracleCase(
            config:
                "Host web\n  HostName Real.Example\nMatch final host real.example\n  User canon\nHost real.example\n  Port 11\n",
            destination: "web"
        ),
        // Canonicalisation that needs no name server: addresses, names past MaxDots,
        // domains that do not resolve with the local fallback.
        OracleCase(
            config:
                "CanonicalizeHostname yes\nHost 127.0.0.1\n  User loop\nMatch canonical host 127.0.0.1\n  Port 12\n",
            destination: "127.1"
        ),
        OracleCase(config: "Host *\n  HostName 127.000.0.1\n", destination: "x"),
        OracleCase(
            config: "CanonicalizeHostname yes\nCanonicalizeMaxDots 0\nCanonicalDomains invalid\nHost a.b\n  Port 13\n",
            destination: "a.b"
        ),
        OracleCase(
            config: "CanonicalizeHostname always\nCanonicalDomains invalid\nMatch canonical\n  Port 14\n",
            destination: "nothere"
        ),
        OracleCase(config: "Match all\n  Include /nonexistent/*\n  Port 15\n", destination: "x"),
        OracleCase(config: "Host x\n  CheckHostIP yes\nHost *\n  CheckHostIP no\n", destination: "x"),
        OracleCase(config: "BindInterface lo\nBindInterface eth0\nBindAddress 127.0.0.1\n", destination: "x"),
        // The keywords keysmith implements beside the host.
        OracleCase(
            config: """
                Host *
                  AddressFamily inet6
                  ServerAliveInterval 1m30s
                  ServerAliveCountMax 5
                  RekeyLimit 1G 1h
                  ConnectionAttempts 3
                  ConnectTimeout 7
                  BindAddress 127.0.0.1
                  SetEnv A=1 "B=two words"
                  SetEnv C=ignored
                  SendEnv LANG LC_*
                  SendEnv -LC_* X
                  CheckHostIP no
                  StrictHostKeyChecking accept-new
                  BatchMode yes
                  IdentitiesOnly yes
                  HostKeyAlias Alias.Example
                """,
            destination: "x"
        ),
        OracleCase(config: "RekeyLimit default none\nRekeyLimit 2M 30m\nServerAliveInterval 0\n", destination: "x"),
        OracleCase(
            config: "RekeyLimit 512K\nAddressFamily inet\n",
            destination: "x",
            options: ["ServerAliveCountMax=0"]
        ),
        OracleCase(
            config: "Host *\n  ProxyJump jump@bastion:2222\n  ProxyCommand ignored %h\n",
            destination: "x"
        ),
        OracleCase(config: "ProxyCommand nc %h %p\n", destination: "x"),
        OracleCase(
            config: """
                Ciphers -chacha20*
                KexAlgorithms ^diffie-hellman-group14-sha256
                MACs hmac-sha2-512,hmac-sha2-256
                HostKeyAlgorithms +ssh-ed25519-cert-v01@openssh.com
                """,
            destination: "x"
        ),
        OracleCase(config: "", destination: "x", options: ["Port=2000", "User=opt", "RekeyLimit=64K 10"]),
        // PubkeyAcceptedAlgorithms against KEX_DEFAULT_PK_ALG; patterns select in sshkey.c's order.
        OracleCase(config: "PubkeyAcceptedAlgorithms -rsa-sha2-*,ecdsa*\n", destination: "x"),
        OracleCase(config: "PubkeyAcceptedAlgorithms ^rsa-sha2-256,sk-*\n", destination: "x"),
        OracleCase(config: "PubkeyAcceptedAlgorithms ssh-ed25519*,ssh-rsa*\n", destination: "x"),
        OracleCase(config: "PubkeyAcceptedAlgorithms rsa-sha2-256\nRequiredRSASize 3072\n", destination: "x"),
        OracleCase(
            config: "Host x\n  PubkeyAcceptedKeyTypes +ssh-rsa\nHost *\n  PubkeyAcceptedAlgorithms ssh-ed25519\n",
            destination: "x"
        ),
        OracleCase(
            config: "PubkeyAcceptedAlgorithms ssh-ed25519\nRequiredRSASize 4096\n",
            destination: "x",
            options: ["PubkeyAcceptedAlgorithms=+ssh-rsa-cert-v01@openssh.com", "RequiredRSASize=2048"]
        ),
        // RevokedHostKeys as written (ssh 9.2 expands nothing), none for no file.
        OracleCase(config: "RevokedHostKeys ~/revoked.krl\nNoHostAuthenticationForLocalhost yes\n", destination: "x"),
        OracleCase(config: "Host x\n  RevokedHostKeys none\n  NoHostAuthenticationForLocalhost no\n", destination: "x"),
        OracleCase(config: "KnownHostsCommand /usr/bin/printf %H %I\n", destination: "x"),
        OracleCase(config: "KnownHostsCommand none\nKnownHostsCommand /bin/false\n", destination: "x"),
    ]

    /// Configurations ssh refuses, and keysmith must too.
    static let refused: [OracleCase] = [
        OracleCase(config: "Match nosuch x\n  Port 1\n", destination: "x"),
        OracleCase(config: "Match all host x\n  Port 1\n", destination: "x"),
        OracleCase(config: "Match host\n  Port 1\n", destination: "x"),
        OracleCase(
            config: "CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\nCanonicalDomains invalid\n",
            destination: "nothere"
        ),
        OracleCase(config: "RekeyLimit 8\n", destination: "x"),
        OracleCase(config: "SetEnv NOEQUALS\n", destination: "x"),
        OracleCase(config: "AddressFamily inet7\n", destination: "x"),
        OracleCase(config: "PubkeyAcceptedAlgorithms rsa-sha2-256,nosuch\n", destination: "x"),
        OracleCase(config: "PubkeyAcceptedKeyTypes +nosuch*\n", destination: "x"),
        OracleCase(config: "RequiredRSASize -5\n", destination: "x"),
        OracleCase(config: "RequiredRSASize 2k\n", destination: "x"),
        OracleCase(config: "NoHostAuthenticationForLocalhost maybe\n", destination: "x"),
    ]

    static var localUserName: String {
        guard let pw = getpwuid(getuid()) else { return "root" }
        return String(cString: pw.pointee.pw_name)
    }

    static var homeDirectory: String {
        guard let pw = getpwuid(getuid()) else { return "/root" }
        return String(cString: pw.pointee.pw_dir)
    }

    /// `ssh -G`'s lines as keyword → values (a keyword may repeat).
    static func sshG(_ c: OracleCase, file: String) throws -> (status: Int32, values: [String: [String]]) {
        var arguments = ["-G", "-F", file]
        for o in c.options { arguments += ["-o", o] }
        arguments.append(c.destination)
        let result = try runProcess(Tool.ssh, arguments)
        var values: [String: [String]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            values[String(parts[0]).lowercased(), default: []].append(parts.count > 1 ? String(parts[1]) : "")
        }
        return (result.status, values)
    }

    static func keysmith(_ c: OracleCase, file: String) throws -> SSHResolvedConfig {
        var config = SSHConfig()
        for o in c.options { try config.addOption(o) }
        try config.addFile(atPath: file, sshDirectory: homeDirectory + "/.ssh")
        return try config.resolve(
            destination: SSHDestination(parsing: c.destination),
            localUser: localUserName,
            home: homeDirectory
        )
    }

    /// ssh's algorithm list narrowed to the names keysmith implements.
    static func supportedOnly(_ list: String?, _ supported: [String]) -> [String] {
        (list ?? "").split(separator: ",").map(String.init).filter { supported.contains($0) }
    }

    @Test("keysmith resolves each configuration as ssh -G prints it", arguments: cases)
    func matchesSSH(_ c: OracleCase) throws {
        let dir = try TempDir()
        try dir.write("config", c.config)
        let file = dir.path("config")
        let (status, ssh) = try Self.sshG(c, file: file)
        try #require(status == 0, "ssh -G failed for \(c)")
        let k = try Self.keysmith(c, file: file)
        func one(_ key: String) -> String? { ssh[key]?.first }
        #expect(k.hostName == one("hostname"))
        #expect(String(k.port) == one("port"))
        #expect(k.user == one("user"))
        let home = Self.homeDirectory
        // ssh -G prints identity files before ~ and % tokens are expanded.
        let tokens = ["%d": home, "%h": k.hostName, "%r": k.user, "%p": String(k.port), "%u": Self.localUserName]
        let sshIdentities = (ssh["identityfile"] ?? []).map { file in
            var f = file.hasPrefix("~/") ? home + file.dropFirst() : file
            for (token, value) in tokens { f = f.replacingOccurrences(of: token, with: value) }
            return f
        }
        if k.identityFilesAreDefaults {
            // ssh's defaults also name id_xmss and id_dsa, key types keysmith does not read.
            #expect(k.identityFiles == sshIdentities.filter { !$0.hasSuffix("id_xmss") && !$0.hasSuffix("id_dsa") })
        } else {
            #expect(k.identityFiles == sshIdentities)
        }
        let algorithms = try k.algorithms()
        let base = SSHAlgorithms.clientDefaults
        #expect(algorithms.keyExchange == Self.supportedOnly(one("kexalgorithms"), base.keyExchange))
        #expect(algorithms.ciphers == Self.supportedOnly(one("ciphers"), base.ciphers))
        #expect(algorithms.macs == Self.supportedOnly(one("macs"), base.macs))
        // keysmith offers host certificate algorithms only where known_hosts has a CA for
        // the host (HostKeyPolicy), so the plain ones are compared.
        #expect(
            algorithms.hostKey.filter(base.hostKey.contains)
                == Self.supportedOnly(one("hostkeyalgorithms"), base.hostKey)
        )
        #expect((k.checkHostIP ? "yes" : "no") == one("checkhostip"))
        #expect(
            try k.publicKeyAlgorithms()
                == Self.supportedOnly(one("pubkeyacceptedalgorithms"), SSHAlgorithms.supportedPublicKey)
        )
        #expect(String(k.requiredRSASize) == one("requiredrsasize"))
        #expect(k.revokedHostKeys == one("revokedhostkeys"))
        #expect(k.knownHostsCommand?.words.joined(separator: " ") == one("knownhostscommand"))
        #expect((k.noHostAuthenticationForLocalhost ? "yes" : "no") == one("nohostauthenticationforlocalhost"))
        #expect(k.addressFamily.rawValue == one("addressfamily"))
        #expect(String(k.serverAliveInterval) == one("serveraliveinterval"))
        #expect(String(k.serverAliveCountMax) == one("serveralivecountmax"))
        #expect("\(k.rekeyLimitBytes ?? 0) \(k.rekeyLimitSeconds ?? 0)" == one("rekeylimit"))
        #expect(String(k.connectionAttempts) == one("connectionattempts"))
        #expect(k.connectTimeout.map { String(Int($0)) } ?? "none" == one("connecttimeout"))
        #expect(k.bindAddress == one("bindaddress"))
        #expect(k.bindInterface == one("bindinterface"))
        #expect(k.setEnv == (ssh["setenv"] ?? []))
        #expect(k.sendEnv == (ssh["sendenv"] ?? []))
        let strict: [StrictHostKeyChecking: String] = [
            .yes: "true", .no: "false", .ask: "ask", .acceptNew: "accept-new",
        ]
        #expect(strict[k.strictHostKeyChecking] == one("stricthostkeychecking"))
        #expect((k.batchMode ? "yes" : "no") == one("batchmode"))
        #expect((k.identitiesOnly ? "yes" : "no") == one("identitiesonly"))
        #expect(k.hostKeyAlias == one("hostkeyalias"))
        #expect(k.proxyJump?.description == one("proxyjump"))
        #expect((k.proxyCommand != nil) == (one("proxycommand") != nil))
    }

    @Test("what ssh refuses, keysmith refuses with a sentence naming the line", arguments: refused)
    func refusesAsSSH(_ c: OracleCase) throws {
        let dir = try TempDir()
        try dir.write("config", c.config)
        let file = dir.path("config")
        let (status, _) = try Self.sshG(c, file: file)
        #expect(status != 0, "ssh -G accepted \(c)")
        do {
            _ = try Self.keysmith(c, file: file)
            Issue.record("keysmith accepted \(c)")
        } catch let error as SSHProtocolError {
            #expect(!error.message.contains("\n"))
            if error.code == .invalidConfiguration {
                #expect(error.message.hasPrefix("\(file) line "), "\(error.message)")
            }
        }
    }
}
