#!/bin/sh
# The main job end to end on local defaults: generate a passphrase-protected
# Ed25519 key, show its fingerprint and randomart, read it back, and let
# OpenSSH's ssh-keygen confirm it reads the same key.
set -eu
KEYSMITH=${1:-keysmith}
dir=$(mktemp -d "${TMPDIR:-/tmp}/keysmith-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
key="$dir/id_ed25519"
pass="demo passphrase"

echo "== keysmith generate -t ed25519 -f $key -N '…' -C demo@keysmith"
"$KEYSMITH" generate -t ed25519 -f "$key" -N "$pass" -C demo@keysmith

echo
echo "== keysmith fingerprint -v -f $key.pub"
"$KEYSMITH" fingerprint -v -f "$key.pub"

echo
echo "== keysmith public -f $key -P '…'   (decrypts the private key)"
"$KEYSMITH" public -f "$key" -P "$pass" | tee "$dir/readback.pub"

if command -v ssh-keygen >/dev/null 2>&1; then
    echo
    echo "== ssh-keygen -y -f $key -P '…'   (OpenSSH reads our file)"
    ssh-keygen -y -f "$key" -P "$pass" | tee "$dir/openssh.pub"
    cmp -s "$dir/readback.pub" "$dir/openssh.pub" && cmp -s "$dir/readback.pub" "$key.pub"
    echo "OpenSSH and keysmith agree on the key."
fi
