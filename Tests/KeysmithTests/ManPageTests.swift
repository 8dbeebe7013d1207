import Foundation
import KeysmithTestSupport
import Testing

/// The repository this test file belongs to (man/, completions/, the Makefile).
let repositoryRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Every command as the user finds it: the subcommands `keysmith --help` lists, and theirs,
/// recursively. `[]` is keysmith itself.
func listedCommands() throws -> [[String]] {
    var found: [[String]] = []
    var queue: [[String]] = [[]]
    while let path = queue.first {
        queue.removeFirst()
        found.append(path)
        let help = try keysmith(arguments: path + ["--help"])
        guard help.status == 0 else { throw CommandListError(path: path, stderr: help.stderr) }
        var inList = false
        for line in help.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "SUBCOMMANDS:" {
                inList = true
                continue
            }
            // Names sit two spaces in; wrapped abstracts are indented further.
            guard inList, line.hasPrefix("  "), !line.hasPrefix("   "), !line.hasPrefix("  See ") else { continue }
            let name = line.dropFirst(2).prefix { $0 != " " }
            if !name.isEmpty { queue.append(path + [String(name)]) }
        }
    }
    return found
}

struct CommandListError: Error, CustomStringConvertible {
    let path: [String]
    let stderr: String
    var description: String { "keysmith \(path.joined(separator: " ")) --help failed: \(stderr)" }
}

/// man/keysmith-known-hosts-find.1 for ["known-hosts", "find"].
func manPage(for path: [String]) -> String {
    repositoryRoot + "/man/" + (["keysmith"] + path).joined(separator: "-") + ".1"
}

/// What a command's definition says, from ArgumentParser's `--experimental-dump-help`.
struct CommandDefinition {
    var abstract: String
    var discussion: String
    /// Every option name as the page shows it after `Fl`: "-to", "f", "-json".
    var flags: [String]
}

func commandDefinitions() throws -> [[String]: CommandDefinition] {
    let dump = try keysmith("--experimental-dump-help")
    let json = try #require(JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
    var out: [[String]: CommandDefinition] = [:]
    func walk(_ command: [String: Any], _ path: [String]) {
        var flags: [String] = []
        for argument in command["arguments"] as? [[String: Any]] ?? [] {
            guard argument["shouldDisplay"] as? Bool ?? true else { continue }
            for name in argument["names"] as? [[String: Any]] ?? [] {
                let n = name["name"] as? String ?? ""
                switch name["kind"] as? String {
                case "long": flags.append("-" + n)
                case "short", "longWithSingleDash": flags.append(n)
                default: break
                }
            }
        }
        out[path] = CommandDefinition(
            abstract: command["abstract"] as? String ?? "",
            discussion: command["discussion"] as? String ?? "",
            flags: flags
        )
        for sub in command["subcommands"] as? [[String: Any]] ?? [] {
            let name = sub["commandName"] as? String ?? ""
            if name != "help" { walk(sub, path + [name]) }
        }
    }
    walk(try #require(json["command"] as? [String: Any]), [])
    return out
}

/// A page's running text without mdoc's escapes, whitespace collapsed.
func plainText(_ mdoc: String) -> String {
    mdoc.replacingOccurrences(of: "\\(dq", with: "\"").replacingOccurrences(of: "\\e", with: "\\")
        .replacingOccurrences(of: "\\&", with: "")
        .split(whereSeparator: { $0 == " " || $0 == "\n" }).filter { $0 != ".Pp" }.joined(separator: " ")
}

/// mdoc's generator keeps ASCII only; compare like with like.
func asciiOnly(_ s: String) -> String {
    String(s.unicodeScalars.filter(\.isASCII).map(Character.init))
}

@Suite("man pages")
struct ManPageTests {
    @Test("every command keysmith --help lists has a checked-in page that renders without warnings")
    func everyCommandHasAPage() throws {
        let commands = try listedCommands()
        #expect(commands.count > 15, "\(commands)")
        #expect(commands.contains(["known-hosts", "find"]) && commands.contains(["challenge", "verify"]))
        for path in commands {
            let page = manPage(for: path)
            let name = (["keysmith"] + path).joined(separator: " ")
            guard FileManager.default.fileExists(atPath: page) else {
                Issue.record(
                    "\(name) has no man page \(page): run make man (write docs/man/\(URL(fileURLWithPath: page).deletingPathExtension().lastPathComponent).txt with its EXAMPLES first)"
                )
                continue
            }
            let lint = try runProcess("/usr/bin/groff", ["-man", "-ww", "-z", page])
            #expect(lint.status == 0 && lint.stderr.isEmpty, "\(page): \(lint.stderr)")
            let shown = try runProcess("/usr/bin/groff", ["-man", "-Tutf8", "-P-cbou", page])
            #expect(shown.status == 0 && shown.stderr.isEmpty, "\(page): \(shown.stderr)")
            let docs = "docs/man/" + URL(fileURLWithPath: page).deletingPathExtension().lastPathComponent + ".txt"
            for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
                #expect(
                    shown.stdout.contains("\n" + section + "\n"),
                    "\(page) has no \(section) section (EXAMPLES and SEE ALSO come from \(docs); then make man)"
                )
            }
            #expect(shown.stdout.contains(name), "\(page) does not name \(name)")
            #expect(shown.stdout.contains("64"), "\(page) does not document exit status 64")
        }
    }

    @Test("man/ holds no page for a command that is gone")
    func noStalePages() throws {
        let expected = Set(try listedCommands().map { URL(fileURLWithPath: manPage(for: $0)).lastPathComponent })
        let present = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/man")
        for file in present where !expected.contains(file) {
            Issue.record("man/\(file) belongs to no command; run make man")
        }
        let docs = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/docs/man")
        for file in docs where file.hasSuffix(".txt") {
            #expect(expected.contains(String(file.dropLast(4)) + ".1"), "docs/man/\(file) belongs to no command")
        }
    }

    @Test("each page says what the command's definition says: abstract, discussion, every option")
    func pagesMatchDefinitions() throws {
        let definitions = try commandDefinitions()
        for path in try listedCommands() {
            let definition = try #require(definitions[path], "no definition for \(path)")
            let page = manPage(for: path)
            guard let text = try? String(contentsOfFile: page, encoding: .utf8) else { continue }
            let stale = "man/\(URL(fileURLWithPath: page).lastPathComponent) is out of date; run make man"
            let nd = text.split(separator: "\n").first { $0.hasPrefix(".Nd ") }.map {
                String($0.dropFirst(4)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            #expect(nd.map(plainText) == plainText(asciiOnly(definition.abstract)), "\(stale): NAME")
            let discussion = plainText(asciiOnly(definition.discussion))
            #expect(discussion.isEmpty || plainText(text).contains(discussion), "\(stale): DESCRIPTION")
            // `.It Fl v , x`: the names after Fl and after each comma.
            var shown: Set<String> = []
            for line in text.split(separator: "\n") where line.hasPrefix(".It Fl ") {
                let words = line.split(separator: " ")
                for (i, w) in words.enumerated().dropFirst() where words[i - 1] == "Fl" || words[i - 1] == "," {
                    shown.insert(String(w))
                }
            }
            for flag in definition.flags {
                #expect(shown.contains(flag), "\(stale): no -\(flag) in the option list")
            }
        }
    }

    @Test("exit status 64 for every usage error, as the pages say; help is exit 0 on stdout")
    func usageErrorsExit64() throws {
        let commands = try listedCommands()
        let groups = Set(commands.compactMap { $0.isEmpty ? nil : Array($0.dropLast()) })
        for path in commands {
            let name = (["keysmith"] + path).joined(separator: " ")
            let bad = try keysmith(arguments: path + ["--no-such-option"])
            #expect(bad.status == 64, "\(name) --no-such-option: \(bad.status)")
            #expect(bad.stdout.isEmpty, "\(name): usage errors go to stderr")
            #expect(bad.stderr.contains("Usage: \(name)"), "\(name): \(bad.stderr)")
            if groups.contains(path) {
                let bare = try keysmith(arguments: path)
                #expect(bare.status == 64, "\(name) without a subcommand: \(bare.status)")
                #expect(bare.stdout.isEmpty && bare.stderr.contains("Missing subcommand"), "\(name): \(bare.stderr)")
            }
            let help = try keysmith(arguments: path + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE: \(name)") && help.stderr.isEmpty)
        }
        let missing = try keysmith("public")
        #expect(missing.status == 64 && missing.stderr.contains("Missing expected argument"))
    }
}
