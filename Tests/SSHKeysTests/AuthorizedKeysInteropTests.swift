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
        var description: String { "\(self.options) from \(self.source)" }
    }

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
        Row(options: #"expiry-time="20000101""#, loginAllowed: false),
        Row(options: #"expiry-time="2099010112""#, loginAllowed: false),
        Row(options: #"expiry-time="20991301""#, loginAllowed: false),
        Row(options: #"from="127.0.0.1""#, loginAllowed: true),
        Row(options: #"from="10.0.0.0/8""#, loginAllowed: false),
        Row(options: #"from="127.0.0.0/8""#, loginAllowed: true),
        Row(options: #"from="127.0.0.*""#, loginAllowed: true),
        Row(options: #"from="10.1.1.1,127.0.0.?""#, loginAllowed: true),
        Row(options: #"from="!127.0.0.1,*""#, loginAllowed: false),
        Row(options: #"from="!127.0.0.1,*""#, source: "127.0.0.2", loginAllowed: true),
        Row(options: #"from="127.0.0.2""#, source: "127.0.0.2", loginAllowed: true),
        Row(options: #"from="127.0.0.2""#, loginAllowed: false),
        Row(options: #"from="127.0.0.1/8""#, loginAllowed: false),
        Row(options: #"from="127.0.0.1,""#, loginAllowed: false),
        Row(options: #"from="""#, loginAllowed: false),
        Row(options: #"from="localhost""#, loginAllowed: false),
        Row(options: #"from="*""#, loginAllowed: true),
        Row(options: #"permitopen="localhost:22",permitopen="[::1]:*",permitopen="h:ssh""#, loginAllowed: true),
        Row(options: #"permitopen="localhost""#, loginAllowed: false),
        Row(options: #"permitopen="h:0""#, loginAllowed: false),
        Row(options: #"permitlisten="8080",permitlisten="localhost:8080""#, loginAllowed: true),
        Row(options: #"principals="root""#, loginAllowed: false),
        Row(options: "cert-authority", loginAllowed: false),
        Row(options: #"tunnel="0",tunnel="any""#, loginAllowed: true),
        Row(options: #"tunnel="x""#, loginAllowed: false),
        Row(options: "unknown-option", loginAllowed: false),
        Row(options: "no-restrict", loginAllowed: false),
        Row(options: "restrictx", loginAllowed: false),
        // The comma is followed by the blank before the key, not by the end of the string,
        // so sshauthopt_parse stops there without "unexpected end-of-options".
        Row(options: "restrict,", loginAllowed: true),
        Row(options: "restrict, pty", loginAllowed: false),
        Row(options: ",restrict,,pty", loginAllowed: true),
        Row(options: "command=true", loginAllowed: false),
        Row(options: #"command="true"x"#, loginAllowed: false),
        Row(options: #"command="a",command="b""#, loginAllowed: false),
        Row(options: #"command="unterminated"#, loginAllowed: false),
        Row(options: #"environment="F-O=x""#, loginAllowed: false),
    ]

    @Test("sshd lets in exactly the lines AuthorizedKeysFile authorizes")
    func table() throws {
        let sshd = try SSHDFixture()
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
        for (i, row) in rows.enumerated() {
            let key = try SSHPublicKey(openSSHLine: try readText(dir.path("id\(i).pub")))
            let ours: Bool
            if case .authorized = file.authorizes(key, from: row.source, at: now) { ours = true } else { ours = false }
            #expect(results.get(i) == row.loginAllowed, "sshd on \(row)")
            #expect(ours == row.loginAllowed, "AuthorizedKeysFile on \(row)")
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
