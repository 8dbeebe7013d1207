import Foundation
import KeysmithTestSupport
import Testing

/// generate and sign through keysmith-sk-helper, as a static keysmith does: the debug build
/// is dynamic, so KEYSMITH_SK_HELPER_ALWAYS=1 sends it through the helper too, and
/// KEYSMITH_SK_HELPER names a wrapper that records each start of the test build's helper.
@Suite("security keys through keysmith-sk-helper: generate, sign, PIN and a missing helper")
struct SecurityKeyHelperTests {
    /// The helper built beside keysmith.
    static let helper = URL(fileURLWithPath: keysmithPath).deletingLastPathComponent()
        .appendingPathComponent("keysmith-sk-helper").path

    /// An environment using a wrapper of the helper that appends a line to `dir/starts` each
    /// time it is started.
    static func environment(_ dir: TempDir) throws -> [String: String] {
        let wrapper = dir.path("wrapper")
        try writeProgram(wrapper, "#!/bin/sh\necho started >> '\(dir.path("starts"))'\nexec '\(Self.helper)' \"$@\"\n")
        return ["KEYSMITH_SK_HELPER_ALWAYS": "1", "KEYSMITH_SK_HELPER": wrapper]
    }

    static func starts(_ dir: TempDir) -> Int {
        ((try? readText(dir.path("starts"))) ?? "").split(separator: "\n").count
    }

    @Test("generate -t ed25519-sk -w LIB and sign go through the helper; ssh-keygen -Y verify accepts")
    func generateAndSign() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let environment = try Self.environment(dir)
        let key = dir.path("id_sk")
        let g = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ed25519-sk", "-w", library, "-f", key, "-N", "", "-C", "helped"],
            environment: environment
        )
        #expect(g.status == 0, "\(g)")
        #expect(Self.starts(dir) == 1)
        try writeText(dir.path("msg"), "signed through the helper\n")
        let s = try runProcess(
            keysmithPath,
            ["sign", "-f", key, "-w", library, "-n", "file", dir.path("msg")],
            environment: environment
        )
        #expect(s.status == 0, "\(s)")
        #expect(Self.starts(dir) == 2)
        let allowed = try SecurityKeyCommandTests.allowedSigners(dir, identity: "me", pub: key + ".pub")
        let v = try SecurityKeyCommandTests.keygenVerify(
            allowed,
            signature: dir.path("msg.sig"),
            message: "signed through the helper\n"
        )
        #expect(v.status == 0, "\(v)")
        #expect(v.stdout.contains("Good \"file\" signature for me with ED25519-SK key"), "\(v)")
    }

    @Test("the helper's PIN-required answer makes keysmith ask for the PIN and try again")
    func pin() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let (prompts, pinEnvironment) = try SecurityKeyCommandTests.pinAskpass(dir, answer: "4321")
        let environment = try Self.environment(dir).merging(pinEnvironment) { _, new in new }
        let key = dir.path("id_sk")
        let g = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ecdsa-sk", "-w", library, "-f", key, "-N", ""],
            environment: environment
        )
        #expect(g.status == 0, "\(g)")
        #expect(try readText(prompts) == "Enter PIN for authenticator: \n")
        // Once without the PIN, once with it.
        #expect(Self.starts(dir) == 2)
        try writeText(dir.path("msg"), "m\n")
        let s = try runProcess(
            keysmithPath,
            ["sign", "-f", key, "-w", library, "-n", "file", dir.path("msg")],
            environment: environment
        )
        #expect(s.status == 0, "\(s)")
        #expect(try readText(prompts) == "Enter PIN for authenticator: \nEnter PIN for ECDSA-SK key: \n")
        #expect(Self.starts(dir) == 4)
        let allowed = try SecurityKeyCommandTests.allowedSigners(dir, identity: "me", pub: key + ".pub")
        let v = try SecurityKeyCommandTests.keygenVerify(allowed, signature: dir.path("msg.sig"), message: "m\n")
        #expect(v.status == 0, "\(v)")
    }

    @Test(
        "a missing helper, or one that dies, is one sentence and exit 1; no key file written",
        arguments: [
            ("", "cannot run the security key helper"),
            ("#!/bin/sh\nkill -9 $$\n", "was killed by signal 9"),
            ("#!/bin/sh\ncat >/dev/null\nprintf garbage\n", "gave no proper answer"),
        ]
    )
    func brokenHelper(_ program: String, _ sentence: String) throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let helper = dir.path("helper")
        if !program.isEmpty { try writeProgram(helper, program) }
        let key = dir.path("id_sk")
        let r = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ed25519-sk", "-w", library, "-f", key, "-N", ""],
            environment: ["KEYSMITH_SK_HELPER_ALWAYS": "1", "KEYSMITH_SK_HELPER": helper]
        )
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.hasPrefix("keysmith: "), "\(r.stderr)")
        #expect(r.stderr.contains(sentence), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: key))
    }
}
