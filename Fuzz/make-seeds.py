#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/NAME/ from real OpenSSH output.

Key files, public keys, signatures and known_hosts come from ssh-keygen; the transport
seeds are what a real sshd sends (banner, KEXINIT, kex reply, NEWKEYS) to a client
speaking curve25519 or DH group 14; the SFTP seeds are OpenSSH's sftp-server's replies.
Messages only seen after encryption (user auth, channels) are written as OpenSSH sends
them, field by field from RFC 4252 / RFC 4254. Challenge seeds need a built keysmith:
    python3 Fuzz/make-seeds.py [path/to/keysmith]
"""
import os, socket, struct, subprocess, sys, tempfile, time, shutil, random, base64

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
KEYSMITH = sys.argv[1] if len(sys.argv) > 1 else None
rng = random.Random(1)


def out(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, **kw).stdout


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def u32(v):
    return struct.pack(">I", v)


def framed(messages):
    """The fuzz targets' message framing: a two-byte length before each message."""
    return b"".join(struct.pack(">H", len(m)) + m for m in messages)


def packet(payload, block=8):
    pad = block - (len(payload) + 5) % block
    if pad < 4:
        pad += block
    return u32(len(payload) + pad + 1) + bytes([pad]) + payload + bytes(pad)


def security_key_seeds(tmp):
    """Security-key private keys and SSHSIG signatures as OpenSSH 9.2 makes them through a FIDO
    middleware: the software authenticator the tests use (Tests/Fixtures/SoftAuthenticator),
    built here with cc, loaded by ssh-keygen -w. Plain and encrypted private keys, and
    signatures with user presence and without it."""
    source = os.path.join(os.path.dirname(ROOT), "..", "Tests", "Fixtures", "SoftAuthenticator", "soft_authenticator.c")
    library = os.path.join(tmp, "soft_authenticator.so")
    run("cc", "-shared", "-fPIC", "-O1", "-o", library, source, "-lcrypto")
    message = os.path.join(tmp, "sk-message")
    with open(message, "w") as f:
        f.write("fuzz\n")
    for t, tag in [("ed25519-sk", "sk-ed25519"), ("ecdsa-sk", "sk-ecdsa256")]:
        for suffix, passphrase in [("plain", ""), ("encrypted", "fuzz-passphrase")]:
            key = os.path.join(tmp, f"{tag}-{suffix}")
            run("ssh-keygen", "-q", "-t", t, "-w", library, "-N", passphrase, "-a", "2", "-C", f"seed {tag}",
                "-O", "application=ssh:fuzz", "-f", key)
            out("FuzzPrivateKey", f"{tag}-openssh-{suffix}", open(key, "rb").read())
        key = os.path.join(tmp, f"{tag}-plain")
        for flags, name in [("1", "touched"), ("0", "untouched"), ("5", "verified")]:
            env = dict(os.environ, KEYSMITH_SOFTSK_FLAGS=flags, KEYSMITH_SOFTSK_COUNTER="7")
            run("ssh-keygen", "-q", "-Y", "sign", "-w", library, "-f", key, "-n", "file", message, env=env)
            armour = open(message + ".sig", "rb").read()
            os.remove(message + ".sig")
            out("FuzzSSHSIG", f"{tag}-{name}.sig", armour)
            body = b"".join(l for l in armour.splitlines() if not l.startswith(b"-----"))
            out("FuzzSSHSIG", f"{tag}-{name}.blob", base64.b64decode(body))


def every_key_type_seeds(tmp):
    """Public keys of the types keysmith reads but does not generate, as OpenSSH 9.2 writes them:
    DSA (ssh-keygen -t dsa), security keys (the blobs built by hand, PROTOCOL.u2f: type, key,
    application; ssh-keygen -l reads them without a token) and certificates of each type
    (ssh-keygen -s, user and host), one with a broken CA signature; then key-line files holding
    them, and lines keysmith cannot read (SSH-1 keys, unknown types, damaged keys)."""
    def pub_of(path):
        return open(path).read().strip()

    def blob_of(line):
        return base64.b64decode(line.split()[1])

    def field(blob, index):
        at = 0
        for _ in range(index):
            at += 4 + struct.unpack(">I", blob[at:at + 4])[0]
        return blob[at + 4:at + 4 + struct.unpack(">I", blob[at:at + 4])[0]]

    lines = {}
    for t, bits in [("ed25519", None), ("ecdsa", "256"), ("rsa", "1024"), ("dsa", None)]:
        tag = t + (bits or ("1024" if t == "dsa" else ""))
        path = os.path.join(tmp, f"every-{tag}")
        run("ssh-keygen", "-q", "-t", t, "-N", "", "-C", f"seed {tag}", "-f", path, *(["-b", bits] if bits else []))
        lines[tag] = pub_of(path + ".pub")
    ecdsa_point = field(blob_of(lines["ecdsa256"]), 2)
    sk = {
        "sk-ed25519": ("sk-ssh-ed25519@openssh.com", string(bytes(range(32))) + string("ssh:")),
        "sk-ecdsa256": ("sk-ecdsa-sha2-nistp256@openssh.com", string("nistp256") + string(ecdsa_point) + string("ssh:")),
    }
    for tag, (name, rest) in sk.items():
        lines[tag] = f"{name} {base64.b64encode(string(name) + rest).decode()} seed {tag}"
        with open(os.path.join(tmp, f"every-{tag}.pub"), "w") as f:
            f.write(lines[tag] + "\n")
    for tag, line in list(lines.items()):
        if tag in ("ed25519", "ecdsa256", "rsa1024"):
            continue  # seeded above
        out("FuzzPublicKey", f"{tag}.pub", line + "\n")
        out("FuzzPublicKey", f"{tag}.blob", blob_of(line))
    out("FuzzPublicKey", "dsa1024.rfc4716", run("ssh-keygen", "-e", "-m", "RFC4716", "-f", os.path.join(tmp, "every-dsa1024.pub")))
    out("FuzzPublicKey", "dsa1024.pem", run("ssh-keygen", "-e", "-m", "PKCS8", "-f", os.path.join(tmp, "every-dsa1024.pub")))

    ca = os.path.join(tmp, "every-ca")
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "seed ca", "-f", ca)
    certs = {}
    for tag in list(lines):
        pub = os.path.join(tmp, f"every-{tag}.pub")
        run("ssh-keygen", "-q", "-s", ca, "-I", f"seed {tag}", "-n", "me,you", "-z", "7", "-V", "20200101:20990101", pub)
        certs[tag] = pub_of(os.path.join(tmp, f"every-{tag}-cert.pub"))
        out("FuzzPublicKey", f"{tag}-cert.pub", certs[tag] + "\n")
        out("FuzzPublicKey", f"{tag}-cert.blob", blob_of(certs[tag]))
    host = os.path.join(tmp, "every-ecdsa256.pub")
    run("ssh-keygen", "-q", "-s", ca, "-h", "-I", "seed host", "-n", "host.example", "-O", "no-touch-required", host)
    out("FuzzPublicKey", "ecdsa256-host-cert.pub", open(os.path.join(tmp, "every-ecdsa256-cert.pub"), "rb").read())
    broken = bytearray(blob_of(certs["ed25519"]))
    broken[-1] ^= 1
    out("FuzzPublicKey", "ed25519-cert-bad-signature.blob", bytes(broken))
    out("FuzzPublicKey", "ed25519-cert-bad-signature.pub",
        f"ssh-ed25519-cert-v01@openssh.com {base64.b64encode(bytes(broken)).decode()} broken\n")

    sk_ca = lines["sk-ed25519"]
    out("FuzzKeyLines", "authorized_keys-every-type",
        "".join(f"{lines[t]}\n" for t in lines)
        + f'no-touch-required,verify-required {lines["sk-ecdsa256"]}\n'
        + f'restrict,from="192.0.2.0/24" {lines["dsa1024"]}\n'
        + "".join(f"{certs[t]}\n" for t in certs)
        + f'cert-authority,principals="me" {sk_ca}\n'
        + f'cert-authority,no-touch-required {lines["dsa1024"]}\n')
    kh = os.path.join(tmp, "every-known_hosts")
    with open(kh, "w") as f:
        f.write("".join(f"host{i}.example,192.0.2.{i} {lines[t]}\n" for i, t in enumerate(lines))
                + f"@cert-authority *.example {sk_ca}\n@cert-authority *.example {lines['dsa1024']}\n"
                + f"@revoked old.example {lines['sk-ecdsa256']}\n"
                + f"[host.example]:2222 {certs['ed25519']}\n")
    out("FuzzKeyLines", "known_hosts-every-type", open(kh, "rb").read())
    run("ssh-keygen", "-q", "-H", "-f", kh)
    out("FuzzKeyLines", "known_hosts-every-type-hashed", open(kh, "rb").read())
    out("FuzzKeyLines", "allowed_signers-every-type",
        f"me@example {lines['sk-ed25519']}\nyou@example {lines['sk-ecdsa256']}\n"
        f"*@example cert-authority {sk_ca}\nold@example {lines['dsa1024']}\n")
    unknown = string("x-new@example.com") + string(bytes(32))
    out("FuzzKeyLines", "unreadable-lines",
        "# comment\n\n1024 35 1234567 ssh1@old\nhost.example 1024 35 1234567\n"
        f"x-new@example.com {base64.b64encode(unknown).decode()} unknown type\n"
        f"ssh-ed25519 AAAA!!!! damaged\nssh-rsa {lines['ed25519'].split()[1]} mislabelled\n"
        f"ssh-dss\n{lines['sk-ed25519'].split()[0]} {lines['sk-ed25519'].split()[1][:-8]} truncated\n"
        f'no-pty from="x" {lines["ed25519"]} two words of options\ngarbage\n')


tmp = tempfile.mkdtemp(prefix="keysmith-seeds-")
try:
    # --- private and public key files -------------------------------------------------
    types = [("ed25519", None), ("ecdsa", "256"), ("ecdsa", "384"), ("rsa", "1024")]
    for t, bits in types:
        tag = t + (bits or "")
        for fmt, extra in [("openssh", []), ("pem", ["-m", "PEM"]), ("pkcs8", ["-m", "PKCS8"])]:
            if t == "ed25519" and fmt != "openssh":
                continue
            for enc, pw in [("plain", ""), ("encrypted", "fuzz-passphrase")]:
                path = os.path.join(tmp, f"{tag}-{fmt}-{enc}")
                args = ["ssh-keygen", "-q", "-t", t, "-N", pw, "-C", f"seed {tag}", "-f", path] + extra
                if bits:
                    args += ["-b", bits]
                if pw:
                    args += ["-a", "2"]
                run(*args)
                out("FuzzPrivateKey", f"{tag}-{fmt}-{enc}", open(path, "rb").read())
        pub = os.path.join(tmp, f"{tag}-openssh-plain.pub")
        out("FuzzPublicKey", f"{tag}.pub", open(pub, "rb").read())
        for m in ["RFC4716", "PEM", "PKCS8"]:
            if t == "ed25519" and m != "RFC4716":
                continue  # ssh-keygen has no PEM form of an Ed25519 public key
            out("FuzzPublicKey", f"{tag}.{m.lower()}", run("ssh-keygen", "-e", "-m", m, "-f", pub))
        blob = base64.b64decode(open(pub).read().split()[1])
        out("FuzzPublicKey", f"{tag}.blob", blob)
    gcm = os.path.join(tmp, "gcm")
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "fuzz-passphrase", "-a", "2", "-Z", "aes256-gcm@openssh.com", "-f", gcm)
    out("FuzzPrivateKey", "ed25519-openssh-aes256gcm-encrypted", open(gcm, "rb").read())
    chacha = os.path.join(tmp, "chacha")
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "fuzz-passphrase", "-a", "2", "-Z", "chacha20-poly1305@openssh.com", "-f", chacha)
    out("FuzzPrivateKey", "ed25519-openssh-chacha-encrypted", open(chacha, "rb").read())

    pubs = {t: open(os.path.join(tmp, f"{t}-openssh-plain.pub")).read().strip() for t in ["ed25519", "ecdsa256", "rsa1024"]}
    every_key_type_seeds(tmp)
    security_key_seeds(tmp)

    # --- authorized_keys, known_hosts, allowed_signers --------------------------------
    out("FuzzKeyLines", "authorized_keys",
        f"# comment\n{pubs['ed25519']}\n"
        f'restrict,command="echo hi",from="192.0.2.0/24,!192.0.2.9",expiry-time="20990101" {pubs["ecdsa256"]}\n'
        f'no-pty,permitopen="host:22",environment="A=b",principals="a,b",cert-authority {pubs["rsa1024"]}\n'
        f'from="*.example,2001:db8::/32",no-port-forwarding {pubs["ed25519"]}\n')
    kh = os.path.join(tmp, "known_hosts")
    with open(kh, "w") as f:
        f.write(f"host.example,192.0.2.7 {pubs['ed25519']}\n[host.example]:2222 {pubs['ecdsa256']}\n"
                f"@cert-authority *.example {pubs['rsa1024']}\n@revoked old.example {pubs['ed25519']}\n"
                f"!bad.example,*.example {pubs['ecdsa256']}\n")
    out("FuzzKeyLines", "known_hosts", open(kh, "rb").read())
    run("ssh-keygen", "-q", "-H", "-f", kh)
    out("FuzzKeyLines", "known_hosts-hashed", open(kh, "rb").read())
    out("FuzzKeyLines", "allowed_signers",
        f"me@example {pubs['ed25519']}\n"
        f'*@example,!bad@example namespaces="file,git",valid-after="20200101",valid-before="20990101Z" {pubs["ecdsa256"]}\n'
        f"ca@example cert-authority {pubs['rsa1024']}\n")

    # --- SSHSIG -----------------------------------------------------------------------
    message = os.path.join(tmp, "message")
    with open(message, "w") as f:
        f.write("fuzz\n")
    for t in ["ed25519", "ecdsa256", "rsa1024"]:
        key = os.path.join(tmp, f"{t}-openssh-plain")
        run("ssh-keygen", "-q", "-Y", "sign", "-f", key, "-n", "file", message)
        armour = open(message + ".sig", "rb").read()
        os.remove(message + ".sig")
        out("FuzzSSHSIG", f"{t}.sig", armour)
        body = b"".join(l for l in armour.splitlines() if not l.startswith(b"-----"))
        out("FuzzSSHSIG", f"{t}.blob", base64.b64decode(body))

    # --- challenge tokens -------------------------------------------------------------
    if KEYSMITH:
        state = os.path.join(tmp, "state")
        for t in ["ed25519", "ecdsa256", "rsa1024"]:
            token = run(KEYSMITH, "challenge", "issue", "--state", state, "--audience", "fuzz.example").decode().strip()
            key = os.path.join(tmp, f"{t}-openssh-plain")
            response = run(KEYSMITH, "challenge", "respond", "-f", key, "--audience", "fuzz.example", token).decode()
            out("FuzzChallenge", f"{t}", token + "\n" + response)

    # --- transport: what a real sshd sends ---------------------------------------------
    hostkeys = []
    for t in ["ed25519", "ecdsa", "rsa"]:
        path = os.path.join(tmp, f"host_{t}")
        run("ssh-keygen", "-q", "-t", t, "-N", "", "-f", path)
        hostkeys.append(path)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = os.path.join(tmp, "sshd_config")
    with open(config, "w") as f:
        f.write("".join(f"HostKey {p}\n" for p in hostkeys))
        f.write(f"ListenAddress 127.0.0.1\nPort {port}\nPidFile {tmp}/sshd.pid\nUsePAM no\n")
    os.makedirs("/run/sshd", exist_ok=True)
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        dh14 = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
                   "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                   "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
                   "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
                   "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
                   "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
        for kex, hk in [("curve25519-sha256", "ssh-ed25519"), ("curve25519-sha256", "ecdsa-sha2-nistp256"),
                        ("diffie-hellman-group14-sha256", "rsa-sha2-512"), ("curve25519-sha256,kex-strict-c-v00@openssh.com", "rsa-sha2-256")]:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.sendall(b"SSH-2.0-seed\r\n")
            kexinit = (bytes([20]) + bytes(16) + string(kex) + string(hk) + string("aes128-ctr") * 2
                       + string("hmac-sha2-256") * 2 + string("none") * 2 + string("") * 2 + b"\0" + u32(0))
            c.sendall(packet(kexinit))
            if kex.startswith("curve"):
                c.sendall(packet(bytes([30]) + string(bytes(rng.randrange(256) for _ in range(32)))))
            else:
                e = rng.randrange(2 ** 1000, dh14 - 1).to_bytes(256, "big")
                c.sendall(packet(bytes([30]) + string(b"\0" + e)))
            received = b""
            deadline = time.time() + 5
            while time.time() < deadline:
                try:
                    chunk = c.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                received += chunk
                # banner, KEXINIT, kex reply and NEWKEYS (a 16-byte packet) are in.
                if received.endswith(packet(bytes([21]))[-12:]) or len(received) > 8000:
                    c.settimeout(0.3)
            c.close()
            name = kex.split(",")[0] + "-" + hk
            out("FuzzTransport", name, received)
            banner_end = received.index(b"\n") + 1
            out("FuzzPacket", name, b"\0" + received[banner_end:])
            out("FuzzPacket", name + "-aes-ctr", b"\x10" + received[banner_end:])
            length = struct.unpack(">I", received[banner_end:banner_end + 4])[0]
            kexinit_packet = received[banner_end + 4:banner_end + 4 + length]
            out("FuzzKexInit", name, kexinit_packet[1:len(kexinit_packet) - kexinit_packet[0]][1:])
        # What OpenSSH's ssh sends a server: a recording proxy between ssh and the sshd.
        import threading
        for kex, hk in [("curve25519-sha256", "ssh-ed25519"), ("ecdh-sha2-nistp256", "ecdsa-sha2-nistp256"),
                        ("diffie-hellman-group14-sha256", "rsa-sha2-512")]:
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            recorded = []

            def proxy():
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", port))
                for s_ in (client, server):
                    s_.settimeout(0.2)
                deadline = time.time() + 4
                while time.time() < deadline:
                    for src, dst, keep in ((client, server, True), (server, client, False)):
                        try:
                            chunk = src.recv(65536)
                        except socket.timeout:
                            continue
                        if not chunk:
                            deadline = 0
                            break
                        if keep:
                            recorded.append(chunk)
                        dst.sendall(chunk)
                client.close()
                server.close()

            thread = threading.Thread(target=proxy)
            thread.start()
            subprocess.run(["ssh", "-F", "/dev/null", "-p", str(listener.getsockname()[1]), "-o", "BatchMode=yes",
                            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            "-o", f"KexAlgorithms={kex}", "-o", f"HostKeyAlgorithms={hk}", "-o", "ConnectTimeout=5",
                            "-o", "IdentityFile=/dev/null", "-o", "IdentitiesOnly=yes",
                            "nobody@127.0.0.1", "true"], capture_output=True, timeout=20)
            thread.join()
            listener.close()
            out("FuzzServerTransport", f"{kex}-{hk}", b"".join(recorded))
    finally:
        sshd.terminate()
        sshd.wait()
    out("FuzzTransport", "preamble-lines", b"hello\r\nsecond line\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")

    # --- user authentication (RFC 4252, as OpenSSH sends it) ---------------------------
    accept = bytes([6]) + string("ssh-userauth")
    failure = bytes([51]) + string("publickey,password,keyboard-interactive") + b"\0"
    pk_ok = bytes([60]) + string("ssh-ed25519") + string(base64.b64decode(pubs["ed25519"].split()[1]))
    info = (bytes([60]) + string("") + string("") + string("") + u32(2) + string("Password: ") + b"\0"
            + string("Code: ") + b"\1")
    banner = bytes([53]) + string("Authorised users only\n") + string("")
    out("FuzzUserAuth", "failure-then-success", framed([accept, failure, bytes([52])]))
    out("FuzzUserAuth", "pk-ok", framed([accept, failure, pk_ok, failure]))
    out("FuzzUserAuth", "password", framed([accept, banner, bytes([51]) + string("password") + b"\0",
                                            bytes([60]) + string("Password expired") + string(""), bytes([52])]))
    out("FuzzUserAuth", "keyboard-interactive",
        framed([accept, bytes([51]) + string("keyboard-interactive") + b"\0", info, bytes([51]) + string("keyboard-interactive") + b"\1", bytes([52])]))

    # --- server side: what a client sends after the key exchange (RFC 4252, RFC 4254) ------
    ed_blob = base64.b64decode(pubs["ed25519"].split()[1])
    request = bytes([50]) + string("me") + string("ssh-connection")
    out("FuzzServerUserAuth", "none-then-query", framed([
        bytes([5]) + string("ssh-userauth"), request + string("none"),
        request + string("publickey") + b"\0" + string("ssh-ed25519") + string(ed_blob)]))
    out("FuzzServerUserAuth", "signed", framed([
        bytes([5]) + string("ssh-userauth"),
        request + string("publickey") + b"\1" + string("ssh-ed25519") + string(ed_blob)
        + string(string("ssh-ed25519") + string(bytes(64)))]))
    out("FuzzServerUserAuth", "password-and-ki", framed([
        bytes([5]) + string("ssh-userauth"), request + string("password") + b"\0" + string("secret"),
        request + string("keyboard-interactive") + string("") + string(""),
        bytes([61]) + u32(1) + string("answer")]))
    out("FuzzServerSession", "exec", framed([
        bytes([90]) + string("session") + u32(0) + u32(2097152) + u32(32768),
        bytes([98]) + u32(0) + string("env") + b"\0" + string("LANG") + string("C"),
        bytes([98]) + u32(0) + string("exec") + b"\1" + string("id"),
        bytes([93]) + u32(0) + u32(4096), bytes([94]) + u32(0) + string("input"), bytes([96]) + u32(0),
        bytes([97]) + u32(0)]))
    out("FuzzServerSession", "pty-shell", framed([
        bytes([90]) + string("session") + u32(3) + u32(65536) + u32(16384),
        bytes([98]) + u32(0) + string("pty-req") + b"\1" + string("xterm") + u32(80) + u32(24) + u32(0) + u32(0)
        + string(b"\0"),
        bytes([98]) + u32(0) + string("shell") + b"\1", bytes([80]) + string("keepalive@openssh.com") + b"\1",
        bytes([98]) + u32(0) + string("window-change") + b"\0" + u32(100) + u32(40) + u32(0) + u32(0)]))
    out("FuzzServerSession", "subsystem-and-open-failure", framed([
        bytes([90]) + string("direct-tcpip") + u32(1) + u32(65536) + u32(16384) + string("h") + u32(22)
        + string("127.0.0.1") + u32(5000),
        bytes([90]) + string("session") + u32(0) + u32(65536) + u32(16384),
        bytes([98]) + u32(0) + string("subsystem") + b"\1" + string("sftp")]))

    # --- connection layer (RFC 4254, as OpenSSH sends it) ------------------------------
    def confirm(ch, remote):
        return bytes([91]) + u32(ch) + u32(remote) + u32(2097152) + u32(32768)
    exit_status = bytes([98]) + u32(0) + string("exit-status") + b"\0" + u32(3)
    out("FuzzConnection", "exec", framed([
        confirm(0, 5), bytes([99]) + u32(0), bytes([93]) + u32(0) + u32(65536),
        bytes([94]) + u32(0) + string("hello\n"), bytes([95]) + u32(0) + u32(1) + string("oops\n"),
        exit_status, bytes([96]) + u32(0), bytes([97]) + u32(0)]))
    out("FuzzConnection", "open-failure", framed([bytes([92]) + u32(0) + u32(1) + string("prohibited") + string(""),
                                                  confirm(1, 6), bytes([97]) + u32(1)]))
    out("FuzzConnection", "global-and-signal", framed([
        bytes([80]) + string("hostkeys-00@openssh.com") + b"\0" + string("x"), confirm(0, 1),
        bytes([98]) + u32(0) + string("exit-signal") + b"\0" + string("KILL") + b"\1" + string("killed") + string(""),
        bytes([98]) + u32(0) + string("keepalive@openssh.com") + b"\1", bytes([97]) + u32(0)]))

    # --- SFTP: OpenSSH's sftp-server's replies -----------------------------------------
    def sftp(type_, id_, body=b""):
        p = bytes([type_]) + (u32(id_) if id_ is not None else b"") + body
        return u32(len(p)) + p
    workdir = os.path.join(tmp, "sftp")
    os.makedirs(workdir)
    with open(os.path.join(workdir, "authorized_keys"), "w") as f:
        f.write(pubs["ed25519"] + "\n")
    requests = (
        sftp(1, None, u32(3))  # INIT
        + sftp(16, 1, string("."))  # REALPATH
        + sftp(17, 2, string("authorized_keys"))  # STAT
        + sftp(7, 3, string("missing"))  # LSTAT of a missing file
        + sftp(3, 4, string("authorized_keys") + u32(1) + u32(0))  # OPEN read
        + sftp(5, 5, string(b"\0\0\0\0") + struct.pack(">Q", 0) + u32(4096))  # READ on handle 0
        + sftp(4, 6, string(b"\0\0\0\0"))  # CLOSE
        + sftp(14, 7, string("sub") + u32(4) + u32(0o700))  # MKDIR
        + sftp(200, 8, string("posix-rename@openssh.com") + string("authorized_keys") + string("ak2"))
    )
    # sftp-server drops unsent replies at end of input: keep stdin open until they are read.
    server = subprocess.Popen(["/usr/lib/openssh/sftp-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, cwd=workdir)
    server.stdin.write(requests)
    server.stdin.flush()
    replies = b""
    os.set_blocking(server.stdout.fileno(), False)
    deadline = time.time() + 3
    while time.time() < deadline:
        chunk = server.stdout.read()
        if chunk:
            replies += chunk
            deadline = min(deadline, time.time() + 0.5)
        time.sleep(0.05)
    server.stdin.close()
    server.wait()
    out("FuzzSFTP", "session", replies)
    offset = 0
    n = 0
    while offset + 4 <= len(replies):
        length = struct.unpack(">I", replies[offset:offset + 4])[0]
        out("FuzzSFTP", f"reply-{n}", replies[offset:offset + 4 + length])
        offset += 4 + length
        n += 1
finally:
    shutil.rmtree(tmp)

# FuzzEd25519: byte 0 picks the case (Ed25519Differential), 32 bytes of seed, then the
# message, whose last two bytes pick a position and a point of small order.
for i, name in enumerate(["valid", "flip-signature", "flip-message", "flip-key", "s-plus-order",
                          "small-order-r", "key-plus-order2", "key-plus-order8", "hand-signed", "raw",
                          "small-order-key", "s-near-order"]):
    seed = bytes((i * 37 + j * 11) % 256 for j in range(32))
    message = ("keysmith challenge " + name).encode() + bytes([i * 5 % 256, i * 9 % 256])
    out("FuzzEd25519", "%02d-%s" % (i, name), bytes([i]) + seed + message)


def krl_seeds(tmp):
    """FuzzKRL: KRLs as ssh-keygen -k writes them (serial lists, ranges, bitmaps, key IDs under a
    CA and under any CA, explicit keys, SHA-1 and SHA-256 hashes), the spec files they were made
    from, and an sshd RevokedKeys list of public keys."""
    def key(name, *args):
        run("ssh-keygen", "-q", "-N", "", "-C", name, "-f", os.path.join(tmp, name), *args)
        return open(os.path.join(tmp, name + ".pub")).read()
    ca = key("ca", "-t", "ed25519")
    k1 = key("k1", "-t", "ed25519")
    k2 = key("k2", "-t", "ecdsa")
    k3 = key("k3", "-t", "rsa", "-b", "1024")
    specs = {
        "serials": "serial: 1-3\nserial: 9\nserial: 100-199\n"
                   + "".join("serial: %d\n" % s for s in range(1000, 1300, 3)),
        "ids": "id: alice\nid: bob\nserial: 0x10\n",
        "keys": "key: " + k1 + "sha1: " + k2 + "sha256: " + k3,
    }
    for name, spec in specs.items():
        path = os.path.join(tmp, name + ".spec")
        open(path, "w").write(spec)
        out("FuzzKRL", "spec-" + name, spec)
        krl = os.path.join(tmp, name + ".krl")
        run("ssh-keygen", "-k", "-f", krl, "-s", "none" if name == "ids" else os.path.join(tmp, "ca.pub"),
            "-z", "3", path)
        out("FuzzKRL", "krl-" + name, open(krl, "rb").read())
    everything = os.path.join(tmp, "all.krl")
    run("ssh-keygen", "-k", "-f", everything, "-s", os.path.join(tmp, "ca.pub"),
        *[os.path.join(tmp, n + ".spec") for n in specs])
    out("FuzzKRL", "krl-everything", open(everything, "rb").read())
    out("FuzzKRL", "revoked-keys-list", "# revoked\n" + k1 + ca)


tmp = tempfile.mkdtemp()
try:
    krl_seeds(tmp)
finally:
    shutil.rmtree(tmp)
