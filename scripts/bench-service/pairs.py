#!/usr/bin/env python3
"""Pre-generates N verification request bodies for make bench-service.

Tokens are made here with the store's secret (a file holding its 32 bytes: the state
directory's `secret`, or the PostgreSQL store's, which bench-service.sh reads out with
psql), as ChallengeVerifier.issue
makes them (Sources/KeyVerify/ChallengeToken.swift: version 2, nonce, issue and expiry
times, audience, HMAC-SHA256), since issuing tens of thousands through the API takes
minutes on a loaded machine; the service refuses any token it would not have issued, so
the bench's count of non-200 answers checks them. Each is answered with an Ed25519 SSHSIG
signature (PROTOCOL.sshsig) made with python3-cryptography; the first is checked with
ssh-keygen -Y check-novalidate, so the bench measures signatures OpenSSH accepts.

    pairs.py SECRET_FILE AUDIENCE KEY N OUT TTL
"""
import base64, hashlib, hmac, json, os, struct, subprocess, sys, tempfile, time

from cryptography.hazmat.primitives.serialization import load_ssh_private_key

secret_path, audience, key_path, count, out_path, ttl = (
    sys.argv[1], sys.argv[2].encode(), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
)
with open(secret_path, "rb") as f:
    secret = f.read()
NAMESPACE = b"challenge@keysmith"


def string(b):
    return struct.pack(">I", len(b)) + b


with open(key_path, "rb") as f:
    key = load_ssh_private_key(f.read(), password=None)
public_raw = key.public_key().public_bytes_raw()
public_blob = string(b"ssh-ed25519") + string(public_raw)


def sshsig(message):
    # PROTOCOL.sshsig: the signed data, then the blob, armoured at 70 columns.
    signed = b"SSHSIG" + string(NAMESPACE) + string(b"") + string(b"sha512") + string(hashlib.sha512(message).digest())
    signature = string(b"ssh-ed25519") + string(key.sign(signed))
    blob = (
        b"SSHSIG" + struct.pack(">I", 1) + string(public_blob) + string(NAMESPACE) + string(b"")
        + string(b"sha512") + string(signature)
    )
    text = base64.b64encode(blob).decode()
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


def issue(now):
    body = bytes([2]) + os.urandom(32) + struct.pack(">qq", now, now + ttl) + bytes([len(audience)]) + audience
    mac = hmac.new(secret, body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


now = int(time.time())
with open(out_path, "w") as out:
    for n in range(count):
        token = issue(now)
        response = sshsig(token.encode())
        if n == 0:
            with tempfile.NamedTemporaryFile("w", suffix=".sig") as sig:
                sig.write(response)
                sig.flush()
                subprocess.run(
                    ["ssh-keygen", "-q", "-Y", "check-novalidate", "-n", "challenge@keysmith", "-s", sig.name],
                    input=token.encode(), check=True,
                )
        out.write(json.dumps({"token": token, "response": response}) + "\n")
