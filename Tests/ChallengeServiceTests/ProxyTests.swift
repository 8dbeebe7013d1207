import Foundation
import KeysmithTestSupport
import Testing

/// TLS as docs/challenge-service.md deploys it: Debian's nginx terminating TLS with a
/// certificate `openssl req` made, proxying to keysmith-challenged; curl checks the
/// certificate with --cacert.
@Suite("Challenge service behind nginx (TLS)")
struct ProxyTests {
    static let nginx = "/usr/sbin/nginx"

    @Test("issue and verify over HTTPS through nginx: 200, then 409")
    func throughNginx() throws {
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        let service = try ServiceProcess(
            directory: directory,
            ["--state", directory.path("state"), "--audience", "https://localhost", "--authorized-keys", keys]
        )
        defer { service.stop() }

        _ = try runProcess(
            Tool.openssl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", directory.path("tls.key"), "-out", directory.path("tls.crt"), "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]
        ).checked("openssl req")

        // nginx on a port of its own; a port taken meanwhile by another test is tried again.
        var nginxPid: Int32 = 0
        var port = 0
        defer { if nginxPid > 0 { stopDaemon(nginxPid) } }
        for attempt in 0..<5 where nginxPid == 0 {
            port = freeLoopbackPort()
            let prefix = directory.path("nginx\(attempt)")
            try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
            try writeText(
                prefix + "/nginx.conf",
                nginxConfiguration(prefix: prefix, port: port, directory: directory, upstream: service.port)
            )
            let log = prefix + "/stderr.log"
            let pid = try spawnDaemon(
                Self.nginx,
                ["-p", prefix, "-c", prefix + "/nginx.conf", "-e", prefix + "/error.log"],
                log: log
            )
            for _ in 0..<300 {
                let fd = connectLoopback(port: port)
                if fd >= 0 {
                    close(fd)
                    nginxPid = pid
                    break
                }
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { break }
                usleep(100_000)
            }
            if nginxPid == 0 { stopDaemon(pid) }
        }
        try #require(nginxPid > 0, "nginx did not start")

        let base = "https://localhost:\(port)"
        let tls = ["--cacert", directory.path("tls.crt"), "--resolve", "localhost:\(port):127.0.0.1"]
        let issued = try curl("POST", base + "/v1/challenges", extra: tls)
        #expect(issued.status == 200, "\(issued)")
        let token = try #require(issued.json["token"] as? String)
        let body = directory.path("verify.json")
        try writeText(
            body,
            "{\"token\":\(jsonString(token)),\"response\":\(jsonString(try sign(token, key: key, in: directory)))}"
        )
        let verified = try curl("POST", base + "/v1/verifications", bodyFile: body, extra: tls)
        #expect(verified.status == 200, "\(verified)")
        #expect(verified.json["fingerprint"] as? String == (try fingerprint(ofKey: key)))
        let replayed = try curl("POST", base + "/v1/verifications", bodyFile: body, extra: tls)
        #expect(replayed.status == 409, "\(replayed)")
        #expect(try curl("GET", base + "/healthz", extra: tls).status == 200)

        // Without the CA certificate curl refuses the connection: TLS is really in the way.
        let untrusted = try runProcess(
            curlPath,
            ["-sS", "--resolve", "localhost:\(port):127.0.0.1", base + "/healthz"]
        )
        #expect(untrusted.status != 0)
    }
}

/// A loopback port nobody listened on a moment ago.
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// nginx in the foreground, everything under `prefix`, TLS on `port`, the service upstream.
func nginxConfiguration(prefix: String, port: Int, directory: TempDir, upstream: Int) -> String {
    """
    daemon off;
    master_process off;
    worker_processes 1;
    pid \(prefix)/nginx.pid;
    error_log \(prefix)/error.log;
    events { worker_connections 64; }
    http {
        access_log off;
        client_body_temp_path \(prefix)/body;
        proxy_temp_path \(prefix)/proxy;
        fastcgi_temp_path \(prefix)/fastcgi;
        uwsgi_temp_path \(prefix)/uwsgi;
        scgi_temp_path \(prefix)/scgi;
        upstream keysmith_challenged { server 127.0.0.1:\(upstream); keepalive 8; }
        server {
            listen 127.0.0.1:\(port) ssl;
            server_name localhost;
            ssl_certificate \(directory.path("tls.crt"));
            ssl_certificate_key \(directory.path("tls.key"));
            ssl_protocols TLSv1.2 TLSv1.3;
            client_max_body_size 64k;
            location / {
                proxy_pass http://keysmith_challenged;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
            }
        }
    }

    """
}
