import Foundation
import KeysmithTestSupport
import Testing

/// ssh_config that keysmith cannot follow stops the run before any connection: one
/// sentence naming the file and line, exit 1.
@Suite("keysmith refuses ssh_config it cannot follow")
struct ConfigRefusalTests {
    @Test(
        "an unknown Match criterion, a Match exec that hangs, a keyword keysmith does not implement",
        arguments: [
            ("Host x\n  Port 1\nMatch host web bogus yes\n  Port 2\n", "line 3: unknown Match criterion 'bogus'"),
            ("Match exec \"sleep 30\"\n  Port 2\n", "line 1: Match exec 'sleep 30' did not finish within 1 seconds"),
            ("Host web\n  GSSAPIAuthentication yes\n", "line 2: keysmith does not implement GSSAPIAuthentication yes"),
        ]
    )
    func refuses(config: String, sentence: String) throws {
        let dir = try TempDir()
        try dir.write("config", config)
        let start = ContinuousClock.now
        // Port 9 on loopback: were the configuration accepted, the connection would be refused.
        let r = try keysmith("list-ids", "-F", dir.path("config"), "-o", "ConnectTimeout=1", "-p", "9", "web")
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("\(dir.path("config")) \(sentence)"), "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r)")
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
