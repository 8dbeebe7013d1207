/// Checks on text that goes into a public key line (authorized_keys, a `.pub` file).
///
/// sshd reads authorized_keys a line at a time (auth2-pubkey.c `user_key_allowed2`
/// over misc.c `getline`), so a line feed inside a comment or a quoted option value
/// (`command="x\nssh-ed25519 AAAA…"`) starts a second, unrestricted key line; a carriage
/// return or an escape sequence hides text from whoever reads the file on a terminal.
package enum KeyLineText {
    /// The first control character in `text` (C0 or DEL), or nil when there is none. A tab
    /// passes when `allowingTab` is true: in a comment it is only white space.
    package static func firstControlCharacter(in text: some StringProtocol, allowingTab: Bool) -> UInt8? {
        text.utf8.first { ($0 < 0x20 && !(allowingTab && $0 == 0x09)) || $0 == 0x7F }
    }

    /// `byte` as a sentence names it: `0x0A (line feed)`.
    package static func describe(_ byte: UInt8) -> String {
        let hex = "0x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        let name: String? =
            switch byte {
            case 0x0A: "line feed"
            case 0x0D: "carriage return"
            case 0x1B: "escape"
            case 0x09: "tab"
            case 0x00: "NUL"
            default: nil
            }
        return name.map { "\(hex) (\($0))" } ?? hex
    }
}
