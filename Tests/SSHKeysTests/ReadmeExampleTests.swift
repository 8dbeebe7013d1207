import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

/// The README's "Swift library in ten lines", line for line; OpenSSH checks the results.
@Suite("README library example")
struct ReadmeExampleTests {
    @Test("the README's ten lines work, and ssh-keygen reads what they write")
    func tenLines() throws {
        let dir = try TempDir()
        let path = dir.path("id_ed25519")
        var printed: [String] = []
        func print(_ item: Any) { printed.append("\(item)") }

        // README begin
        let key = try SSHPrivateKey(generating: .ed25519, comment: "me@laptop")
        let passphrase = SecureBytes(utf8: "correct horse")
        let file = try key.fileRepresentation(passphrase: passphrase)  // openssh-key-v1, as ssh-keygen writes
        let bytes = file.withUnsafeBytes { Data($0) }
        _ = FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600])
        print(key.publicKey.openSSHLine(comment: key.comment))  // ssh-ed25519 AAAAC3Nz… me@laptop
        print(key.publicKey.fingerprint())  // SHA256:…, as ssh-keygen -l shows it
        let reread = try SSHPrivateKey(
            fileContents: Data(contentsOf: URL(fileURLWithPath: path)),
            passphrase: passphrase
        )
        let signature = try SSHSIGSignature.sign(Data("hello\n".utf8), with: reread, namespace: "file")
        try signature.verify(Data("hello\n".utf8), namespace: "file")  // throws unless it matches
        print(signature.armored)  // -----BEGIN SSH SIGNATURE----- …, as ssh-keygen -Y sign
        // README end

        let y = try runProcess(Tool.sshKeygen, ["-y", "-P", "correct horse", "-f", path])
        #expect(y.status == 0 && y.stdout == printed[0] + "\n", "\(y)")
        let l = try runProcess(Tool.sshKeygen, ["-l", "-f", path])
        #expect(l.stdout.split(separator: " ")[1] == printed[1])
        try printed[2].write(toFile: dir.path("sig"), atomically: true, encoding: .utf8)
        let check = try runProcess(
            Tool.sshKeygen,
            ["-Y", "check-novalidate", "-n", "file", "-s", dir.path("sig")],
            input: Data("hello\n".utf8)
        )
        #expect(check.status == 0, "\(check)")
        let tampered = try runProcess(
            Tool.sshKeygen,
            ["-Y", "check-novalidate", "-n", "file", "-s", dir.path("sig")],
            input: Data("hullo\n".utf8)
        )
        #expect(tampered.status != 0)
    }

    @Test("README.md shows exactly these lines")
    func readmeHasThem() throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let start = try #require(source.range(of: "// README begin\n"))
        let end = try #require(source.range(of: "        // README end"))
        // Compared without whitespace, so either side may wrap lines differently.
        func words(_ text: Substring) -> String { String(text.filter { !$0.isWhitespace }) }
        let snippet = words(source[start.upperBound..<end.lowerBound])
        let readmePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md").path
        let readme = try String(contentsOfFile: readmePath, encoding: .utf8)
        #expect(words(readme[...]).contains(snippet), "README.md's library example differs from ReadmeExampleTests")
    }
}
