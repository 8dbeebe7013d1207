#!/bin/sh
# Whole-process comparisons of keysmith with ssh-keygen and ssh-copy-id on the same
# machine, in the same run: the two commands of each pair are alternated, and the
# table shows each side's median time and the median of the per-pair ratios
# (ours / theirs). RSA generation, whose prime search is random, is compared by the
# ratio of total times instead. As root with sshd, useradd, sshpass and ssh-copy-id
# installed, a throwaway sshd and account on 127.0.0.1 also time a first deploy
# (keysmith copy-id against ssh-copy-id, both with the account's password).
# `keysmith serve` is timed answering OpenSSH logins (and keysmith's own client's, with
# SERVE_LOAD), parallel and one at a time.
#
#   scripts/bench.sh [KEYSMITH] [RUNS]
#
# RSA_RUNS, SERVE_LOGINS, SERVE_PARALLEL and SERVE_CLIENT_LOGINS tune the rest. BENCH_BIN
# names the directory of the Benchmarks package's release executables (make bench builds
# them): serve-load for the keysmith-client rows of serve, and challenge-rate and
# ed25519-libraries for the server-side tables at the end. SERVE_ONLY=1 runs the serve
# rows (and those tables) alone.
set -eu
KEYSMITH=${1:-keysmith}
RUNS=${2:-21}
RSA_RUNS=${RSA_RUNS:-20}
SERVE_LOGINS=${SERVE_LOGINS:-200}
SERVE_PARALLEL=${SERVE_PARALLEL:-8}
SERVE_CLIENT_LOGINS=${SERVE_CLIENT_LOGINS:-2000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/keysmith-bench.XXXXXX")
shm=""
serve_pid=""
. "$(dirname "$0")/local-sshd.sh"
cleanup() {
    if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; fi
    stop_local_sshd
    rm -rf "$dir"
    if [ -n "$shm" ]; then rm -rf "$shm"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s%N; }
med() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# pair NAME OURS THEIRS [PREP]: alternate the two commands RUNS times (each in
# sh -c; PREP, if given, runs untimed before each of them).
pair() {
    name=$1; ours=$2; theirs=$3; prep=${4:-true}
    : > "$dir/o"; : > "$dir/t"; : > "$dir/r"
    i=0
    while [ $i -lt "$RUNS" ]; do
        sh -c "$prep"
        a=$(now); sh -c "$ours" >/dev/null 2>&1 || echo "keysmith failed: $ours" >&2; b=$(now)
        sh -c "$prep"
        c=$(now); sh -c "$theirs" >/dev/null 2>&1 || echo "reference failed: $theirs" >&2; d=$(now)
        o=$((b - a)); t=$((d - c))
        echo "$o" >> "$dir/o"; echo "$t" >> "$dir/t"
        echo "$o $t" | awk '{ printf "%.6f\n", $1 / $2 }' >> "$dir/r"
        i=$((i + 1))
    done
    printf '| %s | %.1f ms | %.1f ms | %.2f |\n' "$name" \
        "$(med "$dir/o" | awk '{ print $1 / 1e6 }')" "$(med "$dir/t" | awk '{ print $1 / 1e6 }')" "$(med "$dir/r")"
}

# total NAME N OURS THEIRS: alternate N times; mean times and the ratio of the totals.
total() {
    name=$1; n=$2; ours=$3; theirs=$4
    to=0; tt=0; i=0
    while [ $i -lt "$n" ]; do
        a=$(now); sh -c "$ours" >/dev/null 2>&1 || echo "keysmith failed: $ours" >&2; b=$(now)
        sh -c "$theirs" >/dev/null 2>&1 || echo "reference failed: $theirs" >&2; c=$(now)
        to=$((to + b - a)); tt=$((tt + c - b))
        i=$((i + 1))
    done
    printf '| %s | %.1f ms | %.1f ms | %.2f (totals of %d runs) |\n' "$name" \
        "$(echo "$to $n" | awk '{ print $1 / $2 / 1e6 }')" "$(echo "$tt $n" | awk '{ print $1 / $2 / 1e6 }')" \
        "$(echo "$to $tt" | awk '{ print $1 / $2 }')" "$n"
}

ssh-keygen -q -t ed25519 -N '' -C bench -f "$dir/ed"
ssh-keygen -q -t ed25519 -N 'bench pass' -a 32 -C bench -f "$dir/ed32"
ssh-keygen -q -t ed25519 -N 'bench pass' -a 64 -C bench -f "$dir/ed64"
i=0; : > "$dir/ak"
while [ $i -lt 2000 ]; do cat "$dir/ed.pub" >> "$dir/ak"; i=$((i + 1)); done
i=0; : > "$dir/ak20k"
while [ $i -lt 10 ]; do cat "$dir/ak" >> "$dir/ak20k"; i=$((i + 1)); done

echo "| operation | keysmith | OpenSSH | ratio |"
echo "|---|---|---|---|"
if [ "${SERVE_ONLY:-0}" != 1 ]; then
    pair "fingerprint of one key" "$KEYSMITH fingerprint -f $dir/ed.pub" "ssh-keygen -l -f $dir/ed.pub"
    pair "Ed25519 generation, no passphrase" "rm -f $dir/g1 $dir/g1.pub; $KEYSMITH generate -q -t ed25519 -N '' -f $dir/g1" "rm -f $dir/g2 $dir/g2.pub; ssh-keygen -q -t ed25519 -N '' -f $dir/g2"
    # keysmith fsyncs both files and the directory (DESIGN.md: files are written
    # atomically and durably); ssh-keygen does not. On tmpfs fsync costs nothing, so
    # this row shows the difference without it.
    if [ -d /dev/shm ] && shm=$(mktemp -d /dev/shm/keysmith-bench.XXXXXX 2>/dev/null); then
        pair "Ed25519 generation, no passphrase, on tmpfs" "rm -f $shm/g1 $shm/g1.pub; $KEYSMITH generate -q -t ed25519 -N '' -f $shm/g1" "rm -f $shm/g2 $shm/g2.pub; ssh-keygen -q -t ed25519 -N '' -f $shm/g2"
    fi
    pair "Ed25519 generation, passphrase, -a 32" "rm -f $dir/g1 $dir/g1.pub; $KEYSMITH generate -q -t ed25519 -N pw -a 32 -f $dir/g1" "rm -f $dir/g2 $dir/g2.pub; ssh-keygen -q -t ed25519 -N pw -a 32 -f $dir/g2"
    pair "decrypt (public -y), -a 32" "$KEYSMITH public -f $dir/ed32 -P 'bench pass'" "ssh-keygen -y -f $dir/ed32 -P 'bench pass'"
    pair "decrypt (public -y), -a 64" "$KEYSMITH public -f $dir/ed64 -P 'bench pass'" "ssh-keygen -y -f $dir/ed64 -P 'bench pass'"
    pair "fingerprint of 20,000-line authorized_keys" "$KEYSMITH fingerprint -f $dir/ak20k" "ssh-keygen -l -f $dir/ak20k"
    total "RSA-3072 generation" "$RSA_RUNS" "rm -f $dir/r1 $dir/r1.pub; $KEYSMITH generate -q -t rsa -b 3072 -N '' -f $dir/r1" "rm -f $dir/r2 $dir/r2.pub; ssh-keygen -q -t rsa -b 3072 -N '' -f $dir/r2"
fi

# ---- keysmith serve on 127.0.0.1 (no root needed) ------------------------------------
# SERVE_LOGINS OpenSSH logins, SERVE_PARALLEL at a time: each ssh process spends far more
# CPU than the server does for it (about 20 ms against 1-2 ms), and the clients share the
# cores with the server, so this row is a floor for the server's own rate. With BENCH_BIN
# (serve-load, Benchmarks/ServeLoad, built by `make bench`) the same logins are also made by
# keysmith's own client, threads in one process, which measures the server. Server CPU
# per login is the server process's utime + stime (/proc/PID/stat, every thread).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
serve_port=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$dir/serve_host"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$dir/serve_id"
cp "$dir/serve_id.pub" "$dir/serve_authorized_keys"
"$KEYSMITH" serve -p "$serve_port" --listen 127.0.0.1 --host-key "$dir/serve_host" \
    --authorized-keys "$dir/serve_authorized_keys" --max-startups 100 --log-level error 2>"$dir/serve.log" &
serve_pid=$!
i=0
until ssh-keyscan -p "$serve_port" 127.0.0.1 2>/dev/null > "$dir/serve_known"; [ -s "$dir/serve_known" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$serve_pid" 2>/dev/null; then cat "$dir/serve.log" >&2; exit 1; fi
    sleep 0.1
done
login="ssh -F /dev/null -i $dir/serve_id -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$dir/serve_known -p $serve_port bench@127.0.0.1 true"
cat > "$dir/logins.sh" <<SCRIPT
n=0; ok=0
while [ \$n -lt $SERVE_LOGINS ]; do
    pids=""
    j=0
    while [ \$j -lt $SERVE_PARALLEL ] && [ \$n -lt $SERVE_LOGINS ]; do
        $login >/dev/null 2>&1 &
        pids="\$pids \$!"
        j=\$((j + 1)); n=\$((n + 1))
    done
    for p in \$pids; do if wait \$p; then ok=\$((ok + 1)); fi; done
done
echo \$ok
SCRIPT
c0=$(cpu_ticks "$serve_pid"); a=$(now); ok=$(sh "$dir/logins.sh"); b=$(now); c1=$(cpu_ticks "$serve_pid")
printf '| serve: OpenSSH ssh logins, %d at a time | %.0f per second (%d of %d), server CPU %.2f ms per login | | |\n' \
    "$SERVE_PARALLEL" "$(echo "$ok $a $b" | awk '{ print $1 / (($3 - $2) / 1e9) }')" "$ok" "$SERVE_LOGINS" \
    "$(echo "$c0 $c1 $ticks_per_second $ok" | awk '{ print ($2 - $1) / $3 * 1000 / ($4 > 0 ? $4 : 1) }')"
# One OpenSSH login at a time: the wall time of each, median of RUNS.
: > "$dir/o"
i=0
while [ $i -lt "$RUNS" ]; do
    a=$(now); $login >/dev/null 2>&1 || echo "login failed" >&2; b=$(now)
    echo $((b - a)) >> "$dir/o"
    i=$((i + 1))
done
printf '| serve: one OpenSSH ssh login at a time | %.1f ms per login (median of %d) | | |\n' \
    "$(med "$dir/o" | awk '{ print $1 / 1e6 }')" "$RUNS"
SERVE_LOAD=${BENCH_BIN:-/nonexistent}/serve-load
if [ -x "$SERVE_LOAD" ]; then
    for c in "$SERVE_PARALLEL" 1; do
        out=$("$SERVE_LOAD" -p "$serve_port" -i "$dir/serve_id" -c "$c" -n "$SERVE_CLIENT_LOGINS" --server-pid "$serve_pid")
        field() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
        printf '| serve: keysmith client logins, %d at a time | %.0f per second (%d of %d), server CPU %.2f ms, client CPU %.2f ms per login, p50 %.1f ms | | |\n' \
            "$c" "$(field per_second)" "$(field logins)" "$SERVE_CLIENT_LOGINS" "$(field server_cpu_ms_per_login)" \
            "$(field client_cpu_ms_per_login)" "$(field p50_ms)"
    done
else
    echo "(no serve-load in BENCH_BIN: the keysmith-client rows for serve are skipped; make bench builds it)"
fi
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
serve_pid=""

# ---- in-process, one thread: challenge verifications and Ed25519 per CPU-second --------
if [ -x "${BENCH_BIN:-/nonexistent}/challenge-rate" ]; then
    echo
    "$BENCH_BIN/challenge-rate" 20000
fi
if [ -x "${BENCH_BIN:-/nonexistent}/ed25519-libraries" ]; then
    echo
    "$BENCH_BIN/ed25519-libraries" 20000
fi
if [ "${SERVE_ONLY:-0}" = 1 ]; then exit 0; fi
echo
echo "| operation | keysmith | OpenSSH | ratio |"
echo "|---|---|---|---|"

# ---- over SSH: a throwaway sshd and account, as scripts/demo.sh makes them ----------
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v useradd >/dev/null 2>&1 ||
    ! command -v sshpass >/dev/null 2>&1 || ! command -v ssh-copy-id >/dev/null 2>&1; then
    echo
    echo "(first deploy needs root, sshd, useradd, sshpass and ssh-copy-id: skipped)"
    exit 0
fi
start_local_sshd ksbench 'MaxStartups 100'
known="$dir/known_hosts"
ssh-keyscan -p "$port" 127.0.0.1 2>/dev/null > "$known"
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$dir/deploy"
# Both tools: the account's password, the same known_hosts, no agent, no ssh_config,
# an empty local ~/.ssh (ssh-copy-id keeps its temporary files there); the account's
# ~/.ssh is removed before each run so that every deploy is a first one.
mkdir -p "$dir/home/.ssh"
chmod 700 "$dir/home/.ssh"
opts="-p $port -o UserKnownHostsFile=$known -o StrictHostKeyChecking=yes"
env="HOME=$dir/home SSH_AUTH_SOCK="
pair "first deploy (copy-id vs ssh-copy-id, password)" \
    "printf '%s\n' '$password' | $env $KEYSMITH copy-id -i $dir/deploy.pub -F /dev/null $opts --password-stdin $sshd_user@127.0.0.1" \
    "$env sshpass -p '$password' ssh-copy-id -i $dir/deploy.pub -F /dev/null $opts $sshd_user@127.0.0.1" \
    "rm -rf $sshd_home/.ssh"
