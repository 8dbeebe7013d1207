#!/bin/sh
# The main job end to end on local defaults.
#
# 1. Keys: generate a passphrase-protected Ed25519 key, show its fingerprint and
#    randomart, read it back, and let OpenSSH's ssh-keygen confirm it reads the same key.
# 2. Deploy (as root): start a throwaway OpenSSH sshd on a loopback port with its own
#    host keys and config in a temporary folder and a throwaway user with a password,
#    deploy a new key with that password over keysmith's own SSH client, prove a login
#    with OpenSSH's `ssh -i NEWKEY`, list and remove the key, stop sshd, delete the user.
set -eu
KEYSMITH=${1:-keysmith}
dir=$(mktemp -d "${TMPDIR:-/tmp}/keysmith-demo.XXXXXX")
. "$(dirname "$0")/local-sshd.sh"
cleanup() {
    stop_local_sshd
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
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
    # Not `cmp && cmp`: set -e does not stop at a failure left of &&.
    if ! cmp -s "$dir/readback.pub" "$dir/openssh.pub" || ! cmp -s "$dir/readback.pub" "$key.pub"; then
        echo "demo: OpenSSH and keysmith disagree on the key." >&2
        exit 1
    fi
    echo "OpenSSH and keysmith agree on the key."
fi

# ---- 2. Deploy over SSH --------------------------------------------------------------
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v useradd >/dev/null 2>&1; then
    echo
    echo "(The deploy part needs root, sshd and useradd: run 'sudo make demo' to see it.)"
    exit 0
fi

echo
echo "== a throwaway sshd on 127.0.0.1 with its own host key, config and user"
start_local_sshd ksdemo
echo "sshd (pid $sshd_pid) listens on 127.0.0.1:$port; user $sshd_user has a password and no keys."

new="$dir/deploy_key"
known="$dir/known_hosts"
conn="-F /dev/null -p $port -o UserKnownHostsFile=$known"

echo
echo "== keysmith generate -t ed25519 -N '' -f $new"
"$KEYSMITH" generate -q -t ed25519 -N '' -C deploy@keysmith -f "$new"

echo
echo "== keysmith copy-id -i $new.pub -o StrictHostKeyChecking=accept-new --password-stdin $sshd_user@127.0.0.1"
# shellcheck disable=SC2086
printf '%s\n' "$password" | "$KEYSMITH" copy-id -v -i "$new.pub" $conn -o StrictHostKeyChecking=accept-new \
    --password-stdin "$sshd_user@127.0.0.1"

echo "== the same again: nothing to add"
# shellcheck disable=SC2086
printf '%s\n' "$password" | "$KEYSMITH" copy-id -i "$new.pub" $conn --password-stdin "$sshd_user@127.0.0.1"

echo
echo "== ssh -i $new $sshd_user@127.0.0.1   (OpenSSH logs in with the new key)"
ssh -F /dev/null -i "$new" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$known" -p "$port" "$sshd_user@127.0.0.1" \
    'echo "logged in as $(id -un); ~/.ssh/authorized_keys:"; ls -l ~/.ssh/authorized_keys'

echo
echo "== keysmith list-ids -o IdentityFile=$new $sshd_user@127.0.0.1   (keysmith logs in with the key)"
# shellcheck disable=SC2086
"$KEYSMITH" list-ids $conn -o IdentityFile="$new" -o BatchMode=yes "$sshd_user@127.0.0.1"

echo
echo "== keysmith remove-id -i $new.pub $sshd_user@127.0.0.1"
# shellcheck disable=SC2086
"$KEYSMITH" remove-id -i "$new.pub" $conn -o IdentityFile="$new" -o BatchMode=yes "$sshd_user@127.0.0.1"

if ssh -F /dev/null -i "$new" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$known" -p "$port" "$sshd_user@127.0.0.1" true 2>/dev/null; then
    echo "the key still logs in after remove-id" >&2
    exit 1
fi
echo "OpenSSH's login with the removed key is refused, as it should be."

echo
echo "== stopping sshd and deleting $sshd_user"
stop_local_sshd
echo "done."
