import Foundation
import KeysmithTestSupport
import Testing

/// OpenSSH's ssh-agent with the two clients compared: ssh-add and keysmith agent.
private final class OpenSSHAgent {
    private let agent: SSHAgentFixture
    var socket: String { self.agent.socket }

    init(arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.agent = try SSHAgentFixture(arguments: arguments, environment: environment)
    }

    /// Runs ssh-add against this agent.
    func sshAdd(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(
            "/usr/bin/ssh-add",
            arguments,
            environment: ["SSH_AUTH_SOCK": self.socket].merging(environment) { $1 }
        )
    }

    /// Runs `keysmith agent ARGUMENTS` against this agent.
    func keysmithAgent(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(
            keysmithPath,
            ["agent"] + arguments,
            environment: ["SSH_AUTH_SOCK": self.socket].merging(environment) { $1 }
        )
    }

    /// `ssh-add -l` and `ssh-add -L` together: what the agent holds.
    func holdings() throws -> String {
        let l = try self.sshAdd(["-l"])
        let bigL = try self.sshAdd(["-L"])
        return l.stdout + bigL.stdout
    }
}

/// The same output, status and streams.
private func expectSame(
    _ ours: ProcessResult,
    _ theirs: ProcessResult,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(ours.status == theirs.status, "ours \(ours)\ntheirs \(theirs)", sourceLocation: sourceLocation)
    #expect(ours.stdout == theirs.stdout, "ours \(ours)\ntheirs \(theirs)", sourceLocation: sourceLocation)
    #expect(ours.stderr == theirs.stderr, "ours \(ours)\ntheirs \(theirs)", sourceLocation: sourceLocation)
}

/// An askpass program answering each prompt with the next of `answers` (an empty line when
/// they run out); every prompt is appended to `prompts`.
private func writeAskpass(in dir: TempDir, name: String, answers: [String], status: Int = 0) throws -> String {
    let program = dir.path(name)
    let count = dir.path(name + ".count")
    let prompts = dir.path(name + ".prompts")
    let cases = answers.enumerated().map { "  \($0.offset + 1)) echo '\($0.element)' ;;" }.joined(separator: "\n")
    try writeProgram(
        program,
        """
        #!/bin/sh
        printf '%s\\n' "$1" >> '\(prompts)'
        n=$(cat '\(count)' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '\(count)'
        case $n in
        \(cases)
          *) echo ;;
        esac
        exit \(status)

        """
    )
    return program
}

@Suite("keysmith agent against OpenSSH's ssh-agent and ssh-add")
struct AgentCommandTests {
    /// Keys of every plain type, each with a certificate from `ssh-keygen -s`, made in `dir`.
    static func makeKeys(in dir: TempDir) throws -> [String] {
        let specs: [(String, [String])] = [
            ("ed", ["-t", "ed25519"]), ("rsa", ["-t", "rsa", "-b", "2048"]), ("p256", ["-t", "ecdsa", "-b", "256"]),
            ("p384", ["-t", "ecdsa", "-b", "384"]), ("p521", ["-t", "ecdsa", "-b", "521"]),
        ]
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", dir.path("ca")]).checked("ssh-keygen")
        var paths: [String] = []
        for (name, type) in specs {
            let path = dir.path(name)
            _ = try keygen(["-q"] + type + ["-N", "", "-C", "\(name)@test", "-f", path]).checked("ssh-keygen")
            paths.append(path)
        }
        // Certificates for some: the others are added alone.
        for name in ["ed", "rsa", "p384"] {
            _ = try keygen(["-q", "-s", dir.path("ca"), "-I", "id-\(name)", "-n", "alice", dir.path(name) + ".pub"])
                .checked("ssh-keygen -s")
        }
        // A key without a comment: ssh-add names it by its path.
        let bare = dir.path("bare")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", bare]).checked("ssh-keygen")
        return paths + [bare]
    }

    @Test("keys keysmith adds (with their certificates) are listed by ssh-add -l and -L as when ssh-add adds them")
    func addMatchesSSHAdd() throws {
        let dir = try TempDir()
        let keys = try Self.makeKeys(in: dir)
        let ours = try OpenSSHAgent()
        let theirs = try OpenSSHAgent()
        for options in [[], ["-t", "1h"], ["-c"], ["-t", "2m", "-c"]] {
            _ = try ours.sshAdd(["-D"])
            _ = try theirs.sshAdd(["-D"])
            let added = try ours.keysmithAgent(["add"] + options + keys)
            let reference = try theirs.sshAdd(options + keys)
            expectSame(added, reference)
            #expect(try ours.holdings() == theirs.holdings())
            #expect(try ours.sshAdd(["-l"]).stdout.split(separator: "\n").count == keys.count + 3)
        }
        let quiet = try ours.keysmithAgent(["add", "-q", keys[0]])
        expectSame(quiet, try theirs.sshAdd(["-q", keys[0]]))
    }

    @Test(
        "security keys from ssh-keygen -w are added with their key handle, application and flags, as ssh-add adds them"
    )
    func addsSecurityKeys() throws {
        let dir = try TempDir()
        let soft = try SoftAuthenticator.path()
        var keys: [String] = []
        for (type, flags) in [("ed25519-sk", []), ("ecdsa-sk", ["-O", "no-touch-required"])] {
            let path = dir.path("id_\(type)")
            _ = try keygen(["-q", "-t", type, "-w", soft] + flags + ["-f", path, "-N", "", "-C", "sk@test"])
                .checked("ssh-keygen -t \(type)")
            keys.append(path)
        }
        let ours = try OpenSSHAgent(arguments: ["-P", "*"])
        let theirs = try OpenSSHAgent(arguments: ["-P", "*"])
        expectSame(try ours.keysmithAgent(["add", "-S", soft] + keys), try theirs.sshAdd(["-S", soft] + keys))
        #expect(try ours.holdings() == theirs.holdings())
        #expect(try ours.sshAdd(["-L"]).stdout.contains("sk-ssh-ed25519@openssh.com"))
        // The agent signs with what keysmith gave it: key handle, application and flags.
        for key in keys {
            let test = try ours.sshAdd(["-T", key + ".pub"], environment: SoftAuthenticator.environment([:]))
            #expect(test.status == 0, "\(test)")
        }
    }

    @Test("keys ssh-add adds are listed by keysmith agent list exactly as ssh-add -l and -L list them")
    func listMatchesSSHAdd() throws {
        let dir = try TempDir()
        let keys = try Self.makeKeys(in: dir)
        let agent = try OpenSSHAgent()
        expectSame(try agent.keysmithAgent(["list"]), try agent.sshAdd(["-l"]))
        _ = try agent.sshAdd(keys).checked("ssh-add")
        for (ours, theirs) in [
            (["list"], ["-l"]), (["list", "-l"], ["-l"]), (["list", "-L"], ["-L"]),
            (["list", "-E", "md5"], ["-l", "-E", "md5"]), (["list", "-l", "-E", "sha256"], ["-l", "-E", "sha256"]),
        ] {
            let result = try agent.keysmithAgent(ours)
            #expect(result.status == 0)
            expectSame(result, try agent.sshAdd(theirs))
        }
        let json = try agent.keysmithAgent(["list", "--json"])
        let items = try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]]
        let lines = try agent.sshAdd(["-L"]).stdout.split(separator: "\n")
        #expect(items?.count == lines.count)
        #expect(items?.first?["key"] as? String == keyPart(String(lines[0])))
    }

    @Test(
        "remove, remove --all, lock and unlock print what ssh-add -d, -D, -x and -X print, and leave the agent as they do"
    )
    func removeLockUnlock() throws {
        let dir = try TempDir()
        let keys = try Self.makeKeys(in: dir)
        let ours = try OpenSSHAgent()
        let theirs = try OpenSSHAgent()
        for agent in [ours, theirs] { _ = try agent.sshAdd(keys).checked("ssh-add") }

        expectSame(try ours.keysmithAgent(["remove", keys[0], keys[3]]), try theirs.sshAdd(["-d", keys[0], keys[3]]))
        #expect(try ours.holdings() == theirs.holdings())
        // Already gone: the agent refuses, and both say so.
        expectSame(try ours.keysmithAgent(["remove", keys[0]]), try theirs.sshAdd(["-d", keys[0]]))
        expectSame(
            try ours.keysmithAgent(["remove", dir.path("missing")]),
            try theirs.sshAdd(["-d", dir.path("missing")])
        )

        let askpass = try writeAskpass(in: dir, name: "lock", answers: ["pw", "pw", "pw", "wrong"])
        let twice = try writeAskpass(in: dir, name: "lock2", answers: ["pw", "pw", "pw", "wrong"])
        let ask: (String) -> [String: String] = {
            ["SSH_ASKPASS": $0, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"]
        }
        expectSame(
            try ours.keysmithAgent(["lock"], environment: ask(askpass)),
            try theirs.sshAdd(["-x"], environment: ask(twice))
        )
        #expect(try ours.holdings() == theirs.holdings())
        #expect(try ours.sshAdd(["-l"]).stdout == "The agent has no identities.\n")
        expectSame(
            try ours.keysmithAgent(["unlock"], environment: ask(askpass)),
            try theirs.sshAdd(["-X"], environment: ask(twice))
        )
        #expect(try ours.holdings() == theirs.holdings())
        #expect(try ours.sshAdd(["-l"]).status == 0)
        // The fourth answer is wrong: the agent stays locked.
        _ = try ours.sshAdd(["-x"], environment: ask(try writeAskpass(in: dir, name: "l3", answers: ["pw", "pw"])))
        _ = try theirs.sshAdd(["-x"], environment: ask(try writeAskpass(in: dir, name: "l4", answers: ["pw", "pw"])))
        let wrong = try ours.keysmithAgent(["unlock"], environment: ask(askpass))
        expectSame(wrong, try theirs.sshAdd(["-X"], environment: ask(twice)))
        #expect(wrong.status == 1)
        let mismatch = try writeAskpass(in: dir, name: "mismatch", answers: ["a", "b"])
        let mismatch2 = try writeAskpass(in: dir, name: "mismatch2", answers: ["a", "b"])
        expectSame(
            try ours.keysmithAgent(["lock"], environment: ask(mismatch)),
            try theirs.sshAdd(["-x"], environment: ask(mismatch2))
        )
        _ = try ours.sshAdd(["-X"], environment: ask(try writeAskpass(in: dir, name: "u1", answers: ["pw"])))
        _ = try theirs.sshAdd(["-X"], environment: ask(try writeAskpass(in: dir, name: "u2", answers: ["pw"])))

        let all = try ours.keysmithAgent(["remove", "--all"])
        expectSame(all, try theirs.sshAdd(["-D"]))
        #expect(all.stderr == "All identities removed.\n")
        #expect(try ours.holdings() == theirs.holdings())
        #expect(try ours.sshAdd(["-l"]).status == 1)
    }

    @Test("-t: the agent forgets the key when its lifetime ends")
    func lifetime() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "brief", "-f", key]).checked("ssh-keygen")
        let agent = try OpenSSHAgent()
        let lifetime = 3.0
        let before = Date()
        let added = try agent.keysmithAgent(["add", "-t", "3", key])
        let listed = try agent.sshAdd(["-l"])
        #expect(added.stderr == "Identity added: \(key) (brief)\nLifetime set to 3 seconds\n")
        // On a loaded machine the lifetime may be over before ssh-add asks: the key is then
        // rightly gone, so its presence is expected only when the answer came in time.
        if Date().timeIntervalSince(before) < lifetime - 0.5 { #expect(listed.status == 0, "\(listed)") }
        let deadline = Date().addingTimeInterval(lifetime + 10)
        while try agent.sshAdd(["-l"]).status == 0 && Date() < deadline { usleep(200_000) }
        #expect(try agent.sshAdd(["-l"]).stdout == "The agent has no identities.\n")
        expectSame(try agent.keysmithAgent(["add", "-t", "soon", key]), try agent.sshAdd(["-t", "soon", key]))
    }

    @Test("-c: the agent asks through its SSH_ASKPASS before signing, and a no refuses the signature")
    func confirm() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "confirmed", "-f", key]).checked("ssh-keygen")
        let no = try writeAskpass(in: dir, name: "no", answers: ["no"], status: 1)
        let agent = try OpenSSHAgent(environment: [
            "SSH_ASKPASS": no, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0",
        ])
        let added = try agent.keysmithAgent(["add", "-c", key])
        #expect(added.stderr.contains("The user must confirm each use of the key"), "\(added)")
        let test = try agent.sshAdd(["-T", key + ".pub"])
        #expect(test.status == 1, "\(test)")
        let asked = (try? readText(dir.path("no.prompts"))) ?? ""
        #expect(asked.contains("Allow use of key"), "the agent asked: \(asked)")
        // Without -c the same agent signs without asking.
        _ = try agent.sshAdd(["-D"])
        _ = try agent.keysmithAgent(["add", key])
        #expect(try agent.sshAdd(["-T", key + ".pub"]).status == 0)
    }

    @Test("OpenSSH's ssh logs in to sshd with a key only the agent holds, added by keysmith")
    func sshLogsInWithAddedKey() throws {
        let sshd = try SSHDFixture()
        let dir = try TempDir()
        let key = dir.path("k")
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-C", "agent-login", "-f", key]).checked("ssh-keygen")
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", try readText(key + ".pub"), mode: 0o600)
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", ssh]).checked("chown")
        let agent = try OpenSSHAgent()
        _ = try agent.keysmithAgent(["add", key]).checked("keysmith agent add")
        try FileManager.default.removeItem(atPath: key)
        let login = try sshd.sshLogin(
            identity: key + ".pub",
            command: "echo in",
            environment: ["SSH_AUTH_SOCK": agent.socket]
        )
        #expect(login.status == 0, "\(login)\n\(sshd.log)")
        #expect(login.stdout == "in\n")
    }

    @Test(
        "sign -U: the agent signs with the key -f names, and ssh-keygen -Y verify accepts it",
        arguments: ["ed25519", "rsa", "ecdsa"]
    )
    func signWithAgent(_ type: String) throws {
        let dir = try TempDir()
        let key = dir.path("k")
        _ = try keygen(["-q", "-t", type, "-N", "", "-C", "signer", "-f", key]).checked("ssh-keygen")
        let agent = try OpenSSHAgent()
        _ = try agent.keysmithAgent(["add", key]).checked("keysmith agent add")
        // Only the agent can sign now.
        try FileManager.default.removeItem(atPath: key)
        try dir.write("message", "signed by the agent\n")
        let signed = try runProcess(
            keysmithPath,
            ["sign", "-U", "-f", key + ".pub", "-n", "file", dir.path("message")],
            environment: ["SSH_AUTH_SOCK": agent.socket]
        )
        #expect(signed.status == 0, "\(signed)")
        try dir.write("allowed_signers", "signer@example \(try readText(key + ".pub"))")
        let verified = try keygen(
            [
                "-Y", "verify", "-f", dir.path("allowed_signers"), "-I", "signer@example", "-n", "file", "-s",
                dir.path("message.sig"),
            ],
            input: Data("signed by the agent\n".utf8)
        )
        #expect(verified.status == 0, "\(verified)")
        // An agent without the key refuses, in one sentence.
        _ = try agent.sshAdd(["-D"])
        let refused = try runProcess(
            keysmithPath,
            ["sign", "-U", "-f", key + ".pub", "-n", "file", dir.path("message")],
            environment: ["SSH_AUTH_SOCK": agent.socket]
        )
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("ssh-agent"), "\(refused)")
    }

    @Test("an encrypted key: the passphrase asked as ssh-add asks, again while wrong, nothing added on an empty answer")
    func encryptedKey() throws {
        let dir = try TempDir()
        let key = dir.path("enc")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "right", "-C", "locked", "-f", key]).checked("ssh-keygen")
        let agent = try OpenSSHAgent()
        func run(_ keysmith: Bool, _ answers: [String]) throws -> (ProcessResult, String) {
            let name = "\(keysmith)-\(answers.joined(separator: "-"))"
            let askpass = try writeAskpass(in: dir, name: name, answers: answers)
            let environment = ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"]
            _ = try agent.sshAdd(["-D"])
            let result =
                keysmith
                ? try agent.keysmithAgent(["add", key], environment: environment)
                : try agent.sshAdd([key], environment: environment)
            return (result, (try? readText(dir.path(name + ".prompts"))) ?? "")
        }
        for answers in [["wrong", "right"], ["wrong", ""], ["right"]] {
            let (ours, ourPrompts) = try run(true, answers)
            let (theirs, theirPrompts) = try run(false, answers)
            expectSame(ours, theirs)
            #expect(ourPrompts == theirPrompts)
        }
        #expect(try run(true, ["wrong", ""]).0.status == 1)
    }

    @Test("no agent, a dead socket, an agent that hangs up mid-answer: ssh-add's sentence and exit status")
    func badAgents() throws {
        let dir = try TempDir()
        let key = dir.path("k")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "k", "-f", key]).checked("ssh-keygen")
        func compare(_ environment: [String: String], removeAll: Bool = true) throws {
            var cases = [(["list"], ["-l"]), (["add", key], [key])]
            if removeAll { cases.append((["remove", "--all"], ["-D"])) }
            for (ours, theirs) in cases {
                let a = try runProcess(keysmithPath, ["agent"] + ours, environment: environment)
                let b = try runProcess("/usr/bin/ssh-add", theirs, environment: environment)
                expectSame(a, b)
            }
        }
        try compare(["SSH_AUTH_SOCK": ""])
        let noAgent = try runProcess(keysmithPath, ["agent", "list"], environment: ["SSH_AUTH_SOCK": ""])
        #expect(noAgent.status == 2)
        #expect(noAgent.stderr == "Could not open a connection to your authentication agent.\n")

        // A socket nobody listens on: bound, never listened on, its process gone.
        let dead = dir.path("dead.sock")
        _ = try runProcess(
            Tool.python,
            ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", dead]
        ).checked("python3")
        try compare(["SSH_AUTH_SOCK": dead])
        try compare(["SSH_AUTH_SOCK": dir.path("nothing-here.sock")])

        // An agent that reads a whole request, answers half a length and hangs up.
        let socket = dir.path("rude.sock")
        let script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(sys.argv[1]); s.listen(8)
            print(0, flush=True)
            while True:
                c, _ = s.accept()
                n = int.from_bytes(c.recv(4, socket.MSG_WAITALL), "big")
                c.recv(n, socket.MSG_WAITALL)
                c.sendall(b"\\x00\\x00")
                c.close()
            """
        let (pid, _) = try startPythonServer(script, [socket], log: dir.path("rude.log"))
        defer { stopDaemon(pid) }
        // ssh-add -D writes its second request to the closed socket and dies of SIGPIPE,
        // silently; keysmith says what ssh-add says when the first request fails.
        try compare(["SSH_AUTH_SOCK": socket], removeAll: false)
        let removeAll = try runProcess(
            keysmithPath,
            ["agent", "remove", "--all"],
            environment: ["SSH_AUTH_SOCK": socket]
        )
        #expect(removeAll.status == 1)
        #expect(removeAll.stderr == "Failed to remove all identities.\n")
        let rude = try runProcess(keysmithPath, ["agent", "list"], environment: ["SSH_AUTH_SOCK": socket])
        #expect(rude.status == 1)
        #expect(rude.stderr == "error fetching identities: communication with agent failed\n")
    }
}
