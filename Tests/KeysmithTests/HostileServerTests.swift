import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// keysmith's client against servers that misbehave on purpose: each case is a small
/// loopback server (python3) and `keysmith list-ids` / `copy-id` pointed at it. The client
/// must end with exit status 1 and one sentence on stderr, within its time limits, with
/// bounded memory, and never crash.
@Suite("Hostile servers")
struct HostileServerTests {
    /// Serves every connection on a loopback port (written to the log's first line) the way
    /// `mode` says, until killed.
    static let server = #"""
        import os, socket, sys, threading
        mode = sys.argv[1]
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        print(s.getsockname()[1], flush=True)
        banner = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
        def serve(c):
            try:
                if mode == "random":
                    for _ in range(64):
                        c.sendall(os.urandom(16384))
                elif mode == "banner-then-garbage":
                    c.sendall(banner)
                    for _ in range(64):
                        c.sendall(os.urandom(16384))
                elif mode == "huge-length":
                    c.sendall(banner + bytes([0x7f, 0xff, 0xff, 0xf0]) + os.urandom(4096))
                elif mode == "endless-preamble":
                    while True:
                        c.sendall(b"welcome to a server that never says its version\r\n" * 64)
                elif mode == "silent":
                    pass
                while c.recv(65536):
                    pass
            except OSError:
                pass
            c.close()
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        """#

    static let modes = ["random", "banner-then-garbage", "huge-length", "endless-preamble", "silent"]

    /// The commands pointed at each mode's server: both in the full tier; in the default tier
    /// one each, taking turns (the two share the connection code, and a server that never
    /// answers holds each command until its time limit: run whole, the suite kept one of the
    /// test pool's two threads waiting for two minutes).
    static func commands(for mode: String, copyID: [String]) -> [[String]] {
        let both = [["list-ids"], copyID]
        guard !TestTier.isFull, let index = Self.modes.firstIndex(of: mode) else { return both }
        return [both[index % 2]]
    }

    @Test("list-ids and copy-id end with one sentence, exit 1, bounded memory", arguments: Self.modes)
    func hostile(_ mode: String) throws {
        let dir = try TempDir()
        let log = dir.path("server.log")
        let (pid, port) = try startPythonServer(Self.server, [mode], log: log)
        defer { stopDaemon(pid) }
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", dir.path("id")]).checked("keygen")
        // GNU time (Debian's time package, installed by make deps) reports the exit status and peak memory.
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/time"),
            "/usr/bin/time is missing: install Debian's time package (make deps)"
        )

        for command in Self.commands(for: mode, copyID: ["copy-id", "-i", dir.path("id.pub")]) {
            let r = try runProcess(
                "/usr/bin/time",
                ["-v", keysmithPath] + command + [
                    "-p", port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=\(dir.path("kh"))",
                    "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "nobody@127.0.0.1",
                ],
                environment: ["HOME": dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
            let (lines, usage) = Self.split(r.stderr)
            // copy-id names the key it installs first, as ssh-copy-id does.
            let ours = lines.filter { !$0.hasPrefix("keysmith: INFO: ") }
            let what = "\(mode) \(command[0]): \(ours)"
            #expect(usage["Exit status"] == "1", "\(what)\n\(usage)")
            #expect(ours.count == 1 && ours.first?.hasPrefix("keysmith: ") == true, "\(what)")
            #expect(!ours.joined().contains("Fatal error"), "\(what)")
            if mode == "silent" {
                // ssh's rule (sshconnect.c): ConnectTimeout bounds the wait for the version line.
                #expect(ours.first?.hasSuffix("sent nothing for 5 seconds before its version line.") == true, "\(what)")
            }
            let rss = Int(usage["Maximum resident set size (kbytes)"] ?? "") ?? .max
            #expect(rss < 128 * 1024, "\(what): \(rss) KiB")
        }
    }

    /// keysmith's stderr lines, and /usr/bin/time -v's report as key → value.
    static func split(_ stderr: String) -> ([String], [String: String]) {
        var ours: [String] = []
        var usage: [String: String] = [:]
        var inReport = false
        for line in stderr.split(separator: "\n") {
            if line.hasPrefix("\tCommand being timed:") || line.hasPrefix("Command exited with non-zero status") {
                inReport = true
            }
            if inReport {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if let colon = trimmed.range(of: ": ", options: .backwards) {
                    usage[String(trimmed[..<colon.lowerBound])] = String(trimmed[colon.upperBound...])
                }
            } else {
                ours.append(String(line))
            }
        }
        return (ours, usage)
    }
}
