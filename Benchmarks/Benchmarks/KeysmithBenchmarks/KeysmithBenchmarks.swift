import Benchmark
import KeyVerify
import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#endif

/// In-process benchmarks of keysmith's libraries: what the whole-process table in
/// scripts/bench.sh cannot separate from process start-up.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )

    // bcrypt_pbkdf, through the public API that uses it: decrypting an
    // openssh-key-v1 file (aes256-ctr needs two output blocks, computed on two cores).
    for rounds in [16, 32] {
        let key = try! SSHPrivateKey(generating: .ed25519, comment: "bench")
        let passphrase = SecureBytes(utf8: "bench passphrase")
        let file = try! key.fileRepresentation(
            passphrase: passphrase,
            options: OpenSSHKeyFileOptions(rounds: rounds)
        )
        let bytes = file.withUnsafeBytes { Array($0) }
        Benchmark(
            "decrypt openssh-key-v1, bcrypt_pbkdf \(rounds) rounds",
            configuration: .init(maxDuration: .seconds(5))
        ) {
            benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try SSHPrivateKey(fileContents: bytes, passphrase: passphrase))
            }
        }
    }

    let ed25519 = try! SSHPrivateKey(generating: .ed25519, comment: "bench@keysmith")
    let ed25519Line = ed25519.publicKey.publicKeyFileContents(comment: "bench@keysmith")
    let ecdsa = try! SSHPrivateKey(generating: .ecdsa(.p256), comment: "bench@keysmith")
    let rsa = try! SSHPrivateKey(generating: .rsa, rsaBits: 3072, comment: "bench@keysmith")

    Benchmark("fingerprint (SHA-256) of an Ed25519 key") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ed25519.publicKey.fingerprint().description) }
    }
    Benchmark("fingerprint (SHA-256) of an RSA-3072 key") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(rsa.publicKey.fingerprint().description) }
    }

    for (name, key) in [("Ed25519", ed25519), ("ECDSA P-256", ecdsa), ("RSA-3072", rsa)] {
        let line = key.publicKey.publicKeyFileContents(comment: "bench@keysmith")
        Benchmark("parse an \(name) public key line") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try SSHPublicKey(openSSHLine: line)) }
        }
    }

    // A 2,000-line authorized_keys, parsed as ssh-keygen -l and sshd read it.
    let authorized = Array(String(repeating: ed25519Line, count: 2000).utf8)
    Benchmark("parse a 2,000-line authorized_keys (keys(inFile:))", configuration: .init(scalingFactor: .one)) {
        benchmark in
        for _ in benchmark.scaledIterations { blackHole(try SSHPublicKey.keys(inFile: authorized)) }
    }
    Benchmark("parse a 2,000-line authorized_keys (AuthorizedKeysFile)", configuration: .init(scalingFactor: .one)) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(AuthorizedKeysFile(contents: authorized, path: "authorized_keys"))
        }
    }

    // Ed25519 verification through SSHKeys (libsodium's crypto_sign_verify_detached
    // underneath): the floor under the two rows below. Per CPU-second rates that other
    // work on the machine does not lower: challenge-rate (Benchmarks/ChallengeRate).
    let signedData = Array(repeating: UInt8(ascii: "x"), count: 200)
    let ed25519Signature = try! ed25519.signature(for: signedData)
    Benchmark(
        "Ed25519 signature check (SSHPublicKey.isValidSignature)",
        configuration: .init(maxDuration: .seconds(5))
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(ed25519.publicKey.isValidSignature(ed25519Signature, for: signedData))
        }
    }

    // Ed25519 challenge verification (KeyVerify's ChallengeVerifier): a fresh token
    // and response for every iteration, issued and answered outside the timed region
    // would hide nothing, so both are made ahead of time in batches.
    let state = makeStateDirectory()
    let verifier = try! ChallengeVerifier(stateDirectory: state, audience: "bench.example")
    let authorizedKeys = AuthorizedKeysFile(contents: Array(ed25519Line.utf8), path: "authorized_keys")
    Benchmark(
        "Ed25519 challenge verification (ChallengeVerifier.verify)",
        configuration: .init(maxDuration: .seconds(5), maxIterations: 20_000)
    ) { benchmark in
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(benchmark.scaledIterations.count)
        for _ in benchmark.scaledIterations {
            let token = try verifier.issue().text
            pairs.append((token, try Challenge.respond(to: token, with: ed25519, audience: "bench.example")))
        }
        benchmark.startMeasurement()
        for (token, response) in pairs {
            blackHole(try verifier.verify(token: token, response: response, authorizedKeys: authorizedKeys))
        }
        benchmark.stopMeasurement()
    }
    Benchmark(
        "Ed25519 SSHSIG signature check alone (no token bookkeeping)",
        configuration: .init(maxDuration: .seconds(5))
    ) { benchmark in
        let token = try verifier.issue().text
        let response = try Challenge.respond(to: token, with: ed25519, audience: "bench.example")
        let signature = try SSHSIGSignature(armored: response)
        let message = Array(token.utf8)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try? signature.verify(message, namespace: Challenge.namespace))
        }
        benchmark.stopMeasurement()
    }
}

/// A fresh 0700 state directory for the verifier.
func makeStateDirectory() -> String {
    var template = Array("/tmp/keysmith-bench-state.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: made!)
}
