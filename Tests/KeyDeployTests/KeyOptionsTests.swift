import KeyDeploy
import Testing

@Suite("--key-options grammar")
struct KeyOptionsTests {
    @Test(
        "accepts what sshd accepts",
        arguments: [
            "restrict", "restrict,from=\"10.0.0.0/8,!10.1.*\"", "no-pty,no-X11-forwarding,NO-AGENT-FORWARDING",
            "command=\"echo \\\"hi there\\\"\"", "expiry-time=\"20301231\"", "environment=\"A_B=c d\"",
            "permitopen=\"localhost:80\",permitlisten=\"8080\"", "tunnel=\"0\"", "principals=\"a,b\",cert-authority",
            "restrict,pty",
        ]
    )
    func accepts(options: String) throws {
        try AuthorizedKeys.validateOptions(options)
    }

    @Test(
        "refuses what sshd refuses, saying why",
        arguments: [
            ("", "empty"), ("restrict,", "unexpected end-of-options"),
            ("restrict, pty", "' pty': a blank ends the options"),
            ("no-restrict", "unknown key option"), ("from=10.0.0.1", "missing start quote"),
            ("from=\"10.0.0.1", "missing end quote"), ("command", "'command' needs a value in double quotes"),
            ("pty=\"x\"", "unknown key option"),
            ("expiry-time=\"2030\"", "invalid expires time"), ("tunnel=\"x\"", "invalid tun device"),
            ("environment=\"=x\"", "invalid environment string"),
            ("from=\"a\"x", "unknown key option"), ("restrict,bogus,pty", "'bogus': unknown key option"),
            ("command=\"a\",command=\"b\"", "multiple \"command\" clauses"),
            ("permitopen=\"nohost\"", "invalid permission port"),
        ]
    )
    func refuses(options: String, why: String) {
        do {
            try AuthorizedKeys.validateOptions(options)
            Issue.record("accepted \(options)")
        } catch {
            #expect(error.message.contains(why), "\(error.message)")
        }
    }

    @Test(
        "refuses control characters, which would end the line or hide text, without echoing them",
        arguments: [
            (
                "command=\"x\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\"",
                "0x0A (line feed)"
            ),
            ("command=\"x\rssh-ed25519\"", "0x0D (carriage return)"),
            ("command=\"\u{1B}[2K\"", "0x1B (escape)"), ("restrict\t", "0x09 (tab)"), ("from=\"\u{7F}\"", "0x7F"),
        ]
    )
    func refusesControlCharacters(options: String, shown: String) {
        do {
            try AuthorizedKeys.validateOptions(options)
            Issue.record("accepted \(options.debugDescription)")
        } catch {
            #expect(error.code == .invalidKeyOptions)
            #expect(error.message.contains("control character \(shown)"), "\(error.message)")
            #expect(!error.message.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "\(error.message.debugDescription)")
        }
    }
}
