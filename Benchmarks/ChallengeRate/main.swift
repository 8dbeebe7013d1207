// challenge-rate: Ed25519 challenge verifications per CPU-second, in-process, on one
// thread. Measures CPU time of the thread (CLOCK_THREAD_CPUTIME_ID), so that builds or
// other processes sharing the machine do not lower the per-core rate it reports.
//
//   challenge-rate [N]        (default 20000 verifications per row)
//
// Rows: the Ed25519 signature check through SSHKeys, the SSHSIG check of a response (parse
// the armour, hash, verify), and ChallengeVerifier.verify end to end (token MAC and expiry,
// SSHSIG, authorized_keys, recording the used token as a link in a fresh state directory).
// Tokens and responses are made before the timing.
//
// SSHCrypto verifies a key's first signature with libsodium and prepares the key (a table
// of its multiples) on its second; later ones take the prepared path. So the Ed25519 and
// SSHSIG checks have three rows each: warm (one key, again and again), a key's first use
// (libsodium, what every check cost before) and its second (preparing, then verifying),
// the last two over 200 keys each used once per row. The link(2) row is the replay record
// alone, the part of ChallengeVerifier.verify that is file system work.

import KeyVerify
import SSHKeys

#if canImport(Glibc)
import Glibc
#endif

func threadCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func wallSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * Double(scale)).rounded())
    guard digits > 0 else { return "\(scaled)" }
    let fraction = String(scaled % scale)
    return "\(scaled / scale).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
}

/// Runs `body` `count` times and prints CPU and wall time per call and calls per CPU-second.
func row(_ name: String, _ count: Int, _ body: (Int) -> Bool) {
    var failures = 0
    let cpu0 = threadCPUSeconds()
    let wall0 = wallSeconds()
    for i in 0..<count where !body(i) { failures += 1 }
    let cpu = threadCPUSeconds() - cpu0
    let wall = wallSeconds() - wall0
    print(
        "| \(name) | \(fixed(cpu / Double(count) * 1e6, 1)) µs | \(fixed(wall / Double(count) * 1e6, 1)) µs | \(fixed(Double(count) / cpu, 0)) |"
    )
    if failures > 0 {
        print("\(name): \(failures) of \(count) failed")
        exit(1)
    }
}

let count = CommandLine.arguments.count > 1 ? max(1, Int(CommandLine.arguments[1]) ?? 20000) : 20000
let key = try! SSHPrivateKey(generating: .ed25519, comment: "bench@keysmith")
let line = key.publicKey.publicKeyFileContents(comment: "bench@keysmith")
let authorizedKeys = AuthorizedKeysFile(contents: Array(line.utf8), path: "authorized_keys")

var template = Array("/tmp/keysmith-challenge-rate.XXXXXX".utf8CString)
let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
let stateDirectory = String(cString: made!)
let verifier = try! ChallengeVerifier(stateDirectory: stateDirectory, audience: "bench.example")

let message = Array(repeating: UInt8(ascii: "x"), count: 200)
let signature = try! key.signature(for: message)
let token = try! verifier.issue().text
let response = try! Challenge.respond(to: token, with: key, audience: "bench.example")
var pairs: [(String, String)] = []
pairs.reserveCapacity(count)
for _ in 0..<count {
    let token = try! verifier.issue().text
    pairs.append((token, try! Challenge.respond(to: token, with: key, audience: "bench.example")))
}

// 200 keys for the first- and second-use rows (fewer than the 256 keys SSHCrypto keeps).
let coldCount = 200
struct ColdCase {
    let publicKey: SSHPublicKey
    let signature: SSHSignature
    let token: String
    let response: String
}
let coldEd25519 = (0..<coldCount).map { _ in
    let k = try! SSHPrivateKey(generating: .ed25519, comment: "")
    return ColdCase(publicKey: k.publicKey, signature: try! k.signature(for: message), token: "", response: "")
}
let coldSSHSIG = (0..<coldCount).map { _ in
    let k = try! SSHPrivateKey(generating: .ed25519, comment: "")
    let token = try! verifier.issue().text
    return ColdCase(
        publicKey: k.publicKey,
        signature: try! k.signature(for: message),
        token: token,
        response: try! Challenge.respond(to: token, with: k, audience: "bench.example")
    )
}

func sshsigCheck(_ response: String, _ token: String) -> Bool {
    guard let parsed = try? SSHSIGSignature(armored: response) else { return false }
    return (try? parsed.verify(Array(token.utf8), namespace: Challenge.namespace)) != nil
}

print("| operation (\(count) calls, one thread) | CPU per call | wall per call | per CPU-second |")
print("|---|---|---|---|")
row("Ed25519 signature check, warm (SSHPublicKey.isValidSignature)", count) { _ in
    key.publicKey.isValidSignature(signature, for: message)
}
row("Ed25519 signature check, a key's first use (libsodium)", coldCount) { i in
    coldEd25519[i].publicKey.isValidSignature(coldEd25519[i].signature, for: message)
}
row("Ed25519 signature check, a key's second use (prepare, verify)", coldCount) { i in
    coldEd25519[i].publicKey.isValidSignature(coldEd25519[i].signature, for: message)
}
row("SSHSIG check of a response, warm (parse the armour, hash, verify)", count) { _ in
    sshsigCheck(response, token)
}
row("SSHSIG check of a response, a key's first use (libsodium)", coldCount) { i in
    sshsigCheck(coldSSHSIG[i].response, coldSSHSIG[i].token)
}
row("SSHSIG check of a response, a key's second use (prepare, verify)", coldCount) { i in
    sshsigCheck(coldSSHSIG[i].response, coldSSHSIG[i].token)
}
row("ChallengeVerifier.verify, end to end, warm", count) { i in
    (try? verifier.verify(token: pairs[i].0, response: pairs[i].1, authorizedKeys: authorizedKeys)) != nil
}

// The replay record alone: what ChallengeVerifier.verify does after the checks, a link(2)
// of the record file to used/EXPIRES-NONCE in a directory of its own.
let linkDirectory = stateDirectory + "/link-row"
mkdir(linkDirectory, 0o700)
mkdir(linkDirectory + "/used", 0o700)
let recordFile = linkDirectory + "/record"
close(open(recordFile, O_WRONLY | O_CREAT, 0o600))
let linkNames = (0..<count).map { i in linkDirectory + "/used/9999999999-\(i)-0123456789abcdef0123456789abcdef" }
row("link(2) of a used-token record (part of the row above)", count) { i in
    link(recordFile, linkNames[i]) == 0
}
for name in linkNames { unlink(name) }
unlink(recordFile)
rmdir(linkDirectory + "/used")
rmdir(linkDirectory)

// Leave nothing behind: the used-token records and the state directory.
verifier.pruneUsedTokens(now: Int64.max / 2)
unlink(stateDirectory + "/secret")
rmdir(stateDirectory + "/used")
rmdir(stateDirectory)
