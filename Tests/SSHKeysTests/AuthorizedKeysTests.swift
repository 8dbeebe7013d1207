import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// Keys made with `ssh-keygen -t ed25519 -C alice@example` and `ssh-keygen -t ecdsa -C ""`.
enum AuthorizedKeysFixture {
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFEeym+29ZX4lZA9BOPAsldPKrPIELxqlVUvrAm/cDpS"
    static let ecdsa =
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEsCcd6z1oFZ2F8eO3FiwOn3aWudULFGo21qvW6WmoPOEz5HKoLt+DX8lnFbE1H/rSbm0mtsAnGzDi/GJSDnsuw="
    static var ed25519Key: SSHPublicKey { try! SSHPublicKey(openSSHLine: ed25519) }
    static var ecdsaKey: SSHPublicKey { try! SSHPublicKey(openSSHLine: ecdsa) }
    /// 2030-01-01T00:00:00Z.
    static let year2030: Int64 = 1_893_456_000
}

@Suite("authorized_keys options")
struct AuthorizedKeyOptionsTests {
    /// Options strings sshd accepts, with what they set.
    @Test(
        "accepted options",
        arguments: [
            Accepted("", { $0 == AuthorizedKeyOptions() }),
            Accepted(
                "restrict",
                { !$0.permitsPTY && !$0.permitsPortForwarding && !$0.permitsUserRC && $0.isRestricted }
            ),
            Accepted("RESTRICT,Pty", { $0.permitsPTY && !$0.permitsAgentForwarding && !$0.permitsX11Forwarding }),
            Accepted(
                "restrict,port-forwarding,agent-forwarding,x11-forwarding,user-rc",
                {
                    $0.permitsPortForwarding && $0.permitsAgentForwarding && $0.permitsX11Forwarding && $0.permitsUserRC
                }
            ),
            Accepted(
                "no-agent-forwarding,no-port-forwarding,no-pty,no-user-rc,no-X11-forwarding",
                {
                    !$0.permitsAgentForwarding && !$0.permitsPortForwarding && !$0.permitsPTY && !$0.permitsUserRC
                        && !$0.permitsX11Forwarding && !$0.isRestricted
                }
            ),
            Accepted("no-touch-required", { !$0.requiresUserPresence }),
            Accepted("touch-required,verify-required", { $0.requiresUserPresence && $0.requiresUserVerification }),
            Accepted("no-verify-required", { !$0.requiresUserVerification }),
            Accepted(
                "cert-authority,principals=\"alice,bob\"",
                { $0.isCertificateAuthority && $0.principals == "alice,bob" }
            ),
            Accepted(
                #"command="echo \"a b\" \x",from="10.0.0.0/8,!10.1.*""#,
                {
                    $0.command == #"echo "a b" \x"# && $0.from == "10.0.0.0/8,!10.1.*"
                }
            ),
            Accepted(#"COMMAND="true""#, { $0.command == "true" }),
            Accepted(
                #"environment="A=1",environment="B=2=3",environment="A=9""#,
                { $0.environment == ["A=1", "B=2=3"] }
            ),
            Accepted(#"environment="1_x=""#, { $0.environment == ["1_x="] }),
            Accepted(#"expiry-time="20300101Z""#, { $0.expiryTime == AuthorizedKeysFixture.year2030 }),
            Accepted(
                #"expiry-time="203001010000utc",expiry-time="20310101Z""#,
                {
                    $0.expiryTime == AuthorizedKeysFixture.year2030
                }
            ),
            Accepted(#"expiry-time="20300101000000Z""#, { $0.expiryTime == AuthorizedKeysFixture.year2030 }),
            // strptime + timegm: 31 February rolls over into March, as in sshd.
            Accepted(#"expiry-time="20300231Z""#, { $0.expiryTime == AuthorizedKeysFixture.year2030 + 61 * 86400 }),
            Accepted(
                #"permitopen="localhost:22",permitopen="[::1]:*",permitopen="host:ssh""#,
                {
                    $0.permitOpen == ["localhost:22", "[::1]:*", "host:ssh"]
                }
            ),
            Accepted(
                #"permitlisten="8080",permitlisten="localhost:8080""#,
                {
                    $0.permitListen == ["*:8080", "localhost:8080"]
                }
            ),
            Accepted(#"tunnel="0""#, { $0.tunnel == .number(0) }),
            Accepted(#"tunnel="ANY""#, { $0.tunnel == .any }),
            // A leading or doubled comma is an empty option that sshd skips.
            Accepted(",restrict,,pty", { $0.isRestricted && $0.permitsPTY }),
        ]
    )
    func accepted(_ c: Accepted) throws {
        let options = try AuthorizedKeyOptions(parsing: c.text)
        #expect(c.check(options), "\(c.text)")
    }

    struct Accepted: Sendable, CustomTestStringConvertible {
        let text: String
        let check: @Sendable (AuthorizedKeyOptions) -> Bool
        init(_ text: String, _ check: @escaping @Sendable (AuthorizedKeyOptions) -> Bool) {
            self.text = text
            self.check = check
        }
        var testDescription: String { self.text.isEmpty ? "(none)" : self.text }
    }

    /// Options strings sshd refuses, with sshd's reason (auth-options.c `errstr`).
    @Test(
        "refused options",
        arguments: [
            ("unknown-option", "unknown key option"),
            ("no-restrict", "unknown key option"),
            ("no-cert-authority", "unknown key option"),
            ("restrictx", "unknown key option"),
            ("pty=\"yes\"", "unknown key option"),
            ("command", "unknown key option"),
            ("restrict,", "unexpected end-of-options"),
            ("command=true", "missing start quote"),
            (#"command="true"x"#, "unknown key option"),
            (#"command="a",command="b""#, "multiple \"command\" clauses"),
            (#"from="a",FROM="b""#, "multiple \"from\" clauses"),
            (#"principals="a",principals="b""#, "multiple \"principals\" clauses"),
            (#"environment="FOO""#, "invalid environment string"),
            (#"environment="=x""#, "invalid environment string"),
            (#"environment="F-O=x""#, "invalid environment string"),
            (#"expiry-time="2030010112""#, "invalid expires time"),
            (#"expiry-time="20301301""#, "invalid expires time"),
            (#"expiry-time="20300132""#, "invalid expires time"),
            (#"expiry-time="203001012400""#, "invalid expires time"),
            (#"expiry-time="19691231Z""#, "invalid expires time"),
            (#"expiry-time="2030O101""#, "invalid expires time"),
            (#"permitopen="localhost""#, "invalid permission port"),
            (#"permitopen="host:0""#, "invalid permission port"),
            (#"permitopen="host:65536""#, "invalid permission port"),
            (#"permitopen="[::1""#, "invalid permission hostname"),
            (#"permitopen="[::1]x:22""#, "invalid permission hostname"),
            (#"permitlisten="no-such-service-xyz""#, "invalid permission port"),
            (#"tunnel="x""#, "invalid tun device"),
            (#"tunnel="-1""#, "invalid tun device"),
            (#"tunnel="2147483646""#, "invalid tun device"),
        ]
    )
    func refused(text: String, reason: String) {
        #expect(throws: SSHKeyError.self, "\(text)") { try AuthorizedKeyOptions(parsing: text) }
        var end = 0
        guard case .failure(let failure) = AuthorizedKeyOptions.parse(Array(text.utf8), from: 0, end: &end) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(failure.text == reason, "\(text)")
    }

    @Test("quotes must close; a blank ends the options")
    func quotesAndBlanks() {
        #expect(throws: SSHKeyError.self) { try AuthorizedKeyOptions(parsing: #"command="a"#) }
        #expect(throws: SSHKeyError.self) { try AuthorizedKeyOptions(parsing: #"command="a\""#) }
        #expect(throws: SSHKeyError.self) { try AuthorizedKeyOptions(parsing: "restrict pty") }
        #expect((try? AuthorizedKeyOptions(parsing: #"command="a b""#))?.command == "a b")
    }
}

@Suite("authorized_keys files")
struct AuthorizedKeysFileTests {
    @Test("lines, comments, blank lines, options and warnings naming file and line")
    func parsing() {
        let text = """
            # comment

              \t\(AuthorizedKeysFixture.ed25519) alice@example
            restrict,command="echo hi there" \(AuthorizedKeysFixture.ecdsa)
            bogus-option \(AuthorizedKeysFixture.ed25519) bad
            from="unterminated \(AuthorizedKeysFixture.ed25519)
            ssh-dss AAAAB3NzaC1kc3MAAACBAP== old
            no-pty\t  \(AuthorizedKeysFixture.ed25519)  two  spaces\r

            """
        let file = AuthorizedKeysFile(contents: Array(text.utf8), path: "/home/a/.ssh/authorized_keys")
        #expect(file.entries.map(\.lineNumber) == [3, 4, 8])
        #expect(file.entries[0].comment == "alice@example")
        #expect(file.entries[0].optionsText == nil)
        #expect(file.entries[1].key == AuthorizedKeysFixture.ecdsaKey)
        #expect(file.entries[1].comment == nil)
        #expect(file.entries[1].optionsText == #"restrict,command="echo hi there""#)
        #expect(file.entries[1].options.command == "echo hi there")
        #expect(file.entries[2].comment == "two  spaces")
        #expect(!file.entries[2].options.permitsPTY)
        #expect(
            file.warnings.map(\.description) == [
                "/home/a/.ssh/authorized_keys:5: bad key options: unknown key option",
                "/home/a/.ssh/authorized_keys:6: invalid key option string",
                "/home/a/.ssh/authorized_keys:7: no key keysmith can read: the ssh-dss key is damaged: "
                    + "a length field points past the end of the data",
            ]
        )
    }

    @Test("sshd's decisions: first entry that does not refuse wins")
    func decisions() {
        let key = AuthorizedKeysFixture.ed25519Key
        let now = AuthorizedKeysFixture.year2030
        func decide(
            _ lines: [String],
            from address: String? = "192.0.2.7",
            at time: Int64 = now
        )
            -> AuthorizedKeysDecision
        {
            AuthorizedKeysFile(contents: Array(lines.joined(separator: "\n").utf8), path: "ak").authorizes(
                key,
                from: address,
                at: time
            )
        }
        func reason(_ d: AuthorizedKeysDecision) -> AuthorizedKeysRefusal.Reason? {
            if case .refused(let r) = d { return r.reason }
            return nil
        }
        func line(_ d: AuthorizedKeysDecision) -> Int? {
            if case .authorized(let e) = d { return e.lineNumber }
            return nil
        }
        let k = AuthorizedKeysFixture.ed25519
        #expect(line(decide([k])) == 1)
        #expect(reason(decide([AuthorizedKeysFixture.ecdsa])) == .notListed)
        #expect(reason(decide(["cert-authority \(k)"])) == .notListed)
        #expect(reason(decide(["principals=\"a\" \(k)"])) == .principalsWithoutCertificateAuthority)
        #expect(reason(decide(["expiry-time=\"20291231Z\" \(k)"])) == .expired)
        #expect(line(decide(["expiry-time=\"20300101Z\" \(k)"])) == 1)  // not yet past
        #expect(line(decide(["expiry-time=\"20291231Z\" \(k)", "from=\"192.0.2.0/24\" \(k)"])) == 2)
        #expect(reason(decide(["from=\"10.0.0.0/8\" \(k)"])) == .sourceNotPermitted)
        #expect(reason(decide(["from=\"192.0.2.7/8\" \(k)"])) == .invalidSourcePattern)
        #expect(reason(decide(["from=\"192.0.2.7\" \(k)"], from: nil)) == .sourceNotPermitted)
        #expect(reason(decide(["bogus \(k)"])) == .notListed)
        // The first refusal is reported when nothing authorizes.
        guard case .refused(let r) = decide(["from=\"10.0.0.0/8\" \(k)", "expiry-time=\"20200101\" \(k)"]) else {
            Issue.record("authorized")
            return
        }
        #expect(r.reason == .sourceNotPermitted && r.lineNumber == 1)
    }

    /// match.c `match_host_and_ip` with the host name equal to the address (sshd's `UseDNS no`).
    @Test(
        "from= patterns",
        arguments: [
            ("127.0.0.1", "127.0.0.1", 1),
            ("10.0.0.0/8", "127.0.0.1", 0),
            ("10.0.0.0/8", "10.200.3.4", 1),
            ("127.0.0.*", "127.0.0.1", 1),
            ("127.0.0.?", "127.0.0.12", 0),
            ("!127.0.0.1,*", "127.0.0.1", 0),
            ("!127.0.0.1,*", "127.0.0.2", 1),
            ("!10.0.0.0/8,*", "10.1.1.1", 0),
            ("*", "::1", 1),
            ("::1", "::1", 1),
            ("2001:db8::/32", "2001:db8:1::5", 1),
            ("2001:db8::/32", "2001:db9::5", 0),
            ("10.0.0.0/8", "::ffff:10.0.0.1", 0),
            ("127.0.0.1/8", "127.0.0.1", -1),
            ("10.0.0.0/33", "127.0.0.1", -1),
            ("", "127.0.0.1", -1),
            ("127.0.0.1,", "127.0.0.1", -1),
            ("!", "127.0.0.1", -1),
            ("localhost", "127.0.0.1", 0),
            ("127.0.0.0/008", "127.0.0.1", 1),
            ("127.1", "127.0.0.1", 1),
        ]
    )
    func fromPatterns(pattern: String, address: String, expected: Int) {
        #expect(SourcePattern.matchHostAndAddress(host: address, address: address, list: pattern) == expected)
    }

    @Test("from= host name patterns apply to the name, case-insensitively")
    func hostNames() {
        #expect(
            SourcePattern.matchHostAndAddress(host: "Box.Example.COM", address: "192.0.2.1", list: "*.example.com") == 1
        )
        #expect(
            SourcePattern.matchHostAndAddress(host: "box.example.com", address: "192.0.2.1", list: "*,!box.example.com")
                == 0
        )
    }

    @Test("expiry-time without Z is local time, as mktime reads it")
    func localTime() throws {
        let local = try #require(AbsoluteTime.parse("20300101"))
        let utc = try #require(AbsoluteTime.parse("20300101Z"))
        #expect(abs(local - utc) <= 14 * 3600)
        #expect(AbsoluteTime.parse("203001011230") == AbsoluteTime.parse("20300101123000"))
    }
}
