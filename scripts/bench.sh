#!/bin/sh
# Whole-process comparisons of keysmith with ssh-keygen on the same machine, in
# the same run: the two commands of each pair are alternated, and the table shows
# each side's median time and the median of the per-pair ratios (ours / theirs).
#
#   scripts/bench.sh [KEYSMITH] [RUNS]
set -eu
KEYSMITH=${1:-keysmith}
RUNS=${2:-21}
dir=$(mktemp -d "${TMPDIR:-/tmp}/keysmith-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

now() { date +%s%N; }

# pair NAME OURS THEIRS: alternate the two commands RUNS times (each in sh -c).
pair() {
    name=$1; ours=$2; theirs=$3
    : > "$dir/o"; : > "$dir/t"; : > "$dir/r"
    i=0
    while [ $i -lt "$RUNS" ]; do
        a=$(now); sh -c "$ours" >/dev/null 2>&1; b=$(now)
        sh -c "$theirs" >/dev/null 2>&1; c=$(now)
        o=$((b - a)); t=$((c - b))
        echo "$o" >> "$dir/o"; echo "$t" >> "$dir/t"
        echo "$o $t" | awk '{ printf "%.6f\n", $1 / $2 }' >> "$dir/r"
        i=$((i + 1))
    done
    med() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    printf '| %s | %.1f ms | %.1f ms | %.2f |\n' "$name" \
        "$(med "$dir/o" | awk '{ print $1 / 1e6 }')" "$(med "$dir/t" | awk '{ print $1 / 1e6 }')" "$(med "$dir/r")"
}

ssh-keygen -q -t ed25519 -N '' -C bench -f "$dir/ed"
ssh-keygen -q -t ed25519 -N 'bench pass' -a 32 -C bench -f "$dir/ed32"
ssh-keygen -q -t ed25519 -N 'bench pass' -a 64 -C bench -f "$dir/ed64"
i=0; : > "$dir/ak"
while [ $i -lt 2000 ]; do cat "$dir/ed.pub" >> "$dir/ak"; i=$((i + 1)); done
i=0; : > "$dir/ak20k"
while [ $i -lt 10 ]; do cat "$dir/ak" >> "$dir/ak20k"; i=$((i + 1)); done

echo "| operation | keysmith | ssh-keygen | ratio |"
echo "|---|---|---|---|"
pair "fingerprint of one key" "$KEYSMITH fingerprint -f $dir/ed.pub" "ssh-keygen -l -f $dir/ed.pub"
pair "Ed25519 generation, no passphrase" "rm -f $dir/g1 $dir/g1.pub; $KEYSMITH generate -q -t ed25519 -N '' -f $dir/g1" "rm -f $dir/g2 $dir/g2.pub; ssh-keygen -q -t ed25519 -N '' -f $dir/g2"
pair "Ed25519 generation, passphrase, -a 32" "rm -f $dir/g1 $dir/g1.pub; $KEYSMITH generate -q -t ed25519 -N pw -a 32 -f $dir/g1" "rm -f $dir/g2 $dir/g2.pub; ssh-keygen -q -t ed25519 -N pw -a 32 -f $dir/g2"
pair "decrypt (public -y), -a 32" "$KEYSMITH public -f $dir/ed32 -P 'bench pass'" "ssh-keygen -y -f $dir/ed32 -P 'bench pass'"
pair "decrypt (public -y), -a 64" "$KEYSMITH public -f $dir/ed64 -P 'bench pass'" "ssh-keygen -y -f $dir/ed64 -P 'bench pass'"
pair "fingerprint of 20,000-line authorized_keys" "$KEYSMITH fingerprint -f $dir/ak20k" "ssh-keygen -l -f $dir/ak20k"
RUNS=$(( RUNS < 21 ? RUNS : 21 ))
pair "RSA-3072 generation" "rm -f $dir/r1 $dir/r1.pub; $KEYSMITH generate -q -t rsa -b 3072 -N '' -f $dir/r1" "rm -f $dir/r2 $dir/r2.pub; ssh-keygen -q -t rsa -b 3072 -N '' -f $dir/r2"
