import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// The real sshd is the oracle: every row becomes one line of one authorized_keys file,
/// each with its own key, and OpenSSH's ssh tries each key from the row's source address.
/// sshd must let in exactly the rows we say it will, and so must ``AuthorizedKeysFile``.
@Suite("authorized_keys against sshd", .serialized)
struct AuthorizedKeysInteropTests {
    struct Row: Sendable, CustomStringConvertible {
        var options: String
        var source = "127.0.0.1"
        var loginAllowed: Bool
        /// Why sshd refuses the row, as its log says at LogLevel DEBUG1.
        var refusal: Refusal? = nil
        var description: String { "\(self.options) from \(self.source)" }
    }

    /// What sshd 9.2 logs when it refuses a row's key (auth2-pubkeyfile.c, auth-options.c).
    enum Refusal: Sendable {
        /// A message about the row's own line: `FILE:LINE: message`.
        case line(String)
        /// A message that names no line (sshauthopt_parse's caller logs only the reason),
        /// which only this row's line can cause.
        case unlocated(String)
        /// Nothing at DEBUG1: sshd skips the line as not holding this key.
        case skipped
    }

    static let notFrom = Refusal.line("with correct key but not from a permitted host")

    static let rows: [Row] = [
        Row(options: "", loginAllowed: true),
        Row(options: "restrict", loginAllowed: true),
        Row(options: "RESTRICT,Pty,no-user-rc", loginAllowed: true),
        Row(options: "no-agent-forwarding,no-port-forwarding,no-pty,no-user-rc,no-X11-forwarding", loginAllowed: true),
        Row(options: "agent-forwarding,port-forwarding,pty,user-rc,X11-forwarding", loginAllowed: true),
        Row(options: "no-touch-required,verify-required", loginAllowed: true),
        Row(options: #"command="true""#, loginAllowed: true),
        Row(options: #"Command="echo \"a b\"",no-pty"#, loginAllowed: true),
        Row(options: #"environment="FOO=bar",environment="1_X=y""#, loginAllowed: true),
        Row(options: #"expiry-time="20990101""#, loginAllowed: true),
        Row(options: #"expiry-time="209901011200Z""#, loginAllowed: true),
        Row(options: #"expiry-time="20990231utc""#, loginAllowed: true),
        Row(
            options: #"expiry-time="20000101""#,
            loginAllowed: false,
            refusal: .line("entry expired at 2000-01-01T00:00:00")
        ),
        Row(
            options: #"expiry-time="2099010112""#,
            loginAllowed: false,
            refusal: .line("bad key options: invalid expires time")
        ),
        Row(
            options: #"expiry-time="20991301""#,
            loginAllowed: false,
            refusal: .line("bad key options: invalid expires time")
        ),
        Row(options: #"from="127.0.0.1""#, loginAllowed: true),
        Row(options: #"from="10.0.0.0/8""#, loginAllowed: false, refusal: Self.notFrom),
        Row(options: #"from="127.0.0.0/8""#, loginAllowed: true),
        Row(options: #"from="127.0.0.*""#, loginAllowed: true),
        Row(options: #"from="10.1.1.1,127.0.0.?""#, loginAllowed: true),
        Row(options: #"from="!127.0.0.1,*""#, loginAllowed: false, refusal: Self.notFrom),
        Row(options: #"from="!127.0.0.1,*""#, source: "127.0.0.2", loginAllowed: true),
        Row(options: #"from="127.0.0.2""#, source: "127.0.0.2", loginAllowed: true),
        Row(options: #"from="127.0.0.2""#, loginAllowed: false, refusal: Self.notFrom),
        Row(options: #"from="127.0.0.1/8""#, loginAllowed: false, refusal: .line("invalid from criteria")),
        Row(options: #"from="127.0.0.1,""#, loginAllowed: false, refusal: .line("invalid from criteria")),
        Row(options: #"from="""#, loginAllowed: false, refusal: .line("invalid from criteria")),
        Row(options: #"from="localhost""#, loginAllowed: false, refusal: Self.notFrom),
        Row(options: #"from="*""#, loginAllowed: true),
        Row(options: #"permitopen="localhost:22",permitopen="[::1]:*",permitopen="h:ssh""#, loginAllowed: true),
        Row(
            options: #"permitopen="localhost""#,
            loginAllowed: false,
            refusal: .line("bad key options: invalid permission port")
        ),
        Row(
            options: #"permitopen="h:0""#,
            loginAllowed: false,
            refusal: .line("bad key options: invalid permission port")
        ),
        Row(options: #"permitlisten="8080",permitlisten="localhost:8080""#, loginAllowed: true),
        Row(options: #"principals="root""#, loginAllowed: false, refusal: .line("principals on non-CA key")),
        Row(options: "cert-authority", loginAllowed: false, refusal: .skipped),
        Row(options: #"tunnel="0",tunnel="any""#, loginAllowed: true),
        Row(options: #"tunnel="x""#, loginAllowed: false, refusal: .line("bad key options: invalid tun device")),
        Row(options: "unknown-option", loginAllowed: false, refusal: .line("bad key options: unknown key option")),
        Row(options: "no-restrict", loginAllowed: false, refusal: .line("bad key options: unknown key option")),
        Row(options: "restrictx", loginAllowed: false, refusal: .line("bad key options: unknown key option")),
        // The comma is followed by the blank before the key, not by the end of the string,
        // so sshauthopt_parse stops there without "unexpected end-of-options".
        Row(options: "restrict,", loginAllowed: true),
        Row(options: "restrict, pty", loginAllowed: false, refusal: .skipped),
        Row(options: ",restrict,,pty", loginAllowed: true),
        Row(options: "command=true", loginAllowed: false, refusal: .line("bad key options: missing start quote")),
        Row(options: #"command="true"x"#, loginAllowed: false, refusal: .line("bad key options: unknown key option")),
        Row(
            options: #"command="a",command="b""#,
            loginAllowed: false,
            refusal: .line(#"bad key options: multiple "command" clauses"#)
        ),
        Row(options: #"command="unterminated"#, loginAllowed: false, refusal: .unlocated("invalid key option string")),
        Row(
            options: #"environment="F-O=x""#,
            loginAllowed: false,
            refusal: .line("bad key options: invalid environment string")
        ),
    ]

    @Test("sshd lets in exactly the lines AuthorizedKeysFile authorizes")
    func table() throws {
        // DEBUG1: sshd names the line and the reason of each refusal.
        let sshd = try SSHDFixture(extraConfig: ["LogLevel DEBUG1"])
        let dir = try TempDir()
        let rows = Self.rows
        var lines: [String] = []
        for (i, row) in rows.enumerated() {
            let path = dir.path("id\(i)")
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "row\(i)", "-f", path])
                .checked("ssh-keygen")
            let pub = try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
            lines.append(row.options.isEmpty ? pub : row.options + " " + pub)
        }
        let contents = lines.joined(separator: "\n") + "\n"
        try installAuthorizedKeys(contents, for: sshd)

        let file = AuthorizedKeysFile(contents: Array(contents.utf8), path: "authorized_keys")
        let now = Int64(Date().timeIntervalSince1970)
        let results = LockedResults(count: rows.count)
        DispatchQueue.concurrentPerform(iterations: rows.count) { i in
            let ssh = try? sshd.sshLogin(
                identity: dir.path("id\(i)"),
                extraOptions: ["-b", rows[i].source, "-o", "ConnectTimeout=10"]
            )
            results.set(i, ssh?.status == 0)
        }
        // sshd ends each line it logs to stderr with CR LF.
        let log = sshd.log.split(whereSeparator: \.isNewline).map(String.init)
        let authorizedKeys = sshd.home + "/.ssh/authorized_keys"
        for (i, row) in rows.enumerated() {
            let key = try SSHPublicKey(openSSHLine: try readText(dir.path("id\(i).pub")))
            let ours: Bool
            if case .authorized = file.authorizes(key, from: row.source, at: now) { ours = true } else { ours = false }
            #expect(results.get(i) == row.loginAllowed, "sshd on \(row)")
            #expect(ours == row.loginAllowed, "AuthorizedKeysFile on \(row)")
            Self.expectLogged(log, row, key: key, at: "\(authorizedKeys):\(i + 1)", user: sshd.user)
        }
    }

    /// sshd's log shows that it, not something else on the way, decided the row: the key
    /// accepted from that line, or refused for the row's reason.
    static func expectLogged(_ log: [String], _ row: Row, key: SSHPublicKey, at location: String, user: String) {
        let fingerprint = "ED25519 \(key.fingerprint())"
        let lines = log.filter { $0.contains("\(location): ") }.joined(separator: "\n")
        if row.loginAllowed {
            #expect(
                log.contains { $0.hasSuffix("Accepted key \(fingerprint) found at \(location)") },
                "sshd on \(row): \(lines)"
            )
            return
        }
        // ssh got as far as offering the key, and sshd turned it down.
        #expect(
            log.contains {
                $0.contains("Failed publickey for \(user) from \(row.source) port ")
                    && $0.hasSuffix(" ssh2: \(fingerprint)")
            },
            "sshd on \(row): no failed publickey for \(fingerprint)"
        )
        switch row.refusal {
        case .line(let reason):
            #expect(
                log.contains { $0.contains("\(location): ") && $0.contains(reason) },
                "sshd on \(row): \(location) does not say \(reason): \(lines)"
            )
        case .unlocated(let reason):
            #expect(log.contains { $0.hasSuffix(reason) }, "sshd on \(row): nothing says \(reason)")
        case .skipped:
            #expect(!lines.contains("matching key found"), "sshd on \(row): \(lines)")
        case nil:
            Issue.record("\(row) is refused but says nothing about why")
        }
    }

    /// Writes `~/.ssh/authorized_keys` for the fixture's user with the modes StrictModes wants.
    func installAuthorizedKeys(_ contents: String, for sshd: SSHDFixture) throws {
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", contents, mode: 0o600)
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):", ssh]).checked("chown")
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
    }
}

/// Results written from concurrent workers.
final class LockedResults: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private var values: [Bool]
    init(count: Int) { self.values = Array(repeating: false, count: count) }
    func set(_ i: Int, _ value: Bool) { self.lock.withLock { self.values[i] = value } }
    func get(_ i: Int) -> Bool { self.lock.withLock { self.values[i] } }
}
