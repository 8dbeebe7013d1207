import Foundation
import KeysmithTestSupport
import Testing

/// Text a server controls (authorized_keys lines, paths and modes its shell reports, its
/// stderr) reaches the terminal only escaped, as OpenSSH's mprintf shows it (`\033`), so
/// a hostile host cannot move the cursor, retitle the window or hide lines.
@Suite("server text is escaped before it reaches the terminal")
struct TerminalInjectionTests {
    /// Whether `text` holds a control character a terminal would act on (all but tab and line feed).
    static func hasRawControl(_ text: String) -> Bool {
        text.unicodeScalars.contains {
            ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value)
        }
    }

    @Test("remote authorized_keys lines: remove-id -n, list-ids and rotate -n")
    func authorizedKeysLines() throws {
        let s = try CopyIDTests.Setup()
        #expect(try s.copy().status == 0)
        let pub = try readText(s.key + ".pub").split(separator: " ").prefix(2).joined(separator: " ")
        let file = s.sshd.home + "/.ssh/authorized_keys"
        let hostile = "from=\"127.0.0.1,x\u{1B}]0;owned\u{07}\" " + pub + " evil\u{1B}[2J\u{1B}[31mred\u{9B}1m\r\n"
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(hostile.utf8))
        try handle.close()

        let removeDry = try s.run("remove-id", ["-n", "-i", s.key + ".pub"])
        #expect(removeDry.status == 0, "\(removeDry)")
        #expect(!Self.hasRawControl(removeDry.stdout + removeDry.stderr), "\(removeDry.stdout.debugDescription)")
        #expect(
            removeDry.stdout.contains(
                "2: from=\"127.0.0.1,x\\033]0;owned\\007\" \(pub) evil\\033[2J\\033[31mred\\302\\2331m"
            ),
            "\(removeDry.stdout.debugDescription)"
        )

        let list = try s.run("list-ids")
        #expect(list.status == 0, "\(list)")
        #expect(!Self.hasRawControl(list.stdout + list.stderr), "\(list.stdout.debugDescription)")
        #expect(list.stdout.contains("evil\\033[2J\\033[31mred"), "\(list.stdout.debugDescription)")

        let new = s.dir.path("new")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "new", "-f", new]).checked("ssh-keygen")
        // Only the hostile line carries the old key now: the new key inherits its options.
        try Data(hostile.utf8).write(to: URL(fileURLWithPath: file))
        let rotate = try s.run("rotate", ["-n", "-i", new, "--old", s.key + ".pub"])
        #expect(rotate.status == 0, "\(rotate)")
        #expect(!Self.hasRawControl(rotate.stdout + rotate.stderr), "\(rotate.stdout.debugDescription)")
        #expect(
            rotate.stdout.contains("with from=\"127.0.0.1,x\\033]0;owned\\007\""),
            "\(rotate.stdout.debugDescription)"
        )
    }

    @Test("paths and modes the remote shell reports: copy-id's created and repaired lines")
    func remotePaths() throws {
        let base = try TempDir()
        let home = base.path("h\u{1B}[2J\u{1B}]0;owned\u{07}")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        _ = try runProcess("/bin/chmod", ["755", base.url.path]).checked("chmod")
        let s = try CopyIDTests.Setup(extraConfig: ["SetEnv HOME=\"\(home)\""])
        _ = try runProcess("/bin/chown", ["\(s.sshd.user):\(s.sshd.user)", home]).checked("chown")
        _ = try runProcess("/bin/chmod", ["777", home]).checked("chmod")
        let r = try s.copy()
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(!Self.hasRawControl(r.stdout + r.stderr), "\(r.stderr.debugDescription)")
        let shown = escaped(home)
        #expect(r.stderr.contains("created \(shown)/.ssh"), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains("repaired the mode of \(shown) (was drwxrwxrwx)"), "\(r.stderr.debugDescription)")
        #expect(FileManager.default.fileExists(atPath: home + "/.ssh/authorized_keys"))
    }

    @Test("the remote shell's stderr in a failure")
    func remoteStderr() throws {
        let s = try CopyIDTests.Setup(extraConfig: [
            "ForceCommand printf 'no\\033[2J\\033]0;owned\\007\\r\\033[31mway\\n' >&2; exit 3"
        ])
        let r = try s.copy()
        #expect(r.status == 1, "\(r)")
        #expect(!Self.hasRawControl(r.stdout + r.stderr), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains("no\\033[2J\\033]0;owned\\007\\015\\033[31mway"), "\(r.stderr.debugDescription)")
    }

    /// A minimal SSH server (python3 with Debian's python3-cryptography: curve25519-sha256,
    /// ssh-ed25519, aes128-ctr, hmac-sha2-256) whose only authentication method is
    /// keyboard-interactive, with escape sequences in the name, the instruction and the prompt;
    /// after the answer it disconnects. It prints its loopback port on the first line.
    static let keyboardInteractiveServer = #"""
        import hashlib, hmac, os, socket, struct, sys
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        NAME = b"name\x1b[2J\x1b]0;owned\x07"
        INSTRUCTION = b"instruction\x1b[31m\r\nsecond line\x9b"
        PROMPT = b"prompt\x1b[8m: "

        def u32(n): return struct.pack(">I", n)
        def string(b): return u32(len(b)) + b
        def mpint(b):
            b = b.lstrip(b"\0")
            return string(b"\0" + b if b and b[0] & 0x80 else b)

        class Reader:
            def __init__(self, b): self.b = b
            def byte(self): v = self.b[0]; self.b = self.b[1:]; return v
            def u32(self): v = struct.unpack(">I", self.b[:4])[0]; self.b = self.b[4:]; return v
            def string(self): n = self.u32(); v = self.b[:n]; self.b = self.b[n:]; return v

        class Conn:
            def __init__(self, c):
                self.c, self.buf, self.seq_in, self.seq_out = c, b"", 0, 0
                self.enc = self.dec = None
            def recvn(self, n):
                while len(self.buf) < n:
                    d = self.c.recv(65536)
                    if not d: raise EOFError
                    self.buf += d
                v, self.buf = self.buf[:n], self.buf[n:]
                return v
            def line(self):
                while b"\n" not in self.buf:
                    d = self.c.recv(65536)
                    if not d: raise EOFError
                    self.buf += d
                i = self.buf.index(b"\n")
                v, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return v.rstrip(b"\r\n")
            def send(self, payload):
                bs = 16 if self.enc else 8
                pad = bs - (5 + len(payload)) % bs
                if pad < 4: pad += bs
                packet = u32(1 + len(payload) + pad) + bytes([pad]) + payload + os.urandom(pad)
                if self.enc:
                    mac = hmac.new(self.mac_out, u32(self.seq_out) + packet, hashlib.sha256).digest()
                    packet = self.enc.update(packet) + mac
                self.seq_out += 1
                self.c.sendall(packet)
            def recv(self):
                while True:
                    if self.dec:
                        first = self.dec.update(self.recvn(16))
                        length = struct.unpack(">I", first[:4])[0]
                        packet = first + self.dec.update(self.recvn(length + 4 - 16))
                        self.recvn(32)
                    else:
                        first = self.recvn(5)
                        length = struct.unpack(">I", first[:4])[0]
                        packet = first + self.recvn(length - 1)
                    self.seq_in += 1
                    pad = packet[4]
                    payload = packet[5:4 + length - pad]
                    if payload[0] not in (2, 4): return payload

        def serve(c):
            conn = Conn(c)
            v_s = b"SSH-2.0-OpenSSH_9.2p1"
            c.sendall(v_s + b"\r\n")
            v_c = conn.line()
            while not v_c.startswith(b"SSH-"): v_c = conn.line()
            lists = [b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr", b"hmac-sha2-256",
                     b"hmac-sha2-256", b"none", b"none", b"", b""]
            i_s = bytes([20]) + os.urandom(16) + b"".join(string(x) for x in lists) + b"\0" + u32(0)
            conn.send(i_s)
            i_c = conn.recv()
            init = Reader(conn.recv()); init.byte(); q_c = init.string()
            host = Ed25519PrivateKey.generate()
            k_s = string(b"ssh-ed25519") + string(host.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
            eph = X25519PrivateKey.generate()
            q_s = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            k = mpint(eph.exchange(X25519PublicKey.from_public_bytes(q_c)))
            h = hashlib.sha256(string(v_c) + string(v_s) + string(i_c) + string(i_s) + string(k_s) + string(q_c)
                               + string(q_s) + k).digest()
            sig = string(b"ssh-ed25519") + string(host.sign(h))
            conn.send(bytes([31]) + string(k_s) + string(q_s) + string(sig))
            conn.send(bytes([21]))
            conn.recv()
            derive = lambda x, n: hashlib.sha256(k + h + x + h).digest()[:n]
            conn.dec = Cipher(algorithms.AES(derive(b"C", 16)), modes.CTR(derive(b"A", 16))).decryptor()
            conn.enc = Cipher(algorithms.AES(derive(b"D", 16)), modes.CTR(derive(b"B", 16))).encryptor()
            conn.mac_out = derive(b"F", 32)
            while True:
                m = Reader(conn.recv())
                t = m.byte()
                if t == 5:
                    conn.send(bytes([6]) + string(m.string()))
                elif t == 50:
                    m.string(); m.string(); method = m.string()
                    if method == b"keyboard-interactive":
                        conn.send(bytes([60]) + string(NAME) + string(INSTRUCTION) + string(b"") + u32(1) + string(PROMPT) + b"\0")
                    else:
                        conn.send(bytes([51]) + string(b"keyboard-interactive") + b"\0")
                elif t == 61:
                    conn.send(bytes([1]) + u32(2) + string(b"bye\x1b[2J") + string(b""))
                    return
                else:
                    return

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        print(s.getsockname()[1], flush=True)
        while True:
            c, _ = s.accept()
            try:
                serve(c)
            except (EOFError, OSError):
                pass
            c.close()
        """#

    @Test("keyboard-interactive name, instruction and prompt from a hostile server")
    func keyboardInteractive() throws {
        let dir = try TempDir()
        let log = dir.path("server.log")
        let (pid, port) = try startPythonServer(Self.keyboardInteractiveServer, log: log)
        defer { stopDaemon(pid) }
        // The hidden prompt goes to SSH_ASKPASS, which records what it was shown.
        let askpass = dir.path("askpass")
        try writeProgram(askpass, "#!/bin/sh\nprintf '%s' \"$1\" > '\(dir.path("asked"))'\necho answer\n")
        let r = try runProcess(
            keysmithPath,
            [
                "list-ids", "-p", port, "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=\(dir.path("kh"))", "nobody@127.0.0.1",
            ],
            environment: [
                "HOME": dir.path("home"), "SSH_AUTH_SOCK": "", "SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force",
            ]
        )
        #expect(r.status == 1, "\(r)")
        #expect(!Self.hasRawControl(r.stdout + r.stderr), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains("\nname\\033[2J\\033]0;owned\\007\n"), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains("\ninstruction\\033[31m\\015\nsecond line"), "\(r.stderr.debugDescription)")
        let asked = try readText(dir.path("asked"))
        #expect(!Self.hasRawControl(asked) && asked == "prompt\\033[8m: ", "\(asked.debugDescription)")
    }

    /// `text` as mprintf shows it in a UTF-8 locale: printable text kept, control bytes as `\ooo`.
    func escaped(_ text: String) -> String {
        text.utf8.map { byte in
            byte < 0x20 || byte == 0x7F
                ? "\\" + String(byte >> 6) + String((byte >> 3) & 7) + String(byte & 7)
                : String(UnicodeScalar(byte))
        }.joined()
    }
}
