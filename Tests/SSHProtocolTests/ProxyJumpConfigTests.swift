import Foundation
import KeysmithTestSupport
import SSHProtocol
import Testing

/// ProxyJump and ProxyCommand as ssh_config and `-J` give them, compared with what `ssh -G`
/// prints for the same configuration (its `proxyjump` and `proxycommand` lines).
@Suite("ProxyJump and ProxyCommand in ssh_config")
struct ProxyJumpConfigTests {
    /// A configuration, `-J` (or nil), and the `-o` options.
    struct Case: Sendable, CustomTestStringConvertible {
        var config: String
        var jump: String? = nil
        var options: [String] = []
        var testDescription: String { "\(self.jump.map { "-J \($0) " } ?? "")\(self.options) \(self.config)" }
    }

    static let cases: [Case] = [
        Case(config: "Host t\n  ProxyJump a\n"),
        Case(config: "Host t\n  ProxyJump alice@a:2222,ssh://bob@b:23,c\n"),
        Case(config: "Host t\n  ProxyJump u@10.0.0.1:22\n"),
        Case(config: "Host t\n  ProxyJump ssh://[::1]:2200\n"),
        Case(config: "Host t\n  ProxyJump ssh://bastion.example.:2200\n"),
        Case(config: "Host t\n  ProxyJump ssh://a..b\n"),
        Case(config: "Host t\n  ProxyJump [::1]:2200\n"),
        Case(config: "Host t\n  ProxyJump a,b:0\n"),
        Case(config: "Host t\n  ProxyJump a:2200,u@[fe80::1]:22\n"),
        Case(config: "Host t\n  ProxyJump a # the bastion\n"),
        Case(config: "Host t\n  ProxyJump=a,b\n"),
        Case(config: "Host t\n  ProxyJump a\nHost *\n  ProxyJump b\n"),
        Case(config: "Host t\n  ProxyJump none\nHost *\n  ProxyJump b\n"),
        Case(config: "Host t\n  ProxyCommand nc %h %p\n  ProxyJump a\n"),
        Case(config: "Host t\n  ProxyJump a\n  ProxyCommand nc %h %p\n"),
        Case(config: "Host t\n  ProxyCommand none\nHost *\n  ProxyJump a\n"),
        Case(config: "Host t\n  ProxyJump none\n  ProxyCommand nc %h %p\n"),
        Case(config: "Host *\n  ProxyJump a\n", jump: "x,y@z:23"),
        Case(config: "Host *\n  ProxyCommand nc %h %p\n", jump: "x"),
        Case(config: "Host *\n  ProxyCommand nc %h %p\n", jump: "none"),
        Case(config: "Host *\n  ProxyJump a\n", jump: "none"),
        Case(config: "Host *\n  ProxyJump a\n", options: ["ProxyJump=b"]),
        Case(config: "Host *\n  ProxyJump a\n", options: ["ProxyCommand=ssh -W %h:%p b"]),
    ]

    @Test("ProxyJump as ssh -G prints it", arguments: cases)
    func matchesOpenSSH(_ c: Case) throws {
        let dir = try TempDir()
        try writeText(dir.path("config"), c.config)
        var arguments = ["-G", "-F", dir.path("config")]
        if let jump = c.jump { arguments += ["-J", jump] }
        for o in c.options { arguments += ["-o", o] }
        let printed = try runProcess(Tool.ssh, arguments + ["t"], environment: ["HOME": dir.url.path])
        func line(_ keyword: String) -> String? {
            printed.stdout.split(separator: "\n").first { $0.hasPrefix(keyword + " ") }
                .map { String($0.dropFirst(keyword.count + 1)) }
        }

        func ours() throws -> SSHResolvedConfig {
            var config = SSHConfig()
            if let jump = c.jump { try config.addJump(jump) }
            for o in c.options { try config.addOption(o) }
            try config.addFile(contents: c.config, path: dir.path("config"), sshDirectory: dir.path(".ssh"))
            return try config.resolve(destination: SSHDestination(parsing: "t"), localUser: "me", home: dir.url.path)
        }
        guard printed.status == 0 else {
            // ssh refuses the configuration: so must we.
            #expect(throws: SSHProtocolError.self, "ssh -G: \(printed.stderr)") { try ours() }
            return
        }
        let resolved = try ours()

        #expect(resolved.proxyJump?.description == line("proxyjump"), "\(printed.stdout)")
        // ssh -G prints the command before its tokens are expanded.
        #expect((resolved.proxyCommand != nil) == (line("proxycommand") != nil), "\(printed.stdout)")
    }

    @Test("the hops of a chain in the order they are contacted, with users and ports")
    func hops() throws {
        let jump = try SSHProxyJump(parsing: "alice@a:2222,ssh://bob@b:23,c/24,[::1]", strict: true)
        #expect(jump.hops.map(\.user) == ["alice", "bob", nil, nil])
        #expect(jump.hops.map(\.host) == ["a", "b", "c", "::1"])
        #expect(jump.hops.map(\.port) == [2222, 23, 24, nil])
        #expect(jump.leadingText == "alice@a:2222,ssh://bob@b:23,c/24")
    }

    @Test(
        "values ssh refuses for -J",
        arguments: ["", "a,", ",a", "@a", "a:0", "a:x", "a:70000", "ssh://a/path", "a;b", "-oProxyCommand=x", "[::1"]
    )
    func refuses(_ value: String) throws {
        let ssh = try runProcess(Tool.ssh, ["-G", "-F", "/dev/null", "-J", value, "t"])
        #expect(ssh.status != 0, "ssh -J '\(value)' was accepted")
        var config = SSHConfig()
        #expect(throws: SSHProtocolError.self) { try config.addJump(value) }
    }

    @Test("ProxyCommand tokens: %h the HostName, %n the host as given, %p, %r, %k, %%")
    func proxyCommandTokens() throws {
        var config = SSHConfig()
        try config.addFile(
            contents: """
                Host t
                  HostName real.example
                  Port 2200
                  User alice
                  ProxyCommand ssh -W %h:%p -l %r bastion # %n %k %%
                """,
            path: "config",
            sshDirectory: "/nonexistent/.ssh"
        )
        let resolved = try config.resolve(destination: SSHDestination(parsing: "t"), localUser: "me", home: "/h")
        #expect(resolved.proxyCommand == "ssh -W real.example:2200 -l alice bastion # t t %")
        var bad = SSHConfig()
        try bad.addOption("ProxyCommand=nc %z")
        #expect(throws: SSHProtocolError.self) {
            try bad.resolve(destination: SSHDestination(parsing: "t"), localUser: "me", home: "/h")
        }
    }
}
