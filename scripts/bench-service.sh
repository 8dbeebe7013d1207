#!/bin/sh
# make bench-service: one keysmith-challenged replica on a directory store (STORE=directory,
# the default) or on PostgreSQL (STORE=postgres: Debian's PostgreSQL, a cluster of its own
# made with initdb in the temporary directory, default settings, over its Unix socket),
# loaded by wrk with pre-generated verifications (every one a real success), on this machine.
#
#   [STORE=postgres] scripts/bench-service.sh KEYSMITH_CHALLENGED [PAIRS] [CONNECTIONS] [THREADS] [SECONDS]
#
# PAIRS (100000) token/response pairs are made first (scripts/bench-service/pairs.py:
# tokens made with the state directory's secret, Ed25519 SSHSIG signatures from
# python3-cryptography, the first checked by ssh-keygen); wrk then sends each at most once
# over CONNECTIONS (32) connections from THREADS (2) threads for SECONDS (10), and the
# script prints verifications/s (tokens the service accepted in the run, over its length),
# p50/p99 latency and the non-200 count. A run that used up the pairs says so: its rate
# is then too low, and PAIRS must grow.
set -eu
SERVICE=${1:?usage: scripts/bench-service.sh KEYSMITH_CHALLENGED [PAIRS] [CONNECTIONS] [THREADS] [SECONDS]}
PAIRS=${2:-100000}
CONNECTIONS=${3:-32}
THREADS=${4:-2}
SECONDS_=${5:-10}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/keysmith-bench-service.XXXXXX")
STORE=${STORE:-directory}
pid=""
pgbin=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$pgbin" ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

ssh-keygen -q -t ed25519 -N '' -C bench@keysmith -f "$dir/key"
cp "$dir/key.pub" "$dir/authorized_keys"
state="$dir/state"
if [ "$STORE" = postgres ]; then
  # initdb refuses root: the cluster belongs to the postgres account.
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  mkdir -p "$dir/pg/socket" && chown -R postgres:postgres "$dir/pg" && chmod 755 "$dir"
  aspg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
  aspg "$pgbin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
  aspg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir/pg/socket' -p 5499" start >/dev/null
  state="postgres:///bench?host=$dir/pg/socket&port=5499&user=postgres"
  psql -X -q -h "$dir/pg/socket" -p 5499 -U postgres -d postgres -c "CREATE DATABASE bench"
fi
# Logs at the default level: one line per verification, as deployed, to a file.
"$SERVICE" serve --listen 127.0.0.1:0 --port-file "$dir/port" --state "$state" \
  --audience https://bench.keysmith --authorized-keys "$dir/authorized_keys" --ttl 3600 \
  2>"$dir/service.log" &
pid=$!
for _ in $(seq 1 300); do [ -s "$dir/port" ] && break; sleep 0.1; done
port=$(cat "$dir/port")
echo "keysmith-challenged on 127.0.0.1:$port ($STORE store); making $PAIRS token/response pairs…"
if [ "$STORE" = postgres ]; then
  psql -X -A -t -h "$dir/pg/socket" -p 5499 -U postgres -d bench \
    -c "SELECT encode(secret, 'hex') FROM keysmith_challenge_secret" |
    python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$dir/secret"
else
  cp "$dir/state/secret" "$dir/secret"
fi
start=$(date +%s)
python3 "$here/bench-service/pairs.py" "$dir/secret" https://bench.keysmith "$dir/key" "$PAIRS" "$dir/pairs" 3600
echo "pairs made in $(( $(date +%s) - start )) s"

# Each accepted token is one record in used/ or one row (none is pruned: the tokens live
# an hour).
records() {
  if [ "$STORE" = postgres ]; then
    psql -X -A -t -h "$dir/pg/socket" -p 5499 -U postgres -d bench -c "SELECT count(*) FROM keysmith_challenge_used"
  else
    ls "$dir/state/used" | wc -l
  fi
}
before=$(records)
PAIRS="$dir/pairs" THREADS="$THREADS" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${SECONDS_}s" --latency \
  -s "$here/bench-service/verify.lua" "http://127.0.0.1:$port" | tee "$dir/wrk.out"
after=$(records)
metric=$(curl -s --max-time 30 "http://127.0.0.1:$port/metrics" |
  sed -n 's/^keysmith_challenge_verifications_total{outcome="accepted"} //p')
echo "accepted in the run: $((after - before)) in $SECONDS_ s: $(( (after - before) / SECONDS_ )) verifications/s"
echo "accepted since start (metrics): $metric; load: $(cut -d' ' -f1-3 /proc/loadavg)"
if grep -q '^exhausted: [1-9]' "$dir/wrk.out"; then echo "the pairs ran out: the rate is too low; give more PAIRS"; fi
