import Foundation
import KeysmithTestSupport
import SSHKeys
import SSHProtocol
import Testing

@Suite("destinations")
struct DestinationTests {
    @Test(
        "parses the forms ssh accepts",
        arguments: [
            ("host", nil, "host", nil),
            ("alice@host", "alice", "host", nil),
            ("a@b@host", "a@b", "host", nil),
            ("alice@[::1]", "alice", "::1", nil),
            ("ssh://host", nil, "host", nil),
            ("ssh://alice@host:2222", "alice", "host", 2222),
            ("ssh://al%40ice;fp=x@host:22/", "al@ice", "host", 22),
            ("ssh://[::1]:2222", nil, "::1", 2222),
            ("SSH://bob@[fe80::1]", "bob", "fe80::1", nil),
            ("[::1]:2222", nil, "::1", 2222),
            ("alice@[::1]:2222", "alice", "::1", 2222),
            ("fe80::1%lo", nil, "fe80::1%lo", nil),
            ("alice@[fe80::1%lo]", "alice", "fe80::1%lo", nil),
            ("ssh://alice@[fe80::1%lo]:2222", "alice", "fe80::1%lo", 2222),
        ] as [(String, String?, String, Int?)]
    )
    func parses(text: String, user: String?, host: String, port: Int?) throws {
        let d = try SSHDestination(parsing: text)
        #expect(d.user == user)
        #expect(d.host == host)
        #expect(d.port == port)
    }

    @Test(
        "refuses malformed ones",
        arguments: [
            "", "@host", "user@", "ssh://host:0", "ssh://host:x", "ssh://[::1", "ssh://h/path", "-oProxyCommand=x",
            "[::1]:0", "[::1]x", "[::1]:", "alice@[::1]:65536",
        ]
    )
    func refuses(text: String) {
        #expect(throws: SSHProtocolError.self) { try SSHDestination(parsing: text) }
    }
}

@Suite("ssh_config")
struct ConfigTests {
    let home = "/home/me"

    func resolve(_ text: String, options: [String] = [], host: String = "web") throws -> SSHResolvedConfig {
        var config = SSHConfig()
        for o in options { try config.addOption(o) }
        try config.addFile(contents: text, path: "config", sshDirectory: home + "/.ssh")
        return try config.resolve(destination: try SSHDestination(parsing: host), localUser: "me", home: home)
    }

    @Test("defaults are ssh's")
    func defaults() throws {
        let c = try resolve("")
        #expect(c.hostName == "web" && c.port == 22 && c.user == "me")
        #expect(c.strictHostKeyChecking == .ask && !c.batchMode && !c.identitiesOnly)
        #expect(c.identityFilesAreDefaults)
        #expect(c.userKnownHostsFiles == ["/home/me/.ssh/known_hosts", "/home/me/.ssh/known_hosts2"])
        #expect(c.preferredAuthentications == [.publicKey, .keyboardInteractive, .password])
        #expect(c.connectTimeout == nil)
        // readconf.c fill_default_options: each security key after its software kin.
        #expect(
            c.identityFiles
                == ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk"].map { "/home/me/.ssh/" + $0 }
        )
        #expect(c.securityKeyProvider == nil)
    }

    @Test("SecurityKeyProvider: the first value wins, -o before the file, as written")
    func securityKeyProvider() throws {
        let text = "Host web\n  SecurityKeyProvider /lib/from-file.so\n"
        #expect(try resolve(text).securityKeyProvider == "/lib/from-file.so")
        let c = try resolve(text, options: ["SecurityKeyProvider=$MY_PROVIDER"])
        #expect(c.securityKeyProvider == "$MY_PROVIDER")
    }

    @Test("Host sections: patterns, negation, first value wins, IdentityFile accumulates, tokens")
    func sections() throws {
        let text = """
            # comment
            Host *.example.com !bad.example.com
                User example
            Host web w
              HostName web.example.com
              Port=2222
              IdentityFile ~/.ssh/id_%h_%r
              User "web user"
            Host *
              User fallback
              Port 2200
              IdentityFile %d/.ssh/second
              IdentityFile ~/.ssh/id_%h_%r
              StrictHostKeyChecking accept-new
              UnknownKeyword whatever
              ConnectTimeout 1m30s
              KexAlgorithms -diffie-hellman*
            """
        let c = try resolve(text)
        #expect(c.hostName == "web.example.com")
        #expect(c.port == 2222)
        #expect(c.user == "web user")
        #expect(c.identityFiles == ["/home/me/.ssh/id_web.example.com_web user", "/home/me/.ssh/second"])
        #expect(!c.identityFilesAreDefaults)
        #expect(c.strictHostKeyChecking == .acceptNew)
        #expect(c.connectTimeout == 90)
        #expect(c.kexAlgorithms == "-diffie-hellman*")
        #expect(try resolve(text, host: "a.example.com").user == "example")
        #expect(try resolve(text, host: "bad.example.com").user == "fallback")
        // Host patterns compare bytes (match.c match_pattern): BAD is not bad, as ssh -G
        // says too (ConfigOracleTests).
        #expect(try resolve(text, host: "BAD.example.com").user == "example")
    }

    @Test("CR LF line ends read as LF ones, as readconf.c strips the CR with trailing blanks")
    func crlfLines() throws {
        let text = "Host web\r\n  User crlf\r\n  Port 2222\r\nHost *\r\n  User fallback\r\n"
        let c = try resolve(text)
        #expect(c.user == "crlf")
        #expect(c.port == 2222)
        #expect(try resolve(text, host: "other").user == "fallback")
    }

    @Test("-o options come first; the destination's user and port win over everything")
    func precedence() throws {
        let text = "Host web\n  User config\n  Port 2000\n  StrictHostKeyChecking yes\n"
        let c = try resolve(text, options: ["User=option", "Port 3000", "StrictHostKeyChecking=no", "BatchMode yes"])
        #expect(c.user == "option" && c.port == 3000 && c.strictHostKeyChecking == .no && c.batchMode)
        let d = try resolve(text, options: ["User=option"], host: "ssh://dest@web:4000")
        #expect(d.user == "dest" && d.port == 4000)
        #expect(try resolve("", options: ["StrictHostKeyChecking off"]).strictHostKeyChecking == .no)
        #expect(
            try resolve("", options: ["PreferredAuthentications=gssapi-with-mic,password,publickey"])
                .preferredAuthentications == [.password, .publicKey]
        )
        #expect(
            try resolve("", options: ["UserKnownHostsFile=/a/kh ~/kh2"]).userKnownHostsFiles == [
                "/a/kh", "/home/me/kh2",
            ]
        )
    }

    @Test("a Match whose exec fails does not apply; Match all does")
    func match() throws {
        let c = try resolve("Match host web exec false\n  User skipped\nMatch all\n  Port 23\n")
        #expect(c.user == "me" && c.port == 23)
    }

    @Test(
        "a bad value is one clear error naming its source",
        arguments: [
            ("Port=99999", "'99999' is not a valid value for Port"),
            ("StrictHostKeyChecking=maybe", "expected yes, accept-new, no, off or ask"),
            ("BatchMode=sometimes", "expected yes or no"),
            ("ConnectTimeout=soon", "a number of seconds"),
            ("ConnectTimeout=999999999999999w", "a number of seconds"),
            ("PreferredAuthentications=gssapi-with-mic", "publickey, keyboard-interactive or password"),
            ("IdentityFile=%z", "unknown token %z"),
            ("Host=x", "not allowed on the command line"),
            ("User", "needs a value"),
        ]
    )
    func badValue(option: String, expected: String) throws {
        var config = SSHConfig()
        do {
            try config.addOption(option)
            _ = try config.resolve(destination: SSHDestination(host: "h"), localUser: "me", home: home)
            Issue.record("no error for \(option)")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.contains("-o '\(option)'"), "\(error.message)")
        }
    }

    @Test("a bad value in a file names the file and line")
    func badValueInFile() throws {
        var config = SSHConfig()
        #expect(throws: SSHProtocolError.self) {
            try config.addFile(contents: "Host x\n  Port abc\n", path: "/tmp/cfg", sshDirectory: home)
        }
        do {
            try config.addFile(contents: "Host x\n  Port abc\n", path: "/tmp/cfg", sshDirectory: home)
        } catch {
            #expect(error.message.hasPrefix("/tmp/cfg line 2: "))
        }
    }

    @Test("Include reads further files relative to ~/.ssh")
    func include() throws {
        let dir = try TempDir()
        try dir.write("extra.conf", "Host web\n  Port 2022\n")
        var config = SSHConfig()
        try config.addFile(
            contents: "Include extra*.conf\nHost *\n  Port 1\n",
            path: "config",
            sshDirectory: dir.url.path
        )
        let c = try config.resolve(destination: SSHDestination(host: "web"), localUser: "me", home: home)
        #expect(c.port == 2022)
    }
}
