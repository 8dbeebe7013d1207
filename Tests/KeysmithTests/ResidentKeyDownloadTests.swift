import Foundation
import KeysmithTestSupport
import Testing

/// Resident keys read back from a security key (ssh-keygen -K): the ssh-keygen link's -K
/// against ssh-keygen 9.2 byte for byte, and `keysmith sk download`, each in a directory of
/// its own, through the software authenticator of Tests/Fixtures (its resident keys kept
/// in a directory), with keys enrolled by ssh-keygen -O resident.
@Suite("resident keys downloaded from a security key: ssh-keygen -K and keysmith sk download")
struct ResidentKeyDownloadTests {
    /// An authenticator holding resident keys ssh-keygen made, wanting the PIN 1234.
    struct Authenticator {
        let dir: TempDir
        let library: String
        let residentDirectory: String
        /// The file names ssh-keygen -K gives the keys enrolled, with each key's public line.
        var enrolled: [String: String] = [:]

        /// `keys`: (type, application, user) of each resident key to enrol.
        init(_ keys: [(type: String, application: String?, user: String?)]) throws {
            self.dir = try TempDir()
            self.library = try SoftAuthenticator.path()
            self.residentDirectory = self.dir.path("resident")
            try FileManager.default.createDirectory(atPath: self.residentDirectory, withIntermediateDirectories: true)
            for (index, key) in keys.enumerated() {
                let file = self.dir.path("enrolled\(index)")
                var arguments = ["-q", "-t", key.type, "-O", "resident", "-w", self.library, "-N", "", "-f", file]
                if let application = key.application { arguments += ["-O", "application=\(application)"] }
                if let user = key.user { arguments += ["-O", "user=\(user)"] }
                let r = try runProcess(
                    Tool.sshKeygen,
                    arguments,
                    input: Data("1234\n".utf8),
                    environment: self.environment
                )
                try #require(r.status == 0, "\(r)")
                self.enrolled[file] = keyPart(try readText(file + ".pub"))
            }
        }

        var environment: [String: String] {
            SoftAuthenticator.environment([.pin: "1234", .residentDirectory: self.residentDirectory]).merging([
                "SSH_ASKPASS": "", "DISPLAY": "", "SSH_SK_PROVIDER": "",
            ]) { $1 }
        }

        /// A directory of its own for one tool's run.
        func workDirectory(_ name: String) throws -> String {
            let path = self.dir.path(name)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }

        /// Runs `program` with `arguments` in `directory`, `input` on standard input.
        func run(
            _ program: String,
            _ arguments: [String],
            in directory: String,
            input: String,
            environment: [String: String] = [:]
        ) throws -> ProcessResult {
            try runProcess(
                program,
                arguments,
                input: Data(input.utf8),
                environment: self.environment.merging(environment) { $1 },
                directory: URL(fileURLWithPath: directory)
            )
        }
    }

    /// The files of `directory`, sorted.
    static func files(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    /// ssh-keygen -K and the link's -K in two directories, with the same arguments and
    /// standard input: the same bytes out, the same exit status, the same file names.
    static func expectSame(
        _ authenticator: Authenticator,
        _ arguments: [String],
        input: String,
        prepare: (String) throws -> Void = { _ in },
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (ours: String, theirs: String, result: ProcessResult) {
        let link = try KeygenSignatureLink()
        let theirsDir = try authenticator.workDirectory("theirs-\(UUID().uuidString)")
        let oursDir = try authenticator.workDirectory("ours-\(UUID().uuidString)")
        try prepare(theirsDir)
        try prepare(oursDir)
        let theirs = try authenticator.run(Tool.sshKeygen, arguments, in: theirsDir, input: input)
        let ours = try authenticator.run(link.path, arguments, in: oursDir, input: input)
        let line = arguments.joined(separator: " ")
        #expect(
            ours.status == theirs.status,
            "\(line)\nours: \(ours)\ntheirs: \(theirs)",
            sourceLocation: sourceLocation
        )
        #expect(
            ours.stdout == theirs.stdout,
            "\(line)\nours: \(ours)\ntheirs: \(theirs)",
            sourceLocation: sourceLocation
        )
        #expect(
            ours.stderr == theirs.stderr,
            "\(line)\nours: \(ours)\ntheirs: \(theirs)",
            sourceLocation: sourceLocation
        )
        #expect(try files(oursDir) == (try files(theirsDir)), sourceLocation: sourceLocation)
        return (oursDir, theirsDir, theirs)
    }

    /// Expects `mine`'s key files to be `theirs`' keys: the same public files, each private
    /// file giving its public key to ssh-keygen -y and to keysmith public.
    static func expectSameKeys(_ mine: String, _ theirs: String, names: [String]) throws {
        for name in names {
            let pub = try readText(theirs + "/" + name + ".pub")
            #expect(try readText(mine + "/" + name + ".pub") == pub, "\(name).pub")
            #expect(try fileMode(mine + "/" + name) == 0o600)
            let y = try keygen(["-y", "-f", mine + "/" + name]).checked("ssh-keygen -y")
            #expect(y.stdout == pub, "ssh-keygen -y \(name)")
            let ours = try keysmith("public", "-f", theirs + "/" + name)
            #expect(ours.status == 0 && keyPart(ours.stdout) == keyPart(pub), "keysmith public \(name): \(ours)")
        }
    }

    /// ssh-keygen -Y sign with the downloaded key file (its key handle through the
    /// authenticator, which wants no PIN for a signature here: ssh-keygen asks for one only
    /// for a verify-required key), verified by ssh-keygen -Y verify.
    static func expectSigns(_ authenticator: Authenticator, key: String) throws {
        let message = "signed with a downloaded resident key\n"
        try writeText(key + ".msg", message)
        let sign = try runProcess(
            Tool.sshKeygen,
            ["-Y", "sign", "-w", authenticator.library, "-f", key, "-n", "file", key + ".msg"],
            environment: authenticator.environment.merging(
                SoftAuthenticator.environment([.pin: ""]).merging(["SSH_AUTH_SOCK": ""]) { $1 }
            ) { $1 }
        )
        #expect(sign.status == 0, "\(sign)")
        let allowed = key + ".allowed"
        try writeText(allowed, "me \(keyPart(try readText(key + ".pub")))\n", mode: 0o644)
        let verify = try keygen(
            ["-Y", "verify", "-f", allowed, "-I", "me", "-n", "file", "-s", key + ".msg.sig"],
            input: Data(message.utf8)
        )
        #expect(verify.status == 0, "\(verify)")
    }

    static let keys: [(type: String, application: String?, user: String?)] = [
        ("ed25519-sk", nil, nil),
        ("ecdsa-sk", "ssh://host.example", "alice"),
        ("ed25519-sk", "ssh:work", "a/b"),
    ]
    static let names = ["id_ecdsa_sk_rk_host.example_alice", "id_ed25519_sk_rk", "id_ed25519_sk_rk_work_612f62"]

    @Test("the link's -K is ssh-keygen's: output, files, keys readable both ways, and they sign")
    func linkDownload() throws {
        let authenticator = try Authenticator(Self.keys)
        let (ours, theirs, result) = try Self.expectSame(
            authenticator,
            ["-K", "-w", authenticator.library, "-N", ""],
            input: "1234\n"
        )
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr == "Enter PIN for authenticator: ", "\(result)")
        #expect(try Self.files(ours) == Self.names.flatMap { [$0, $0 + ".pub"] })
        try Self.expectSameKeys(ours, theirs, names: Self.names)
        #expect(
            Set(try Self.names.map { keyPart(try readText(ours + "/" + $0 + ".pub")) })
                == Set(authenticator.enrolled.values)
        )
        try Self.expectSigns(authenticator, key: ours + "/id_ecdsa_sk_rk_host.example_alice")
        try Self.expectSigns(authenticator, key: ours + "/id_ed25519_sk_rk")
    }

    @Test("the link's -K with a passphrase, -q, -O device=, and SSH_SK_PROVIDER in place of -w")
    func linkDownloadVariants() throws {
        let authenticator = try Authenticator([Self.keys[0]])
        let (ours, _, _) = try Self.expectSame(
            authenticator,
            ["-K", "-q", "-O", "device=/dev/null", "-w", authenticator.library, "-N", "secret"],
            input: "1234\n"
        )
        let y = try keygen(["-y", "-P", "secret", "-f", ours + "/id_ed25519_sk_rk"]).checked("ssh-keygen -y -P")
        #expect(y.stdout == (try readText(ours + "/id_ed25519_sk_rk.pub")))
        // The passphrase asked twice on standard input when -N is not given (read_check_passphrase).
        let link = try KeygenSignatureLink()
        let dir = try authenticator.workDirectory("provider-from-environment")
        let r = try authenticator.run(
            link.path,
            ["-K"],
            in: dir,
            input: "1234\n",
            environment: ["SSH_SK_PROVIDER": authenticator.library]
        )
        #expect(r.status == 0, "\(r)")
        #expect(
            r.stderr
                == "Enter PIN for authenticator: Enter passphrase (empty for no passphrase): Enter same passphrase again: ",
            "\(r)"
        )
        #expect(try Self.files(dir) == ["id_ed25519_sk_rk", "id_ed25519_sk_rk.pub"])
    }

    @Test("the link's -K: a wrong PIN, no PIN, no resident key, a refused option, an existing file kept")
    func linkFailures() throws {
        let authenticator = try Authenticator([Self.keys[0], Self.keys[1]])
        let arguments = ["-K", "-w", authenticator.library, "-N", ""]
        let wrong = try Self.expectSame(authenticator, arguments, input: "9999\n").result
        #expect(wrong.status == 255 && wrong.stderr.contains("Unable to load resident keys: incorrect passphrase"))
        _ = try Self.expectSame(authenticator, arguments, input: "\n")
        let refused = try Self.expectSame(authenticator, arguments + ["-O", "user=x"], input: "1234\n").result
        #expect(refused.status == 255 && refused.stderr.contains("unsupported for FIDO authenticator download"))
        // Overwrite refused: the key files before it were saved, the one asked about kept.
        let kept = "not a key\n"
        let (ours, _, declined) = try Self.expectSame(authenticator, arguments, input: "1234\nn\n") { dir in
            try writeText(dir + "/id_ed25519_sk_rk", kept)
        }
        #expect(declined.status == 255 && declined.stdout.contains("id_ed25519_sk_rk already exists."), "\(declined)")
        #expect(try readText(ours + "/id_ed25519_sk_rk") == kept)
        _ = try Self.expectSame(authenticator, arguments, input: "1234\ny\n") { dir in
            try writeText(dir + "/id_ed25519_sk_rk", kept)
        }
        let empty = try Authenticator([])
        let none = try Self.expectSame(empty, arguments, input: "1234\n").result
        #expect(none.status == 0 && none.stderr == "Enter PIN for authenticator: No keys to download\r\n", "\(none)")
    }

    @Test("keysmith sk download: ssh-keygen -K's files and lines, the PIN asked through askpass")
    func commandDownload() throws {
        let authenticator = try Authenticator(Self.keys)
        let (_, theirs, result) = try Self.expectSame(
            authenticator,
            ["-K", "-w", authenticator.library, "-N", ""],
            input: "1234\n"
        )
        let mine = try authenticator.workDirectory("keysmith")
        let askpass = authenticator.dir.path("askpass")
        let prompts = authenticator.dir.path("prompts")
        try writeProgram(askpass, "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(prompts)'\necho 1234\n")
        let askpassEnvironment = ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force"]
        let r = try authenticator.run(
            keysmithPath,
            ["sk", "download", "-w", authenticator.library, "-N", ""],
            in: mine,
            input: "",
            environment: askpassEnvironment
        )
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "You may need to touch your authenticator to authorize key download.\n", "\(r)")
        #expect(
            result.stdout == "You may need to touch your authenticator to authorize key download.\n" + r.stdout,
            "\(r)"
        )
        #expect(try readText(prompts) == "Enter PIN for authenticator: \n")
        #expect(try Self.files(mine) == Self.names.flatMap { [$0, $0 + ".pub"] })
        try Self.expectSameKeys(mine, theirs, names: Self.names)
        try Self.expectSigns(authenticator, key: mine + "/id_ed25519_sk_rk_work_612f62")

        // Files in place: nothing replaced without --force, everything with it.
        let before = try readText(mine + "/id_ed25519_sk_rk")
        let again = try authenticator.run(
            keysmithPath,
            ["sk", "download", "-w", authenticator.library, "-N", ""],
            in: mine,
            input: "",
            environment: askpassEnvironment
        )
        #expect(again.status == 1, "\(again)")
        #expect(again.stderr.contains("already exists; use --force to replace it"), "\(again)")
        #expect(try readText(mine + "/id_ed25519_sk_rk") == before)
        let forced = try authenticator.run(
            keysmithPath,
            ["sk", "download", "--force", "-q", "-w", authenticator.library, "-N", ""],
            in: mine,
            input: "",
            environment: askpassEnvironment
        )
        #expect(forced.status == 0 && forced.stdout.isEmpty && forced.stderr.isEmpty, "\(forced)")
        #expect(try readText(mine + "/id_ed25519_sk_rk") != before)
        try Self.expectSameKeys(mine, theirs, names: Self.names)

        // The same through the security key helper (what a static executable uses).
        let helped = try authenticator.workDirectory("helper")
        let throughHelper = try authenticator.run(
            keysmithPath,
            ["sk", "download", "-w", authenticator.library, "-N", ""],
            in: helped,
            input: "",
            environment: askpassEnvironment.merging(["KEYSMITH_SK_HELPER_ALWAYS": "1"]) { $1 }
        )
        #expect(throughHelper.status == 0 && throughHelper.stdout == r.stdout, "\(throughHelper)")
        try Self.expectSameKeys(helped, theirs, names: Self.names)
    }

    @Test("keysmith sk download: a wrong PIN three times, no resident key, a refused option")
    func commandFailures() throws {
        let authenticator = try Authenticator([Self.keys[0]])
        let askpass = authenticator.dir.path("askpass")
        try writeProgram(askpass, "#!/bin/sh\necho 9999\n")
        let dir = try authenticator.workDirectory("keysmith")
        let wrong = try authenticator.run(
            keysmithPath,
            ["sk", "download", "-w", authenticator.library, "-N", ""],
            in: dir,
            input: "",
            environment: ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force"]
        )
        #expect(wrong.status == 1, "\(wrong)")
        #expect(wrong.stderr.hasSuffix("keysmith: too many incorrect PINs.\n"), "\(wrong)")
        #expect(try Self.files(dir).isEmpty)
        let noTerminal = try authenticator.run(
            keysmithPath,
            ["sk", "download", "-w", authenticator.library, "-N", ""],
            in: dir,
            input: ""
        )
        #expect(noTerminal.status == 1 && noTerminal.stderr.contains("no terminal to ask for it"), "\(noTerminal)")
        try writeProgram(askpass, "#!/bin/sh\necho 1234\n")
        let empty = try Authenticator([])
        let none = try empty.run(
            keysmithPath,
            ["sk", "download", "-w", empty.library, "-N", ""],
            in: dir,
            input: "",
            environment: ["SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force"]
        )
        #expect(none.status == 0 && none.stderr.hasSuffix("No keys to download\n"), "\(none)")
        #expect(try Self.files(dir).isEmpty)
        let option = try keysmith("sk", "download", "-O", "user=x")
        #expect(option.status == 64 && option.stderr.contains("\"user=x\" is unsupported"), "\(option)")
    }

    @Test("ssh-keygen -K's file names: the application without ssh:, the user, in hex when unsafe")
    func suffixes() throws {
        // Through the link: ssh-keygen's names for users sk_suffix keeps and those it writes in hex.
        let authenticator = try Authenticator([
            ("ed25519-sk", "ssh:", "bob"), ("ecdsa-sk", "ssh:x", "a..b"), ("ed25519-sk", "ssh://y", "c\\d"),
        ])
        // A tab is kept; é is kept in a UTF-8 locale (the tests' C.UTF-8) and escaped, so
        // written in hex, in the C locale.
        let printable = try Authenticator([("ed25519-sk", "ssh:t", "a\tb"), ("ecdsa-sk", "ssh:u", "\u{e9}")])
        let (utf8, _, _) = try Self.expectSame(
            printable,
            ["-K", "-w", printable.library, "-N", ""],
            input: "1234\n"
        )
        #expect(try Self.files(utf8).contains("id_ecdsa_sk_rk_u_\u{e9}"))
        let link = try KeygenSignatureLink()
        for program in [Tool.sshKeygen, link.path] {
            let dir = try printable.workDirectory("c-locale-\(UUID().uuidString)")
            let r = try printable.run(
                program,
                ["-K", "-w", printable.library, "-N", ""],
                in: dir,
                input: "1234\n",
                environment: ["LC_ALL": "C"]
            )
            #expect(r.status == 0, "\(r)")
            #expect(
                try Self.files(dir) == [
                    "id_ecdsa_sk_rk_u_c3a9", "id_ecdsa_sk_rk_u_c3a9.pub", "id_ed25519_sk_rk_t_a\tb",
                    "id_ed25519_sk_rk_t_a\tb.pub",
                ],
                "\(program)"
            )
        }
        let (ours, _, _) = try Self.expectSame(
            authenticator,
            ["-K", "-w", authenticator.library, "-N", ""],
            input: "1234\n"
        )
        #expect(
            try Self.files(ours) == [
                "id_ecdsa_sk_rk_x_612e2e62", "id_ecdsa_sk_rk_x_612e2e62.pub", "id_ed25519_sk_rk_bob",
                "id_ed25519_sk_rk_bob.pub", "id_ed25519_sk_rk_y_635c64", "id_ed25519_sk_rk_y_635c64.pub",
            ]
        )
    }
}
