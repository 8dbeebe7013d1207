import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// Reading files of key lines: line endings and what the first bytes say about a file.
@Suite("key lines")
struct KeyLinesTests {
    static let ed25519 = try! SSHPrivateKey(generating: .ed25519).publicKey.openSSHLine()

    @Test("CR LF lines are separate lines, and the CR is not part of the comment")
    func crlf() throws {
        let text = "\(Self.ed25519) first\r\n\(Self.ed25519)\r\n# note\r\n\(Self.ed25519) third\r\n"
        let lines = try SSHPublicKey.keys(inFile: Array(text.utf8))
        #expect(lines.map(\.comment) == ["first", nil, "third"])
    }

    @Test("a known_hosts line for 0.0.0.0 is key lines, not DER")
    func leadingZero() throws {
        let text = "0.0.0.0 \(Self.ed25519)\n"
        #expect(KeyFileKind(contents: Array(text.utf8)) == .publicKeyLines)
        #expect(try SSHPublicKey.keys(inFile: Array(text.utf8)).map(\.prefix) == ["0.0.0.0"])
        // A DER SEQUENCE with a long-form length, or a short one spanning the file, still is.
        #expect(KeyFileKind(contents: [0x30, 0x82, 0x01, 0x00]) == .pemPrivateKey)
        #expect(KeyFileKind(contents: [0x30, 0x02, 0x05, 0x00]) == .pemPrivateKey)
        #expect(KeyFileKind(contents: Array("0 \(Self.ed25519)".utf8)) == .publicKeyLines)
    }
}
