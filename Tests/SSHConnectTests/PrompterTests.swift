import KeysmithTestSupport
import SSHConnect
import SSHCrypto
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("where a secret is asked: ssh's readpass.c rules")
struct PrompterRouteTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var environment: [String: String]
        var terminal: Bool
        var route: SystemPrompter.Route
        var testDescription: String {
            "\(self.environment.sorted { $0.key < $1.key }) terminal: \(self.terminal) → \(self.route)"
        }
    }

    static let program = "/usr/bin/ask"
    static let cases: [Case] = [
        // No askpass program, or none allowed to run: the terminal (which may be absent).
        Case(environment: [:], terminal: true, route: .terminal),
        Case(environment: [:], terminal: false, route: .terminal),
        Case(environment: ["SSH_ASKPASS": program], terminal: false, route: .terminal),
        Case(environment: ["SSH_ASKPASS": program, "DISPLAY": ""], terminal: false, route: .terminal),
        Case(environment: ["SSH_ASKPASS": "", "DISPLAY": ":0"], terminal: false, route: .terminal),
        // A display allows it; it runs when there is no terminal.
        Case(environment: ["SSH_ASKPASS": program, "DISPLAY": ":0"], terminal: true, route: .terminal),
        Case(environment: ["SSH_ASKPASS": program, "DISPLAY": ":0"], terminal: false, route: .askpass(program)),
        Case(environment: ["SSH_ASKPASS": program, "WAYLAND_DISPLAY": "w"], terminal: false, route: .askpass(program)),
        // prefer: on a terminal too, but only where a display allows it.
        Case(
            environment: ["SSH_ASKPASS": program, "DISPLAY": ":0", "SSH_ASKPASS_REQUIRE": "prefer"],
            terminal: true,
            route: .askpass(program)
        ),
        Case(environment: ["SSH_ASKPASS": program, "SSH_ASKPASS_REQUIRE": "prefer"], terminal: true, route: .terminal),
        // force: always, without a display; with no program nothing is asked.
        Case(
            environment: ["SSH_ASKPASS": program, "SSH_ASKPASS_REQUIRE": "force"],
            terminal: true,
            route: .askpass(program)
        ),
        Case(
            environment: ["SSH_ASKPASS": program, "SSH_ASKPASS_REQUIRE": "FoRcE"],
            terminal: true,
            route: .askpass(program)
        ),
        Case(environment: ["SSH_ASKPASS_REQUIRE": "force"], terminal: true, route: .nowhere),
        // never: not even without a terminal.
        Case(
            environment: ["SSH_ASKPASS": program, "DISPLAY": ":0", "SSH_ASKPASS_REQUIRE": "never"],
            terminal: false,
            route: .terminal
        ),
    ]

    @Test(
        "askpass runs under force, under prefer with a display, and without a terminal with a display",
        arguments: cases
    )
    func route(_ c: Case) {
        let route = SystemPrompter.route(environment: { c.environment[$0] }, haveTerminal: { c.terminal })
        #expect(route == c.route)
        let prompter = SystemPrompter(environment: { c.environment[$0] }, haveTerminal: { c.terminal })
        #expect(prompter.route == c.route)
    }

    @Test("SSH_ASKPASS_REQUIRE=force without a program asks nobody")
    func forceWithoutProgram() throws {
        let prompter = SystemPrompter(
            environment: { $0 == "SSH_ASKPASS_REQUIRE" ? "force" : nil },
            haveTerminal: { true }
        )
        #expect(try prompter.askSecret("Password: ") == nil)
    }
}

@Suite("the askpass program and standard input as prompters")
struct PrompterInputTests {
    @Test("the askpass program gets the prompt as its argument; its first line is the answer")
    func askpassFirstLine() throws {
        let dir = try TempDir()
        try writeProgram(
            dir.path("ask"),
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > \"$0.prompt\"\nprintf 'hunter2\\r\\nsecond\\n'\n"
        )
        let answer = try AskpassPrompter(program: dir.path("ask")).askSecret("Password for x: ")
        #expect(answer?.text == "hunter2")
        #expect(try dir.readText("ask.prompt") == "Password for x: \n")
    }

    @Test("an askpass program that fails or cannot run gives no answer but an error naming it")
    func askpassFailure() throws {
        let dir = try TempDir()
        try writeProgram(dir.path("ask"), "#!/bin/sh\necho typed\nexit 3\n")
        #expect {
            try AskpassPrompter(program: dir.path("ask")).askSecret("p")
        } throws: { error in
            (error as? SSHConnectError)?.message
                == "the askpass program \(dir.path("ask")) exited with status 3 and gave no answer"
        }
        #expect {
            try AskpassPrompter(program: dir.path("absent")).askSecret("p")
        } throws: { error in
            (error as? SSHConnectError)?.message.hasPrefix("cannot run the askpass program \(dir.path("absent")): ")
                == true
        }
    }

    @Test("--password-stdin: the first line is read once and given at every question")
    func standardInputOnce() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let text = Array("s3cret\r\nignored\n".utf8)
        #expect(write(fds[1], text, text.count) == text.count)
        close(fds[1])
        let prompter = StandardInputPrompter(descriptor: fds[0])
        #expect(try prompter.askSecret("a")?.text == "s3cret")
        // Read again it would be at end of file: an empty answer.
        #expect(try prompter.askSecret("b")?.text == "s3cret")
        #expect(prompter.askVisible("c") == nil)
    }

    @Test("a prompt that cannot fail the command reports the askpass failure as one sentence")
    func reportingFailure() {
        let prompter = ScriptedPrompter(secrets: [
            .failure("the askpass program x exited with status 1 and gave no answer")
        ])
        let lines = Mutex<[String]>([])
        let answer = prompter.askSecret("p", reportingFailureTo: { line in lines.withLock { $0.append(line) } })
        #expect(answer == nil)
        #expect(lines.withLock { $0 } == ["keysmith: the askpass program x exited with status 1 and gave no answer."])
    }
}
