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
            ("", "empty"), ("restrict,", "end with a comma"),
            ("restrict, pty", "blanks are allowed only inside quoted values"),
            ("no-restrict", "not a known option"), ("from=10.0.0.1", "double quotes"),
            ("from=\"10.0.0.1", "no closing quote"), ("command", "needs a value"), ("pty=\"x\"", "takes no value"),
            ("expiry-time=\"2030\"", "YYYYMMDD"), ("tunnel=\"x\"", "device number"),
            ("environment=\"=x\"", "NAME=value"),
            ("from=\"a\"x", "separated by commas"), ("bogus", "not a known option"),
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
}
