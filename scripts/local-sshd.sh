# Sourced by demo.sh and bench.sh: a throwaway OpenSSH sshd on 127.0.0.1 with its own
# host key and config under $dir, and a throwaway account with a random password.
sshd_pid=""
sshd_user=""

# free_port: a TCP port on 127.0.0.1 that nothing listens on.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_local_sshd PREFIX [CONFIG-LINE...]: creates the account PREFIX + 6 hex digits,
# writes $dir/sshd/sshd_config (with the extra lines), starts sshd and waits until it
# listens. Sets port, password, sshd_user, sshd_home and sshd_pid.
start_local_sshd() {
    mkdir -p "$dir/sshd" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$dir/sshd/host_ed25519"
    port=$(free_port)
    sshd_user="$1$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
    shift
    password="pw-$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')"
    useradd -m -s /bin/sh "$sshd_user"
    printf '%s:%s\n' "$sshd_user" "$password" | chpasswd
    sshd_home=$(getent passwd "$sshd_user" | cut -d: -f6)
    cat > "$dir/sshd/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/sshd/host_ed25519
PidFile $dir/sshd/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes yes
AllowUsers $sshd_user
CONFIG
    for line in "$@"; do printf '%s\n' "$line" >> "$dir/sshd/sshd_config"; done
    /usr/sbin/sshd -D -e -f "$dir/sshd/sshd_config" 2>"$dir/sshd/log" &
    sshd_pid=$!
    i=0
    until grep -q "Server listening" "$dir/sshd/log" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$sshd_pid" 2>/dev/null; then cat "$dir/sshd/log" >&2; exit 1; fi
        sleep 0.1
    done
}

# stop_local_sshd: stops sshd and deletes the account, whichever were started.
stop_local_sshd() {
    if [ -n "$sshd_pid" ]; then
        kill "$sshd_pid" 2>/dev/null || true
        wait "$sshd_pid" 2>/dev/null || true
        sshd_pid=""
    fi
    if [ -n "$sshd_user" ]; then
        pkill -u "$sshd_user" 2>/dev/null || true
        userdel -r -f "$sshd_user" 2>/dev/null || true
        sshd_user=""
    fi
}
