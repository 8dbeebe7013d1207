import Foundation
import KeysmithTestSupport
import Testing

/// `keysmith challenge serve`, and `issue`/`verify` with a database store, run in
/// keysmith-challenged: what keysmith hands it, and what a user sees when it is missing.
@Suite("keysmith challenge serve and database stores")
struct ChallengeServeCommandTests {
    /// A stand-in for keysmith-challenged that writes its arguments, one per line, and
    /// exits 3, so the hand-off is seen exactly.
    struct Recorder {
        let dir: TempDir
        var path: String { self.dir.path("challenged") }
        var log: String { self.dir.path("arguments") }

        init() throws {
            self.dir = try TempDir()
            try writeText(
                self.dir.path("challenged"),
                "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '\(self.dir.path("arguments"))'\nexit 3\n",
                mode: 0o755
            )
        }

        func run(_ arguments: [String]) throws -> (ProcessResult, [String]) {
            let run = try runProcess(keysmithPath, arguments, environment: ["KEYSMITH_CHALLENGED": self.path])
            let lines = (try? readText(self.log))?.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            return (run, lines.map { $0.map(String.init) } ?? [])
        }
    }

    @Test("serve, and issue and verify with --state postgres://, hand every argument over unchanged")
    func handOff() throws {
        let recorder = try Recorder()
        let serve = [
            "--listen", "127.0.0.1:0", "--state", "postgres://u@127.0.0.1/db", "--authorized-keys", "a k",
            "--audience", "app.example", "--port-file", "p",
        ]
        var (run, seen) = try recorder.run(["challenge", "serve"] + serve)
        #expect(run.status == 3, "\(run)")
        #expect(seen == ["serve"] + serve)

        let verify = [
            "--state", "postgresql:///db?host=/run/pg", "--authorized-keys", "f", "--from", "10.0.0.1", "--json",
            "TOKEN", "--response-file", "-",
        ]
        (run, seen) = try recorder.run(["challenge", "verify"] + verify)
        #expect(run.status == 3, "\(run)")
        #expect(seen == ["verify"] + verify)

        (run, seen) = try recorder.run(["challenge", "issue", "--state", "postgres://h/db", "--ttl", "60"])
        #expect(run.status == 3, "\(run)")
        #expect(seen == ["issue", "--state", "postgres://h/db", "--ttl", "60"])

        // A state directory stays with keysmith itself.
        let dir = try TempDir()
        try FileManager.default.removeItem(atPath: recorder.log)
        (run, seen) = try recorder.run(["challenge", "issue", "--state", dir.path("s"), "--audience", "app.example"])
        #expect(run.status == 0 && run.stdout.count == 125, "\(run)")
        #expect(seen.isEmpty)
    }

    @Test("a missing keysmith-challenged is one sentence and exit 1")
    func missing() throws {
        let dir = try TempDir()
        let run = try runProcess(
            keysmithPath,
            ["challenge", "serve", "--listen", "127.0.0.1:0", "--state", dir.path("s"), "--authorized-keys", "f"],
            environment: ["KEYSMITH_CHALLENGED": dir.path("nowhere")]
        )
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "keysmith: cannot run keysmith-challenged (\(dir.path("nowhere"))): No such file or directory; install it beside keysmith with make install, or name it in KEYSMITH_CHALLENGED.\n"
        )
        #expect(run.stdout.isEmpty)
    }

    @Test("serve without its required options is a usage error")
    func usage() throws {
        let run = try runProcess(keysmithPath, ["challenge", "serve", "--listen", "127.0.0.1:0"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--state"))
    }
}
