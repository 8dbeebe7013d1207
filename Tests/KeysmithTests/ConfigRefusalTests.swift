import Foundation
import KeysmithTestSupport
import Testing

/// ssh_config that keysmith cannot follow stops the run before any connection: one
/// sentence naming the file and line, exit 1.
@Suite("keysmith refuses ssh_config it cannot follow")
struct ConfigRefusalTests {
    @Test(
        "an unknown Match criterion, a Match exec that hangs, a keyword keysmith does not implement",
        arguments: [
            ("Host x\n  Port 1\nMatch host web bogus yes\n  Port 2\n", "line 3: unknown Match criterion 'bogus'"),
            ("Match exec \"sleep 30\"\n  Port 2\n", "line 1: Match exec 'sleep 30' did not finish within 1 seconds"),
            ("Host web\n  GSSAPIAuthentication yes\n", "line 2: keysmith does not implement GSSAPIAuthentication yes"),
        ]
    )
    func refuses(config: String, sentence: String) throws {
        let dir = try TempDir()
        try dir.write("config", config)
        let start = ContinuousClock.now
        // Port 9 on loopback: were the configuration accepted, the connection would be refused.
        let r = try keysmith("list-ids", "-F", dir.path("config"), "-o", "ConnectTimeout=1", "-p", "9", "web")
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("\(dir.path("config")) \(sentence)"), "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r)")
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}

extension ConfigRefusalTests {
    /// The keywords of docs/ssh-config.md's table whose class (its second column) starts
    /// with `word`: `Host`, `Match` and `Include` left out, a keyword's other name in
    /// parentheses included, `Name*` families left out.
    static func documentedKeywords(_ word: String) throws -> Set<String> {
        var names: Set<String> = []
        for line in try readText(repositoryRoot + "/docs/ssh-config.md").split(separator: "\n") {
            let columns = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard columns.count >= 2, columns[1].hasPrefix(word) else { continue }
            for name in columns[0].split(whereSeparator: { ", ()".contains($0) }) where !name.contains("*") {
                names.insert(String(name))
            }
        }
        return names.subtracting(["Host", "Match", "Include", "and", "the", "other", "GSSAPI"])
    }

    @Test("-o's help names each keyword as docs/ssh-config.md classes it: acted on, refused, the rest ignored")
    func optionHelp() throws {
        let help = try keysmith("copy-id", "--help")
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let acted = try #require(text.range(of: "Acted on as ssh does: "))
        let refused = try #require(text.range(of: "Refused where they apply: "))
        let rest = try #require(text.range(of: "Any other keyword is ignored."))
        func names(_ part: Substring) -> Set<String> {
            Set(
                part.split(whereSeparator: { ", .()".contains($0) }).map(String.init).filter {
                    $0.first?.isUppercase == true
                }
            )
        }
        let implemented = try Self.documentedKeywords("implemented")
        let refusedNames = try Self.documentedKeywords("refused")
        #expect(implemented.count > 40 && refusedNames.count >= 6)
        #expect(names(text[acted.upperBound..<refused.lowerBound]) == implemented)
        #expect(names(text[refused.upperBound..<rest.lowerBound]) == refusedNames)
        #expect(text.contains("GSSAPIAuthentication (unless no)") && text.contains("PKCS11Provider (unless none)"))
        #expect(!text.contains("Understood"))
    }
}
