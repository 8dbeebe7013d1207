// serve-load: a load generator for `keysmith serve`. N threads each open a fresh TCP
// connection, do the full handshake (curve25519 key exchange, host key signature check,
// publickey authentication), run one exec request, check the answer and disconnect,
// again and again, with keysmith's own SSH client, which spends far less CPU per login
// than an OpenSSH `ssh` process, so that the server's rate is what gets measured.
//
//   serve-load -p PORT -i IDENTITY [-h 127.0.0.1] [-c CONCURRENCY] [-n LOGINS]
//              [--server-pid PID] [--user NAME] [--warmup N]
//
// Prints one line of key=value pairs: logins, failures, concurrency, seconds, per_second,
// latency percentiles, the client's CPU per login (getrusage) and, with --server-pid, the
// server's CPU per login from /proc/PID/stat (utime + stime, all threads).

import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var host = "127.0.0.1"
    var port = 0
    var identity = ""
    var user = "bench"
    var concurrency = 8
    var logins = 1000
    var warmup = 20
    var serverPID: Int32? = nil
}

func usage(_ message: String) -> Never {
    printError("serve-load: \(message)")
    printError(
        "usage: serve-load -p PORT -i IDENTITY [-h HOST] [-c CONCURRENCY] [-n LOGINS] [--warmup N] [--server-pid PID] [--user NAME]"
    )
    exit(64)
}

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    while let flag = arguments.popFirst() {
        guard let value = arguments.popFirst() else { usage("\(flag) needs a value") }
        switch flag {
        case "-h", "--host": options.host = value
        case "-p", "--port": options.port = Int(value) ?? 0
        case "-i", "--identity": options.identity = value
        case "--user": options.user = value
        case "-c", "--concurrency": options.concurrency = max(1, Int(value) ?? 1)
        case "-n", "--logins": options.logins = max(1, Int(value) ?? 1)
        case "--warmup": options.warmup = max(0, Int(value) ?? 0)
        case "--server-pid": options.serverPID = Int32(value)
        default: usage("unknown option \(flag)")
        }
    }
    guard (1...65535).contains(options.port) else { usage("-p PORT is required") }
    guard !options.identity.isEmpty else { usage("-i IDENTITY is required") }
    return options
}

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { usage("cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

/// Nanoseconds on the monotonic clock.
func nanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// CPU seconds (user + system, every thread) of process `pid`, from /proc/PID/stat.
func processCPUSeconds(_ pid: Int32) -> Double? {
    let text = String(decoding: readFile("/proc/\(pid)/stat"), as: UTF8.self)
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    guard let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU seconds of this process (every thread).
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Hands out login numbers and collects latencies; guarded by a mutex.
final class Ledger: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var next = 0
    private let total: Int
    private(set) var latencies: [UInt64] = []
    private(set) var failures: [String] = []

    init(total: Int) {
        self.total = total
        pthread_mutex_init(&self.mutex, nil)
        self.latencies.reserveCapacity(total)
    }

    func take() -> Bool {
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        guard self.next < self.total else { return false }
        self.next += 1
        return true
    }

    func record(_ latency: UInt64, failure: String?) {
        pthread_mutex_lock(&self.mutex)
        defer { pthread_mutex_unlock(&self.mutex) }
        if let failure { self.failures.append(failure) } else { self.latencies.append(latency) }
    }
}

/// One login: connect, authenticate, exec, check the answer, disconnect.
func login(_ options: SSHClientOptions) -> String? {
    do {
        let client = try SSHClient.connect(options)
        defer { client.close() }
        let result = try client.exec("true")
        guard result.exitStatus == 0, result.stdout.starts(with: Array("authenticated SHA256:".utf8)) else {
            return "unexpected answer: \(String(decoding: result.stdout, as: UTF8.self))"
        }
        return nil
    } catch {
        return error.message
    }
}

final class Worker: @unchecked Sendable {
    let ledger: Ledger
    let options: SSHClientOptions
    init(ledger: Ledger, options: SSHClientOptions) {
        self.ledger = ledger
        self.options = options
    }
    func run() {
        while self.ledger.take() {
            let start = nanoseconds()
            let failure = login(self.options)
            self.ledger.record(nanoseconds() - start, failure: failure)
        }
    }
}

/// Runs `count` logins on `concurrency` threads; returns the ledger and the wall seconds.
func runLogins(_ count: Int, concurrency: Int, options: SSHClientOptions) -> (Ledger, Double) {
    let ledger = Ledger(total: count)
    let worker = Worker(ledger: ledger, options: options)
    let start = nanoseconds()
    var threads: [pthread_t] = []
    for _ in 0..<concurrency {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(worker).toOpaque()
        let rc = pthread_create(
            &thread,
            nil,
            { argument in
                Unmanaged<Worker>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            },
            box
        )
        guard rc == 0 else { usage("cannot start a thread") }
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
    return (ledger, Double(nanoseconds() - start) / 1e9)
}

let options = parseOptions()
let key: SSHPrivateKey
do {
    key = try SSHPrivateKey(fileContents: readFile(options.identity))
} catch {
    usage("\(options.identity): \(error.message)")
}
let clientOptions = SSHClientOptions(
    host: options.host,
    port: options.port,
    user: options.user,
    credentials: SSHCredentials(keys: [(label: options.identity, key: key)]),
    authenticationOrder: [.publicKey],
    connectTimeout: 10,
    overallTimeout: 60,
    idleTimeout: 30,
    // The benchmark measures the server; which host key it has does not matter here.
    hostKeyVerifier: { _ throws(SSHProtocolError) in }
)

if options.warmup > 0 {
    let (warm, _) = runLogins(
        options.warmup,
        concurrency: min(options.concurrency, options.warmup),
        options: clientOptions
    )
    if let failure = warm.failures.first { usage("warm-up login failed: \(failure)") }
}
let serverBefore = options.serverPID.flatMap(processCPUSeconds)
let clientBefore = ownCPUSeconds()
let (ledger, seconds) = runLogins(options.logins, concurrency: options.concurrency, options: clientOptions)
let clientCPU = ownCPUSeconds() - clientBefore
let serverAfter = options.serverPID.flatMap(processCPUSeconds)

let sorted = ledger.latencies.sorted()
func percentile(_ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
}
let done = ledger.latencies.count
var line = "logins=\(done) failures=\(ledger.failures.count) concurrency=\(options.concurrency)"
line += " seconds=\(fixed(seconds, 3)) per_second=\(fixed(Double(done) / seconds, 1))"
line += " p50_ms=\(fixed(percentile(0.5), 2)) p90_ms=\(fixed(percentile(0.9), 2)) p99_ms=\(fixed(percentile(0.99), 2))"
line += " client_cpu_ms_per_login=\(fixed(clientCPU * 1000 / Double(max(done, 1)), 2))"
if let before = serverBefore, let after = serverAfter {
    line += " server_cpu_ms_per_login=\(fixed((after - before) * 1000 / Double(max(done, 1)), 2))"
}
print(line)
if let failure = ledger.failures.first {
    printError("serve-load: \(ledger.failures.count) logins failed, the first: \(failure)")
    exit(1)
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * Double(scale)).rounded())
    guard digits > 0 else { return "\(scaled)" }
    let fraction = String(abs(scaled) % scale)
    return
        "\(scaled < 0 ? "-" : "")\(abs(scaled) / scale).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
}
