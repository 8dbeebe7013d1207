import Foundation
import KeysmithTestSupport
import Testing

@Suite("known-hosts find / remove / hash against ssh-keygen -F / -R / -H")
struct KnownHostsCommandTests {
    static func fixture(_ dir: TempDir) throws -> String {
        let key = dir.path("hostkey")
        try #require(try keygen(["-q", "-t", "ed25519", "-f", key, "-N", ""]).status == 0)
        let k = keyPart(try readText(key + ".pub"))
        return """
            # my hosts
            alpha.example,192.0.2.10 \(k)
            [alpha.example]:2222 \(k) on another port
            beta.example \(k)
            @revoked alpha.example \(k)
            *.wild.example \(k)

            gamma.example \(k) trailing comment

            """
    }

    @Test(
        "find prints what ssh-keygen -F prints",
        arguments: [
            "alpha.example", "[alpha.example]:2222", "beta.example", "ALPHA.example", "192.0.2.10", "nowhere.example",
            "x.wild.example",
        ]
    )
    func find(_ host: String) throws {
        let dir = try TempDir()
        try writeText(dir.path("kh"), try Self.fixture(dir), mode: 0o644)
        let t = try keygen(["-F", host, "-f", dir.path("kh")])
        let o = try keysmith("known-hosts", "find", host, "-f", dir.path("kh"))
        #expect(o.stdout == t.stdout)
        #expect(o.status == t.status, "\(o)")
    }

    @Test(
        "remove rewrites the file byte for byte like ssh-keygen -R",
        arguments: ["alpha.example", "beta.example", "[alpha.example]:2222", "nowhere.example"]
    )
    func remove(_ host: String) throws {
        let dir = try TempDir()
        let text = try Self.fixture(dir)
        try writeText(dir.path("theirs"), text, mode: 0o644)
        try writeText(dir.path("ours"), text, mode: 0o644)
        let t = try keygen(["-R", host, "-f", dir.path("theirs")])
        let o = try keysmith("known-hosts", "remove", host, "-f", dir.path("ours"))
        #expect(o.status == t.status, "\(o)")
        #expect(try readBytes(dir.path("ours")) == (try readBytes(dir.path("theirs"))))
        #expect(o.stdout.replacingOccurrences(of: "ours", with: "theirs") == t.stdout)
        if FileManager.default.fileExists(atPath: dir.path("theirs.old")) {
            #expect(try readText(dir.path("ours.old")) == text)
        }
    }

    @Test("hash gives a file that ssh-keygen -F searches like the original")
    func hash() throws {
        let dir = try TempDir()
        let text = try Self.fixture(dir)
        try writeText(dir.path("kh"), text, mode: 0o644)
        let o = try keysmith("known-hosts", "hash", "-f", dir.path("kh"))
        #expect(o.status == 0, "\(o)")
        let hashed = try readText(dir.path("kh"))
        #expect(!hashed.contains("beta.example"))
        #expect(hashed.contains("# my hosts"))
        #expect(try readText(dir.path("kh.old")) == text)
        for host in ["alpha.example", "beta.example", "gamma.example", "192.0.2.10", "[alpha.example]:2222"] {
            let t = try keygen(["-F", host, "-f", dir.path("kh")])
            #expect(t.status == 0, "\(host) not found in our hashed file")
        }
    }

    @Test("a missing file is one sentence and exit 1")
    func missing() throws {
        let o = try keysmith("known-hosts", "find", "h", "-f", "/nonexistent/known_hosts")
        #expect(o.status == 1)
        #expect(o.stderr.split(separator: "\n").count == 1, "\(o)")
    }
}
