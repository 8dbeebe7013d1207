import Foundation
import KeysmithTestSupport
import Testing

/// A folder holding a link named `name` to the keysmith under test, as `make install LINKS=1`
/// makes them; the link's path.
func openSSHLink(_ name: String, in dir: TempDir) throws -> String {
    let path = dir.path("links/\(name)")
    try FileManager.default.createDirectory(atPath: dir.path("links"), withIntermediateDirectories: true)
    if !FileManager.default.fileExists(atPath: path) {
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: keysmithPath)
    }
    return path
}

/// keysmith run through a link named ssh-add, compared with OpenSSH's ssh-add on two
/// ssh-agents given the same command lines: the same stdout, stderr and exit status, and
/// the same keys held after (`ssh-add -l` and `-L` of both agents).
@Suite("the ssh-add link against OpenSSH's ssh-add and ssh-agent")
struct SSHAddLinkTests {
    /// Two agents, the link, and keys of every plain type (three with certificates).
    struct Setup {
        let dir: TempDir
        let link: String
        let ours: SSHAgentFixture
        let theirs: SSHAgentFixture
        let keys: [String]

        init() throws {
            self.dir = try TempDir()
            self.link = try openSSHLink("ssh-add", in: self.dir)
            self.ours = try SSHAgentFixture()
            self.theirs = try SSHAgentFixture()
            self.keys = try AgentCommandTests.makeKeys(in: self.dir)
        }

        /// The same command line through the link on our agent and through ssh-add on theirs.
        func both(
            _ arguments: [String],
            input: String? = nil,
            environment: [String: String] = [:]
        ) throws -> (ours: ProcessResult, theirs: ProcessResult) {
            let data = input.map { Data($0.utf8) }
            let ours = try runProcess(
                self.link,
                arguments,
                input: data,
                environment: ["SSH_AUTH_SOCK": self.ours.socket].merging(environment) { $1 }
            )
            let theirs = try runProcess(
                "/usr/bin/ssh-add",
                arguments,
                input: data,
                environment: ["SSH_AUTH_SOCK": self.theirs.socket].merging(environment) { $1 }
            )
            return (ours, theirs)
        }

        /// What an agent holds, as ssh-add -l and -L list it.
        func holdings(_ agent: SSHAgentFixture) throws -> String {
            let environment = ["SSH_AUTH_SOCK": agent.socket]
            return try runProcess("/usr/bin/ssh-add", ["-l"], environment: environment).stdout
                + runProcess("/usr/bin/ssh-add", ["-L"], environment: environment).stdout
        }

        /// Runs the command line on both sides and expects the same outcome and holdings.
        @discardableResult
        func expectSame(
            _ arguments: [String],
            input: String? = nil,
            environment: [String: String] = [:],
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> ProcessResult {
            let (ours, theirs) = try self.both(arguments, input: input, environment: environment)
            let both = "\(arguments)\nours \(ours)\ntheirs \(theirs)"
            #expect(ours.status == theirs.status, "\(both)", sourceLocation: sourceLocation)
            #expect(ours.stdout == theirs.stdout, "\(both)", sourceLocation: sourceLocation)
            #expect(ours.stderr == theirs.stderr, "\(both)", sourceLocation: sourceLocation)
            #expect(
                try self.holdings(self.ours) == self.holdings(self.theirs),
                "\(arguments)",
                sourceLocation: sourceLocation
            )
            return ours
        }
    }

    @Test("adding keys and certificates, with -t, -c, -q and -k: ssh-add's output, status and agent contents")
    func add() throws {
        let s = try Setup()
        for options in [[], ["-t", "1h"], ["-c"], ["-t", "90", "-c", "-q"], ["-k"], ["-kq", "-t2m"]] {
            try s.expectSame(["-D"])
            let r = try s.expectSame(options + s.keys)
            #expect(r.status == 0, "\(options): \(r)")
        }
        try s.expectSame(["-D"])
        // A missing file among them: perror, exit status 1, the others added.
        try s.expectSame([s.keys[0], s.dir.path("missing"), s.keys[1]])
    }

    @Test("-l, -L, -E and an empty agent: ssh-add's lines")
    func list() throws {
        let s = try Setup()
        #expect(try s.expectSame(["-l"]).status == 1)
        try s.expectSame(["-L"])
        try s.expectSame(s.keys)
        for arguments in [["-l"], ["-L"], ["-E", "md5", "-l"], ["-Esha512", "-l"], ["-v", "-l"], ["-qL"]] {
            #expect(try s.expectSame(arguments).status == 0, "\(arguments)")
        }
    }

    @Test("-d (with certificates, -k, and keys read from standard input) and -D: ssh-add's output and status")
    func remove() throws {
        let s = try Setup()
        try s.expectSame(s.keys)
        try s.expectSame(["-d", s.keys[0]])
        try s.expectSame(["-d", "-k", s.keys[1]])
        try s.expectSame(["-d", s.keys[0]])
        try s.expectSame(["-d", s.dir.path("missing")])
        let lines = try readText(s.keys[2] + ".pub") + "# a comment\n\nnot a key\n"
        try s.expectSame(["-d", "-"], input: lines)
        try s.expectSame(["-q", "-d", s.keys[3]])
        try s.expectSame(["-D"])
        try s.expectSame(["-D"])
    }

    @Test("a key read from standard input with -: added as (stdin), its passphrase asked as ssh-add asks")
    func standardInput() throws {
        let s = try Setup()
        try s.expectSame(["-"], input: try readText(s.keys[0]))
        let encrypted = s.dir.path("enc")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "right", "-C", "", "-f", encrypted]).checked("ssh-keygen")
        let askpass = s.dir.path("askpass")
        try writeProgram(askpass, "#!/bin/sh\necho right\n")
        let environment = ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"]
        try s.expectSame(["-"], input: try readText(encrypted), environment: environment)
        try s.expectSame([encrypted], environment: environment)
    }

    @Test("-x and -X: the agent locked and unlocked with the password asked as ssh-add asks")
    func lock() throws {
        let s = try Setup()
        try s.expectSame([s.keys[0]])
        let right = s.dir.path("right")
        try writeProgram(right, "#!/bin/sh\necho sesame\n")
        let wrong = s.dir.path("wrong")
        try writeProgram(wrong, "#!/bin/sh\necho \"$1\" | grep -q Again && echo other || echo sesame\n")
        func asking(_ program: String) -> [String: String] {
            ["SSH_ASKPASS": program, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"]
        }
        #expect(try s.expectSame(["-x"], environment: asking(wrong)).status == 1)
        #expect(try s.expectSame(["-x"], environment: asking(right)).status == 0)
        #expect(try s.expectSame(["-l"]).status == 1)
        let bad = s.dir.path("bad")
        try writeProgram(bad, "#!/bin/sh\necho nope\n")
        #expect(try s.expectSame(["-X"], environment: asking(bad)).status == 1)
        #expect(try s.expectSame(["-X"], environment: asking(right)).status == 0)
        #expect(try s.expectSame(["-l"]).status == 0)
    }

    @Test("usage errors, fatal combinations and no agent: ssh-add's sentences and exit statuses 1, 255 and 2")
    func errors() throws {
        let s = try Setup()
        for arguments in [
            ["-z"], ["-l", "-L"], ["-lL"], ["-x", "-X"], ["-x", "-l"], ["-D", "-l"], ["-E", "foo", "-l"], ["-E"],
            ["-t", "soon", s.keys[0]], ["-t", "4294967296", s.keys[0]], ["-M", "0"], ["-m"], ["-h"], ["-S"],
        ] {
            let r = try s.expectSame(arguments)
            #expect(r.status != 0, "\(arguments)")
        }
        for socket in ["", s.dir.path("nothing.sock")] {
            let (ours, theirs) = try s.both(["-l"], environment: ["SSH_AUTH_SOCK": socket])
            #expect(ours.status == 2)
            #expect(ours.status == theirs.status && ours.stdout == theirs.stdout && ours.stderr == theirs.stderr)
            // The agent is reached before the command line is read.
            let (ours2, theirs2) = try s.both(["-z"], environment: ["SSH_AUTH_SOCK": socket])
            #expect(ours2.status == 2 && ours2.stderr == theirs2.stderr, "\(ours2)\n\(theirs2)")
        }
    }

    @Test(
        "PKCS#11, resident keys, -T, destination constraints and XMSS limits are refused in one sentence, exit 1",
        arguments: [
            ["-s", "/usr/lib/opensc-pkcs11.so"], ["-e", "/usr/lib/opensc-pkcs11.so"], ["-K"], ["-T", "k.pub"],
            ["-h", "example.com"], ["-H", "known_hosts"], ["-M", "5"], ["-m", "5"],
        ]
    )
    func refused(_ arguments: [String]) throws {
        let s = try Setup()
        // Only the link runs: ssh-add would try the provider or the authenticator.
        let ours = try runProcess(s.link, arguments + [s.keys[0]], environment: ["SSH_AUTH_SOCK": s.ours.socket])
        #expect(ours.status == 1, "\(ours)")
        #expect(ours.stdout.isEmpty)
        let lines = ours.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(ours)")
        #expect(lines.first?.hasPrefix("ssh-add (keysmith): ") == true, "\(ours)")
        #expect(lines.first?.contains("is not implemented by keysmith") == true, "\(ours)")
        #expect(try s.holdings(s.ours).contains("The agent has no identities."))
    }
}
