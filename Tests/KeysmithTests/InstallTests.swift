import Foundation
import KeysmithTestSupport
import Testing

/// The completion scripts in completions/ and the name each is installed under.
let completionFiles: [(shell: String, file: String, installed: String)] = [
    ("bash", "keysmith.bash", "share/bash-completion/completions/keysmith"),
    ("zsh", "_keysmith", "share/zsh/site-functions/_keysmith"),
    ("fish", "keysmith.fish", "share/fish/vendor_completions.d/keysmith.fish"),
]

@Suite("shell completions and make install")
struct InstallTests {
    @Test("completions/ holds exactly what keysmith --generate-completion-script prints", arguments: completionFiles)
    func completionsAreCurrent(shell: String, file: String, installed: String) throws {
        let generated = try keysmith("--generate-completion-script", shell)
        #expect(generated.status == 0)
        let checkedIn = try String(contentsOfFile: repositoryRoot + "/completions/" + file, encoding: .utf8)
        #expect(checkedIn == generated.stdout, "completions/\(file) is out of date; run make completions")
    }

    @Test("bash completes every command and a group's subcommands")
    func bashCompletes() throws {
        let commands = try listedCommands()
        let script = """
            source "$1"
            complete_line() {
                COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
                read -r -a COMP_WORDS <<< "$COMP_LINE"; COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
                _keysmith
                printf '%s\\n' "${COMPREPLY[@]}"
            }
            complete_line "keysmith "
            echo ---
            complete_line "keysmith challenge "
            """
        let r = try runProcess("/bin/bash", ["-c", script, "bash", repositoryRoot + "/completions/keysmith.bash"])
        #expect(r.status == 0, "\(r.stderr)")
        let parts = r.stdout.components(separatedBy: "---\n")
        try #require(parts.count == 2, "\(r.stdout)")
        let top = Set(parts[0].split(separator: "\n").map(String.init))
        for path in commands where path.count == 1 {
            #expect(top.contains(path[0]), "bash does not complete keysmith \(path[0])")
        }
        let sub = Set(parts[1].split(separator: "\n").map(String.init))
        #expect(sub.isSuperset(of: ["issue", "respond", "verify"]), "\(sub)")
    }

    @Test("fish completes every command and every option of generate; zsh reads its script")
    func fishAndZsh() throws {
        let file = repositoryRoot + "/completions/keysmith.fish"
        let fish = try runProcess(
            "/usr/bin/fish",
            [
                "--no-config", "-c",
                "source $argv[1]; complete -C 'keysmith '; echo ---; complete -C 'keysmith generate -'", file,
            ]
        )
        #expect(fish.status == 0, "\(fish.stderr)")
        let parts = fish.stdout.components(separatedBy: "---\n")
        try #require(parts.count == 2, "\(fish.stdout)")
        let top = Set(parts[0].split(separator: "\n").map { String($0.prefix { $0 != "\t" }) })
        for path in try listedCommands() where path.count == 1 {
            #expect(top.contains(path[0]), "fish does not complete keysmith \(path[0])")
        }
        let options = Set(parts[1].split(separator: "\n").map { String($0.prefix { $0 != "\t" }) })
        #expect(options.isSuperset(of: ["-t", "-b", "-C", "-f", "-N", "-a", "-Z", "--force"]), "\(options)")

        let zsh = repositoryRoot + "/completions/_keysmith"
        let syntax = try runProcess("/usr/bin/zsh", ["-n", zsh])
        #expect(syntax.status == 0 && syntax.stderr.isEmpty, "\(syntax.stderr)")
        #expect(try String(contentsOfFile: zsh, encoding: .utf8).hasPrefix("#compdef keysmith"))
    }

    @Test(
        "make install PREFIX=... BIN=... puts the binary, its security key helper, every man page and the completions in place"
    )
    func makeInstall() throws {
        let dir = try TempDir()
        let prefix = dir.path("prefix with space")
        let make = try runProcess(
            "/usr/bin/make",
            ["-s", "-C", repositoryRoot, "install", "PREFIX=\(prefix)", "BIN=\(keysmithPath)"]
        )
        try #require(make.status == 0, "\(make.stdout)\(make.stderr)")

        func mode(_ path: String) throws -> Int {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        let binary = prefix + "/bin/keysmith"
        #expect(try mode(binary) == 0o755)
        let version = try runProcess(binary, ["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty)
        let pub = dir.path("k.pub")
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "installed", "-f", dir.path("k")]).status == 0)
        let theirs = try keygen(["-l", "-f", pub])
        let ours = try runProcess(binary, ["fingerprint", "-f", pub])
        #expect(ours.status == 0 && ours.stdout == theirs.stdout)

        // The security key helper beside BIN goes to libexec/keysmith, where the installed
        // keysmith finds it (no helper is beside it in bin/).
        let helper = prefix + "/libexec/keysmith/keysmith-sk-helper"
        #expect(try mode(helper) == 0o755)
        #expect(!FileManager.default.fileExists(atPath: prefix + "/bin/keysmith-sk-helper"))
        let generated = try runProcess(
            binary,
            ["generate", "-q", "-t", "ed25519-sk", "-w", try SoftAuthenticator.path(), "-f", dir.path("sk"), "-N", ""],
            environment: ["KEYSMITH_SK_HELPER_ALWAYS": "1"]
        )
        #expect(generated.status == 0, "\(generated)")
        #expect(try keygen(["-y", "-f", dir.path("sk")]).status == 0)

        // The challenge service beside BIN goes there too, where the installed keysmith finds
        // it: a database store is handed to it (here one where nothing listens).
        let service = prefix + "/libexec/keysmith/keysmith-challenged"
        #expect(try mode(service) == 0o755)
        #expect(!FileManager.default.fileExists(atPath: prefix + "/bin/keysmith-challenged"))
        let issued = try runProcess(
            binary,
            ["challenge", "issue", "--state", "postgres://keysmith@127.0.0.1:1/none", "--audience", "a.example"]
        )
        #expect(issued.status == 1, "\(issued)")
        #expect(!issued.stderr.contains("cannot run keysmith-challenged"), "\(issued)")
        #expect(issued.stderr.contains("127.0.0.1:1"), "\(issued)")

        for path in try listedCommands() {
            let page = URL(fileURLWithPath: manPage(for: path)).lastPathComponent
            let installed = prefix + "/share/man/man1/" + page
            #expect(try mode(installed) == 0o644, "\(page)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: installed))
                    == Data(contentsOf: URL(fileURLWithPath: manPage(for: path)))
            )
        }
        // man finds the installed pages under the prefix.
        let found = try runProcess("/usr/bin/man", ["-M", prefix + "/share/man", "-w", "keysmith-copy-id"])
        #expect(found.status == 0 && found.stdout.hasSuffix("/share/man/man1/keysmith-copy-id.1\n"), "\(found)")

        for (_, file, installed) in completionFiles {
            #expect(try mode(prefix + "/" + installed) == 0o644, "\(installed)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: prefix + "/" + installed))
                    == Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/completions/" + file))
            )
        }

        let uninstall = try runProcess("/usr/bin/make", ["-s", "-C", repositoryRoot, "uninstall", "PREFIX=\(prefix)"])
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        let left = FileManager.default.enumerator(atPath: prefix)?.compactMap { $0 as? String }.filter {
            !((try? FileManager.default.attributesOfItem(atPath: prefix + "/" + $0)[.type] as? FileAttributeType)
                == .typeDirectory)
        }
        #expect(left == [], "make uninstall left \(left ?? [])")
    }

    @Test(
        "make install LINKS=1 puts ssh-keygen, ssh-copy-id and ssh-add links to keysmith in libexec/keysmith/openssh, and uninstall takes them out"
    )
    func makeInstallLinks() throws {
        let dir = try TempDir()
        let prefix = dir.path("prefix")
        let make = try runProcess(
            "/usr/bin/make",
            ["-s", "-C", repositoryRoot, "install", "PREFIX=\(prefix)", "BIN=\(keysmithPath)", "LINKS=1"]
        )
        try #require(make.status == 0, "\(make.stdout)\(make.stderr)")
        let links = prefix + "/libexec/keysmith/openssh"
        for tool in ["ssh-keygen", "ssh-copy-id", "ssh-add"] {
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: links + "/" + tool)
            #expect(URL(fileURLWithPath: links + "/" + target).standardized.path == prefix + "/bin/keysmith", "\(tool)")
        }
        // Nothing named after an OpenSSH tool lands in bin/.
        #expect(try FileManager.default.contentsOfDirectory(atPath: prefix + "/bin") == ["keysmith"])
        // Run by PATH, the link reads ssh-keygen's command line and prints what ssh-keygen prints.
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-f", dir.path("k")]).status == 0)
        let ours = try runProcess(
            "/bin/sh",
            ["-c", "PATH=\"$0:$PATH\" exec ssh-keygen -l -f \"$1\"", links, dir.path("k")]
        )
        let theirs = try keygen(["-l", "-f", dir.path("k")])
        #expect(ours.status == 0 && ours.stdout == theirs.stdout, "\(ours)")

        let uninstall = try runProcess("/usr/bin/make", ["-s", "-C", repositoryRoot, "uninstall", "PREFIX=\(prefix)"])
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(!FileManager.default.fileExists(atPath: links))
    }

    /// A user without root on a machine missing packages: `dpkg-query` says nothing is
    /// installed and `id -u` says 1000, through stand-ins first on PATH.
    static func withoutPackages(_ target: String, prefix: String, in dir: TempDir) throws -> ProcessResult {
        let bin = dir.path("fake-bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        // dpkg-query finds no package; `id -u` prints nothing, so not 0 (root). Links to
        // /bin/false rather than fresh scripts: no file written here is executed.
        for tool in ["dpkg-query", "id"] where !FileManager.default.fileExists(atPath: bin + "/" + tool) {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + tool, withDestinationPath: "/bin/false")
        }
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try runProcess(
            "/usr/bin/make",
            ["-s", "-C", repositoryRoot, target, "PREFIX=\(prefix)"],
            environment: ["PATH": path]
        )
    }

    @Test("make install asks only for the build packages, names them in one apt-get line, and installs nothing else")
    func installNeedsOnlyBuildPackages() throws {
        let dir = try TempDir()
        let prefix = dir.path("prefix")
        let install = try Self.withoutPackages("install", prefix: prefix, in: dir)
        #expect(install.status != 0)
        #expect(
            install.stdout == """
                missing Debian packages; run as root:
                  sudo apt-get update && sudo apt-get install -y libfido2-dev libsodium-dev libssl-dev pkg-config

                """,
            "\(install.stdout)\(install.stderr)"
        )
        #expect(!FileManager.default.fileExists(atPath: prefix))

        // The tests name their peers too; the demo adds only OpenSSH.
        let test = try Self.withoutPackages("test", prefix: prefix, in: dir)
        #expect(test.status != 0)
        for peer in ["openssh-server", "dropbear-bin", "sshpass", "python3-paramiko", "zsh", "fish", "man-db"] {
            #expect(test.stdout.contains(" \(peer)"), "\(peer) missing from \(test.stdout)")
        }
        let demo = try Self.withoutPackages("demo", prefix: prefix, in: dir)
        #expect(demo.status != 0)
        #expect(demo.stdout.contains("libsodium-dev libssl-dev openssh-client openssh-server pkg-config\n"))
        #expect(!demo.stdout.contains("dropbear"))
    }
}
