import Foundation
import KeysmithTestSupport
import Testing

/// keysmith-challenged beside the test bundle (or $KEYSMITH_CHALLENGED_BIN).
let challengedPath: String = {
    if let path = ProcessInfo.processInfo.environment["KEYSMITH_CHALLENGED_BIN"] { return path }
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    // The runner may live inside a .xctest bundle directory.
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("keysmith-challenged").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return "keysmith-challenged"
}()

/// keysmith beside the test bundle, when it was built.
let keysmithPath: String? = {
    let candidate = URL(fileURLWithPath: challengedPath).deletingLastPathComponent().appendingPathComponent("keysmith")
        .path
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}()

let curlPath = "/usr/bin/curl"

/// One running `keysmith-challenged serve` on 127.0.0.1 and a port the system chose;
/// stopped (SIGTERM, then reaped) by ``stop()`` or at the latest in `deinit`.
// @unchecked: `pid` is changed by stop and kill9 only, from the test's own task.
final class ServiceProcess: @unchecked Sendable {
    let port: Int
    let log: String
    private(set) var pid: Int32

    /// Starts the service with `arguments` after `serve`, and waits up to 60 s for its port.
    init(directory: TempDir, name: String = "service", _ arguments: [String]) throws {
        self.log = directory.path("\(name).log")
        let portFile = directory.path("\(name).port")
        self.pid = try spawnDaemon(
            challengedPath,
            ["serve", "--listen", "127.0.0.1:0", "--port-file", portFile] + arguments,
            log: self.log
        )
        var port = 0
        for _ in 0..<600 {
            if let text = try? readText(portFile), let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                port = value
                break
            }
            var status: Int32 = 0
            if waitpid(self.pid, &status, WNOHANG) == self.pid {
                self.pid = 0
                break
            }
            usleep(100_000)
        }
        guard port > 0 else {
            if self.pid > 0 { stopDaemon(self.pid) }
            self.pid = 0
            throw FixtureError("keysmith-challenged did not start: \((try? readText(self.log)) ?? "")")
        }
        self.port = port
    }

    deinit { self.stop() }

    var url: String { "http://127.0.0.1:\(self.port)" }

    /// SIGTERM and reap.
    func stop() {
        guard self.pid > 0 else { return }
        stopDaemon(self.pid)
        self.pid = 0
    }

    /// SIGKILL and reap, as a crash.
    func kill9() {
        guard self.pid > 0 else { return }
        kill(self.pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(self.pid, &status, 0) < 0 && errno == EINTR {}
        self.pid = 0
    }

    /// Whether the process is still running.
    var isRunning: Bool {
        guard self.pid > 0 else { return false }
        var status: Int32 = 0
        return waitpid(self.pid, &status, WNOHANG) == 0
    }

    func logText() -> String { (try? readText(self.log)) ?? "" }
}

/// An HTTP answer as curl got it.
struct HTTPAnswer: CustomStringConvertible {
    var status: Int
    var body: String

    /// The body parsed as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:]
    }

    var description: String { "\(self.status) \(self.body)" }
}

/// Runs curl: `method` to `url` with `body` (a file) if any; the status and the body.
func curl(_ method: String, _ url: String, bodyFile: String? = nil, extra: [String] = []) throws -> HTTPAnswer {
    var arguments = ["-sS", "--max-time", "60", "-X", method, "-w", "\n%{http_code}"]
    if let bodyFile {
        arguments += ["-H", "Content-Type: application/json", "--data-binary", "@" + bodyFile]
    }
    let result = try runProcess(curlPath, arguments + extra + [url])
    var lines = result.stdout.components(separatedBy: "\n")
    let status = Int(lines.removeLast()) ?? -1
    return HTTPAnswer(status: status, body: lines.joined(separator: "\n"))
}

/// curl with a JSON body given as text (written to a file in `directory`).
func curlJSON(_ url: String, _ body: String, in directory: TempDir) throws -> HTTPAnswer {
    let file = directory.path("body-\(UUID().uuidString).json")
    try writeText(file, body)
    return try curl("POST", url, bodyFile: file)
}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed]), as: UTF8.self)
        .dropFirst().dropLast().description
}

/// A fresh Ed25519 key made by ssh-keygen in `directory`: the private key's path.
func makeKey(_ directory: TempDir, _ name: String, comment: String) throws -> String {
    let path = directory.path(name)
    _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]).checked(
        "ssh-keygen"
    )
    return path
}

/// `ssh-keygen -Y sign -n NAMESPACE -f key` over the token's text: the armoured signature.
func sign(
    _ token: String,
    key: String,
    in directory: TempDir,
    namespace: String = "challenge@keysmith"
) throws -> String {
    let file = directory.path("token-\(UUID().uuidString)")
    try writeText(file, token)
    _ = try runProcess(Tool.sshKeygen, ["-q", "-Y", "sign", "-n", namespace, "-f", key, file]).checked(
        "ssh-keygen -Y sign"
    )
    return try readText(file + ".sig")
}

/// `ssh-keygen -lf key.pub`'s fingerprint.
func fingerprint(ofKey key: String) throws -> String {
    let out = try runProcess(Tool.sshKeygen, ["-lf", key + ".pub"]).checked("ssh-keygen -l").stdout
    return out.split(separator: " ")[1].description
}

/// The Python client (standard library only) in `directory`: its path.
func writePythonClient(_ directory: TempDir) throws -> String {
    let path = directory.path("client.py")
    try writeText(path, pythonClient)
    return path
}

/// Runs the Python client with `arguments`; its stdout parsed as JSON.
func runPython(_ script: String, _ arguments: [String]) throws -> [String: Any] {
    let result = try runProcess(Tool.python, [script] + arguments).checked("python3 client.py \(arguments.first ?? "")")
    guard let object = try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any] else {
        throw FixtureError("client.py printed no JSON object: \(result.stdout)")
    }
    return object
}

/// A client nobody here wrote the HTTP side of: urllib, and ssh-keygen to sign.
let pythonClient = #"""
    import json, os, signal, socket, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

    def post(url, body, timeout=60):
        data = json.dumps(body).encode() if body is not None else b""
        req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def sign(key, token, workdir):
        fd, path = tempfile.mkstemp(dir=workdir)
        os.write(fd, token.encode())
        os.close(fd)
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", "challenge@keysmith", "-f", key, path], check=True)
        with open(path + ".sig") as f:
            return f.read()

    def roundtrip(base, key, workdir):
        status, issued = post(base + "/v1/challenges", {"ttl": 60})
        assert status == 200, (status, issued)
        response = sign(key, issued["token"], workdir)
        first = post(base + "/v1/verifications", {"token": issued["token"], "response": response})
        second = post(base + "/v1/verifications", {"token": issued["token"], "response": response})
        print(json.dumps({"issue": issued, "first": [first[0], first[1]], "second": [second[0], second[1]]}))

    def race(bases, key, rounds, workdir, kill_pid, kill_at):
        rows = []
        for n in range(rounds):
            if kill_pid and n == kill_at:
                os.kill(kill_pid, signal.SIGKILL)
            issued = None
            for k in range(len(bases)):
                try:
                    status, answer = post(bases[(n + k) % len(bases)] + "/v1/challenges", {})
                except OSError:
                    continue
                if status == 200:
                    issued = answer
                    break
            response = sign(key, issued["token"], workdir)
            results = [None] * len(bases)
            barrier = threading.Barrier(len(bases))
            def send(i):
                barrier.wait()
                try:
                    results[i] = post(bases[i] + "/v1/verifications", {"token": issued["token"], "response": response}, timeout=30)[0]
                except Exception as e:
                    results[i] = "error: " + type(e).__name__
            threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bases))]
            for t in threads: t.start()
            for t in threads: t.join()
            rows.append(results)
        print(json.dumps({"rows": rows}))

    def slowloris(host, port, health, timeout, mode):
        s = socket.create_connection((host, port))
        if mode == "headers":
            request = b"POST /v1/verifications HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
        else:
            # Whole headers at once, then the body a byte at a time: every byte is a body
            # part that an idle timer after the HTTP decoder would count as activity.
            s.sendall(b"POST /v1/verifications HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n")
            request = b"{" + b" " * 298 + b"}"
        started = time.monotonic()
        other = None
        closed = False
        for i in range(len(request)):
            try:
                s.send(request[i:i + 1])
            except OSError:
                closed = True
                break
            if other is None and time.monotonic() - started > 1:
                # Another client is answered meanwhile.
                with urllib.request.urlopen(health, timeout=30) as r:
                    other = r.status
            s.settimeout(0.5)
            try:
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except OSError:
                closed = True
                break
            if time.monotonic() - started > timeout:
                break
        print(json.dumps({"closed": closed, "seconds": time.monotonic() - started, "other": other}))

    command = sys.argv[1]
    if command == "roundtrip":
        roundtrip(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "race":
        race(sys.argv[2].split(","), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), int(sys.argv[7]))
    elif command == "slowloris":
        slowloris(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6])
    """#
