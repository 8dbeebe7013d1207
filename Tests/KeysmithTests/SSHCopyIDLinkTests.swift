import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// keysmith run through a link named ssh-copy-id, compared with Debian's /usr/bin/ssh-copy-id
/// (OpenSSH 9.2p1) against OpenSSH's sshd for the same command lines: stdout and stderr line
/// by line, the exit status, and the account's authorized_keys byte for byte; each deploy is
/// proven by OpenSSH's ssh logging in with the key.
///
/// The real tool gets the password through sshpass (ssh asks on a terminal); the link through
/// SSH_ASKPASS (keysmith's client asks as ssh would, through the askpass program). Neither
/// prints the password prompt on stdout or stderr, so no normalising is needed for it.
@Suite("the ssh-copy-id link against OpenSSH's ssh-copy-id and sshd")
struct SSHCopyIDLinkTests {
    struct Setup {
        let base: CopyIDTests.Setup
        let link: String
        let askpass: String

        init() throws {
            self.base = try CopyIDTests.Setup()
            self.link = try openSSHLink("ssh-copy-id", in: self.base.dir)
            // ssh-copy-id makes its scratch folder in ~/.ssh: both get one.
            try FileManager.default.createDirectory(
                atPath: self.base.dir.path("home/.ssh"),
                withIntermediateDirectories: true
            )
            self.askpass = self.base.dir.path("askpass")
            try writeProgram(self.askpass, "#!/bin/sh\necho '\(self.base.sshd.password)'\n")
        }

        var sshd: SSHDFixture { self.base.sshd }
        var key: String { self.base.key }
        var remoteSSH: String { self.sshd.home + "/.ssh" }

        /// `-p PORT -o UserKnownHostsFile=… -o StrictHostKeyChecking=yes`.
        var connection: [String] {
            [
                "-p", String(self.sshd.port), "-o", "UserKnownHostsFile=\(self.base.knownHosts)", "-o",
                "StrictHostKeyChecking=yes",
            ]
        }

        /// Puts the account's ~/.ssh back as `authorizedKeys` says (none at all for nil).
        func reset(_ authorizedKeys: String?) throws {
            try? FileManager.default.removeItem(atPath: self.remoteSSH)
            guard let authorizedKeys else { return }
            try FileManager.default.createDirectory(atPath: self.remoteSSH, withIntermediateDirectories: false)
            try writeText(self.remoteSSH + "/authorized_keys", authorizedKeys, mode: 0o600)
            _ = try runProcess("/bin/chmod", ["700", self.remoteSSH]).checked("chmod")
            _ = try runProcess("/bin/chown", ["-R", "\(self.sshd.user):\(self.sshd.user)", self.remoteSSH])
                .checked("chown")
        }

        /// Runs the real tool and then the link from the same remote state; the results,
        /// and the authorized_keys each left.
        func both(
            _ arguments: [String],
            from initial: String? = nil,
            environment: [String: String] = [:]
        ) throws -> (ours: ProcessResult, theirs: ProcessResult, ourFile: String?, theirFile: String?) {
            var env = ["HOME": self.base.dir.path("home"), "SSH_AUTH_SOCK": "", "DISPLAY": "", "SSH_ASKPASS": ""]
            env.merge(environment) { $1 }
            try self.reset(initial)
            let theirs = try runProcess(
                "/usr/bin/sshpass",
                ["-p", self.sshd.password, "/usr/bin/ssh-copy-id"] + arguments,
                environment: env
            )
            let theirFile = self.sshd.authorizedKeys()
            try self.reset(initial)
            env.merge(["SSH_ASKPASS": self.askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"]) { $1 }
            let run = try runProcess(self.link, arguments, environment: env)
            // The one genuine difference: each names itself by the path it was run by ($0).
            func renamed(_ text: String) -> Data {
                Data(text.replacingOccurrences(of: self.link, with: "/usr/bin/ssh-copy-id").utf8)
            }
            let ours = ProcessResult(
                status: run.status,
                stdoutData: renamed(run.stdout),
                stderrData: renamed(run.stderr)
            )
            return (ours, theirs, self.sshd.authorizedKeys(), theirFile)
        }

        /// Both runs, expected the same line by line, in status and in the file left.
        @discardableResult
        func expectSame(
            _ arguments: [String],
            from initial: String? = nil,
            environment: [String: String] = [:],
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> (result: ProcessResult, file: String?) {
            let r = try self.both(arguments, from: initial, environment: environment)
            let both = "\(arguments)\nours \(r.ours)\ntheirs \(r.theirs)"
            #expect(r.ours.status == r.theirs.status, "\(both)", sourceLocation: sourceLocation)
            #expect(lines(r.ours.stdout) == lines(r.theirs.stdout), "\(both)", sourceLocation: sourceLocation)
            #expect(lines(r.ours.stderr) == lines(r.theirs.stderr), "\(both)", sourceLocation: sourceLocation)
            #expect(
                r.ourFile == r.theirFile,
                "\(arguments)\nours \(r.ourFile ?? "none")\ntheirs \(r.theirFile ?? "none")",
                sourceLocation: sourceLocation
            )
            return (r.ours, r.ourFile)
        }
    }

    @Test("a new key, then the same again, then -f: the same output, status and authorized_keys; ssh logs in")
    func install() throws {
        let s = try Setup()
        let args = s.connection + ["-i", s.key, "\(s.sshd.user)@\(s.sshd.host)"]
        let first = try s.expectSame(args)
        #expect(first.result.status == 0, "\(first.result)")
        #expect(first.result.stdout.contains("Number of key(s) added: 1"))
        #expect(try s.sshd.sshLogin(identity: s.key, command: "echo in").stdout == "in\n")

        let line = try readText(s.key + ".pub")
        let again = try s.expectSame(args, from: line)
        #expect(again.result.stderr.contains("All keys were skipped because they already exist"), "\(again.result)")
        #expect(again.file == line)
        let forced = try s.expectSame(["-f"] + args, from: line)
        #expect(forced.file == line + line)
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
    }

    @Test("a file without a final newline, a .pub named with -i, -F and -o Port: appended as ssh-copy-id appends")
    func appendAndOptions() throws {
        let s = try Setup()
        let other = s.base.dir.path("other")
        _ = try keygen(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "other key", "-f", other]).checked(
            "ssh-keygen"
        )
        let otherLine = try readText(other + ".pub").trimmingCharacters(in: .newlines)
        let config = s.base.dir.path("config")
        try writeText(config, "Host target\n  HostName \(s.sshd.host)\n  User \(s.sshd.user)\n", mode: 0o644)
        let r = try s.expectSame(
            [
                "-F", config, "-o", "Port=\(s.sshd.port)", "-o", "UserKnownHostsFile=\(s.base.knownHosts)", "-i",
                s.key + ".pub", "target",
            ],
            from: otherLine
        )
        #expect(r.result.status == 0, "\(r.result)")
        #expect(r.file == otherLine + "\n" + (try readText(s.key + ".pub")))
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
        #expect(try s.sshd.sshLogin(identity: other).status == 0)
    }

    @Test("-s: installed over SFTP where ssh-copy-id -s installs it; ssh logs in")
    func sftp() throws {
        let s = try Setup()
        let line = try readText(s.key + ".pub")
        let r = try s.both(["-s"] + s.connection + ["-i", s.key, "\(s.sshd.user)@\(s.sshd.host)"], from: "")
        #expect(r.ours.status == 0 && r.theirs.status == 0, "ours \(r.ours)\ntheirs \(r.theirs)")
        // The script runs two sftp batches, and sftp echoes each command on stdout ("sftp> put
        // SCRATCH/authorized_keys …", its scratch folder named at random); keysmith runs no
        // batch. Everything else is the same, line for line.
        let theirOut = r.theirs.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("sftp> ") }
        #expect(r.ours.stdout.split(separator: "\n", omittingEmptySubsequences: false) == theirOut, "\(r.ours)")
        #expect(r.ours.stdout.contains("\"sftp -p '\(s.sshd.port)'"), "\(r.ours)")
        #expect(r.ourFile == line && r.theirFile == line)
        let ours = r.ours.stderr.split(separator: "\n")
        let theirs = r.theirs.stderr.split(separator: "\n").filter { $0.hasPrefix("/usr/bin/ssh-copy-id: ") }
        #expect(ours == theirs, "ours \(r.ours)\ntheirs \(r.theirs)")
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
    }

    @Test("-n: the keys that would be added, nothing written; -n -f likewise")
    func dryRun() throws {
        let s = try Setup()
        let args = s.connection + ["-i", s.key, "\(s.sshd.user)@\(s.sshd.host)"]
        let dry = try s.expectSame(["-n"] + args)
        #expect(dry.result.stdout.contains("Would have added the following key(s):"), "\(dry.result)")
        #expect(dry.file == nil)
        try s.expectSame(["-n", "-f"] + args)
        try s.expectSame(["-n"] + args, from: try readText(s.key + ".pub"))
    }

    @Test("the agent's keys when it holds some and no -i is given; ssh logs in with the key the agent gave")
    func agentKeys() throws {
        let s = try Setup()
        let agent = try SSHAgentFixture()
        _ = try runProcess("/usr/bin/ssh-add", [s.key], environment: ["SSH_AUTH_SOCK": agent.socket])
            .checked("ssh-add")
        let r = try s.expectSame(
            s.connection + ["\(s.sshd.user)@\(s.sshd.host)"],
            environment: ["SSH_AUTH_SOCK": agent.socket]
        )
        #expect(r.result.status == 0, "\(r.result)")
        #expect(!r.result.stderr.contains("Source of key(s)"), "\(r.result)")
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
    }

    @Test("the newest ~/.ssh/id*.pub when no -i is given and no agent holds keys")
    func defaultKey() throws {
        let s = try Setup()
        let home = s.base.dir.path("home/.ssh")
        for name in ["id_rsa", "id_ed25519"] {
            _ = try keygen(["-q", "-t", name == "id_rsa" ? "rsa" : "ed25519", "-N", "", "-f", home + "/" + name])
                .checked("ssh-keygen")
            usleep(20_000)
        }
        let r = try s.expectSame(s.connection + ["\(s.sshd.user)@\(s.sshd.host)"])
        #expect(r.result.stderr.contains("id_ed25519.pub"), "\(r.result)")
        #expect(try s.sshd.sshLogin(identity: home + "/id_ed25519").status == 0)
    }

    @Test("usage errors, missing ID files, no identities, no ~/.ssh: the same messages and exit status 1")
    func errors() throws {
        let s = try Setup()
        let host = "\(s.sshd.user)@\(s.sshd.host)"
        let cases: [[String]] = [
            ["-z", host], ["-i"], [], ["-h"], ["-?"], [host, "other"], ["-i", s.base.dir.path("nokey"), host],
            ["-i", s.key, "-i", s.key, host], ["-t", "/tmp/x", host], ["-x", host],
        ]
        for arguments in cases {
            let r = try s.expectSame(arguments)
            #expect(r.result.status == 1, "\(arguments): \(r.result)")
        }
        // A .pub without its private key: refused unless -f comes first.
        let lone = s.base.dir.path("lone.pub")
        try writeText(lone, try readText(s.key + ".pub"), mode: 0o644)
        #expect(try s.expectSame(["-i", lone, host]).result.status == 1)
        // No identities at all (an empty ~/.ssh).
        #expect(try s.expectSame(s.connection + [host]).result.status == 1)
        // No ~/.ssh for the scratch folder.
        try FileManager.default.removeItem(atPath: s.base.dir.path("home/.ssh"))
        #expect(try s.expectSame(s.connection + ["-i", s.key, host]).result.status == 1)
    }

    @Test("a host nobody listens on: the script's ERROR line between blank lines, exit 1, in ssh's words or keysmith's")
    func unreachable() throws {
        let s = try Setup()
        let port = try SSHDFixture.freePort()
        let r = try s.both(["-p", String(port), "-i", s.key, "\(s.sshd.user)@\(s.sshd.host)"])
        #expect(r.ours.status == 1 && r.theirs.status == 1, "ours \(r.ours)\ntheirs \(r.theirs)")
        #expect(r.ours.stdout == r.theirs.stdout)
        // What follows "ERROR: " is the client's own sentence: ssh's "ssh: connect to host …:
        // Connection refused" (ended by CR LF, as ssh's log lines are), keysmith's naming the
        // host and the refusal.
        func shape(_ text: String) -> [String] {
            text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
                .map {
                    $0.hasPrefix("/usr/bin/ssh-copy-id: ERROR: ") ? "ERROR" : String($0)
                }
        }
        #expect(shape(r.ours.stderr) == shape(r.theirs.stderr), "ours \(r.ours)\ntheirs \(r.theirs)")
        #expect(r.ours.stderr.contains("ERROR: ") && r.ours.stderr.lowercased().contains("refused"), "\(r.ours)")
        #expect(r.ourFile == nil && r.theirFile == nil)
    }

    @Test("an -o option keysmith's client does not implement is refused in one sentence, exit 1, nothing written")
    func refusedOption() throws {
        let s = try Setup()
        let r = try runProcess(
            s.link,
            s.connection + ["-o", "ForwardX11=yes", "-i", s.key, "\(s.sshd.user)@\(s.sshd.host)"],
            environment: ["HOME": s.base.dir.path("home"), "SSH_AUTH_SOCK": ""]
        )
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.last?.hasPrefix("ssh-copy-id (keysmith): ") == true, "\(r)")
        #expect(lines.last?.contains("ForwardX11") == true, "\(r)")
        #expect(s.sshd.authorizedKeys() == nil)
    }
}

/// Text split into lines, for comparisons that show which line differs.
private func lines(_ text: String) -> [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false) }
