import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// Every line of a key-line file without a key is either passed over by rule (blank, `#`)
/// or named with a reason of one kind.
@Suite("unreadable key lines")
struct UnreadableKeyLineTests {
    static let key = try! SSHPrivateKey(generating: .ed25519).publicKey
    /// `ssh-ed25519 BASE64`.
    static var line: String { key.openSSHLine() }
    static var base64: String { String(line.split(separator: " ")[1]) }

    /// A blob `string name, string 32 bytes`, base64, as a key of a type keysmith does not read.
    static func foreignBlob(_ name: String) -> String {
        var w = SSHWireWriter()
        w.writeString(name)
        w.writeString([UInt8](repeating: 7, count: 32))
        return Base64.encode(w.bytes)
    }

    static func diagnose(_ text: String) -> UnreadableKeyLine? {
        UnreadableKeyLine.diagnose(Array(text.utf8), lineNumber: 9)
    }

    @Test(
        "blank lines and comments are passed over",
        arguments: ["", "\n", "   \t \r\n", "# a comment", "   # indented \(line)\n", "\r"]
    )
    func passedOver(_ text: String) {
        #expect(Self.diagnose(text) == nil)
    }

    @Test("each kind of line without a key, with its reason")
    func kinds() {
        let cases: [(String, UnreadableKeyLine.Kind, String)] = [
            ("1024 35 1234567 old", .ssh1Key, "an SSH-1 RSA key"),
            ("host.example 1024 35 1234567\r\n", .ssh1Key, "an SSH-1 RSA key"),
            ("from=\"a b\" 2048 65537 99", .ssh1Key, "an SSH-1 RSA key"),
            ("@cert-authority *.example \(Self.line)", .marker, "a known_hosts line marked @cert-authority"),
            ("@revoked host \(Self.line) gone", .marker, "marked @revoked"),
            ("ssh-ed25519", .damagedKey, "the ssh-ed25519 key has no base64 after its type"),
            ("ssh-ed25519 AAAA!!!! c", .damagedKey, "the ssh-ed25519 key's base64 is damaged"),
            (
                "ssh-ed25519 \(Self.foreignBlob("ssh-ed25519").dropLast(4))", .damagedKey,
                "the ssh-ed25519 key is damaged"
            ),
            ("ssh-rsa \(Self.base64) c", .damagedKey, "the line names ssh-rsa but its key is ssh-ed25519"),
            ("no-pty ssh-rsa \(Self.base64)", .damagedKey, "the line names ssh-rsa but its key is ssh-ed25519"),
            (
                "ssh-foo@example.com \(Self.foreignBlob("ssh-foo@example.com")) c", .unknownKeyType,
                "the key type ssh-foo@example.com is not one keysmith reads"
            ),
            (
                "host x-new \(Self.foreignBlob("x-new")) c", .unknownKeyType,
                "the key type x-new is not one keysmith reads"
            ),
            ("no-pty from=\"x\" \(Self.line) two words of options", .notAKeyLine, "2 words stand before the key"),
            ("garbage", .notAKeyLine, "no key type and base64 key are on it"),
            ("garbage with words", .notAKeyLine, "no key type and base64 key are on it"),
            ("2048 garbage", .notAKeyLine, "no key type and base64 key are on it"),
        ]
        for (text, kind, reason) in cases {
            let found = Self.diagnose(text)
            #expect(found?.kind == kind, "\(text.debugDescription): \(String(describing: found))")
            #expect(found?.reason.contains(reason) == true, "\(text.debugDescription): \(String(describing: found))")
            #expect(found?.lineNumber == 9)
        }
    }

    @Test("bytes from the file in a reason are printable ASCII, and C's NUL ends the line")
    func printableReasons() throws {
        let name = "ssh-\u{1B}[2J"
        let found = try #require(Self.diagnose("\(name) \(Self.foreignBlob(name))"))
        #expect(found.kind == .unknownKeyType)
        #expect(found.reason.contains("ssh-\\x1b[2J"), "\(found)")
        #expect(!found.reason.unicodeScalars.contains { $0.value < 0x20 })
        #expect(UnreadableKeyLine.diagnose(Array("# c".utf8) + [0] + Array("garbage".utf8), lineNumber: 1) == nil)
        #expect(UnreadableKeyLine.diagnose([0] + Array("garbage".utf8), lineNumber: 1) == nil)
    }
}
