import Foundation
import KeysmithTestSupport
import Testing

/// scripts/demo.sh (`make demo`) must stop when what it shows is not so.
@Suite("scripts/demo.sh")
struct DemoScriptTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/demo.sh").path

    @Test("when keysmith and OpenSSH read different keys, the demo fails instead of saying they agree")
    func disagreementFails() throws {
        let dir = try TempDir()
        // keysmith, except that `public` reads back another key than the one generated.
        let liar = dir.path("keysmith")
        let other = dir.path("other")
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "demo@keysmith", "-f", other])
            .checked("ssh-keygen")
        let text = """
            #!/bin/sh
            if [ "$1" = public ]; then cat "$OTHER"; exit 0; fi
            exec "$KEYSMITH_REAL" "$@"

            """
        try writeProgram(liar, text)
        let r = try runProcess(
            "/bin/sh",
            [Self.script, liar],
            environment: ["OTHER": other + ".pub", "KEYSMITH_REAL": keysmithPath, "TMPDIR": dir.url.path]
        )
        #expect(r.status == 1, "\(r)")
        #expect(!r.stdout.contains("agree on the key"), "\(r)")
        #expect(r.stderr.contains("demo: OpenSSH and keysmith disagree on the key."), "\(r)")
        // It stopped there: no sshd was started for the deploy part.
        #expect(!r.stdout.contains("throwaway sshd"), "\(r)")
    }
}
