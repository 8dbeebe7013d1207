import Foundation
import SSHCrypto
import Testing

@testable import SSHKeys

/// The secret-holding paths of SSHKeys produce the same bytes as before they learned to wipe,
/// and no MAC, tag, check value or secret is compared with `==` anywhere in Sources.
@Suite("secret handling in SSHKeys")
struct SecretHandlingTests {
    @Test("encodeSecure writes exactly what the String encoder writes, for every length around a line")
    func base64Secure() {
        for count in [0, 1, 2, 3, 51, 52, 53, 54, 55, 105, 500] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let expected = "BEGIN\n" + Base64.encode(bytes, lineWidth: 70) + "END\n"
            let got = Base64.encodeSecure(bytes, lineWidth: 70, prefix: "BEGIN\n", suffix: "END\n")
            #expect(got.unsafeCopy == Array(expected.utf8), "\(count) bytes")
        }
    }

    @Test("a writer that outgrows its capacity keeps every byte; take() leaves it empty")
    func writerGrowth() {
        var w = SSHWireWriter(capacity: 4)
        var expected: [UInt8] = []
        for i in 0..<300 {
            w.writeUInt32(UInt32(i))
            w.writeString([UInt8](repeating: UInt8(i & 0xFF), count: i % 7))
            w.writeMPInt([0x80, UInt8(i & 0xFF)])
            expected += [0, 0, UInt8(i >> 8), UInt8(i & 0xFF), 0, 0, 0, UInt8(i % 7)]
            expected += [UInt8](repeating: UInt8(i & 0xFF), count: i % 7)
            expected += [0, 0, 0, 3, 0, 0x80, UInt8(i & 0xFF)]
        }
        #expect(w.bytes == expected)
        let taken = w.take()
        #expect(taken == expected)
        #expect(w.bytes.isEmpty)
        var secret = SSHWireWriter()
        secret.writeString(SecureBytes(utf8: "hunter2"))
        #expect(secret.takeSecure().unsafeCopy == [0, 0, 0, 7] + Array("hunter2".utf8))
        #expect(secret.bytes.isEmpty)
    }

    @Test("hashed known_hosts names still match (compared in constant time) and only their own host")
    func hashedHostMatch() throws {
        let salt = [UInt8](repeating: 9, count: 20)
        let hashed = Array(KnownHostsFormat.hashHostName(Array("example.org".utf8), salt: salt).utf8)
        #expect(KnownHostsFormat.matchMaybeHashed(host: Array("example.org".utf8), hosts: hashed) == true)
        #expect(KnownHostsFormat.matchMaybeHashed(host: Array("example.com".utf8), hosts: hashed) == false)
        #expect(
            KnownHostsFormat.matchMaybeHashed(host: Array("example.org".utf8), hosts: hashed.dropLast() + [0x41])
                == false
        )
    }

    /// Lines in Sources that compare something named like a MAC, tag, token, check value,
    /// password or secret with `==` / `!=` (other than against nil or a string literal).
    @Test("no secret or MAC is compared with == in Sources; the one u32 check-int compare is known")
    func noPlainComparisons() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let pattern = try NSRegularExpression(
            pattern:
                #"\b\w*(mac|Mac|MAC|tag|Tag|secret|Secret|password|Password|passphrase|Passphrase|check[0-9]|token|Token|hmac|HMAC|sharedKey|seed|Seed)\s*(==|!=)\s*+(?!nil\b|")"#
        )
        // Two decrypted check-ints (PROTOCOL.key): whether they agree is the answer itself.
        let known = ["guard check1 == check2 else {"]
        var hits: [String] = []
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") || known.contains(code) { continue }
                let s = String(line)
                if pattern.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil {
                    hits.append("\(url.lastPathComponent):\(n + 1): \(code)")
                }
            }
        }
        #expect(hits.isEmpty, "compare these with constantTimeEquals:\n\(hits.joined(separator: "\n"))")
    }

    @Test("no copy of a secret is wiped by a loop of stores, which the optimiser may drop")
    func noHandWrittenWipes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let pattern = try NSRegularExpression(pattern: #"for \w+ in [\w.]+ \{ [\w.]+\[\w+\] = 0 \}"#)
        var hits: [String] = []
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let s = String(line)
                if pattern.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil {
                    hits.append("\(url.lastPathComponent):\(n + 1): \(s.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(hits.isEmpty, "wipe these with secureWipe:\n\(hits.joined(separator: "\n"))")
    }
}
