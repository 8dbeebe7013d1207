/// The POSIX sh program keysmith runs on the server, one operation per exec.
///
/// The script does only what must happen remotely: find the file, report its bytes and a
/// checksum, and replace it under a lock when the checksum is still the one the client saw.
/// Parsing and deciding (which keys are present, what the new file holds) is done locally in
/// Swift. It runs as `exec sh -c 'SCRIPT' keysmith OP TARGET [EXPECTED]`, so the account's login
/// shell only has to understand single quotes.
///
/// Operations (`$1`), with the target path in `$2` (relative paths are under `$HOME`):
///
/// - `read`: prints header lines, then `--`, then the file's bytes:
///   `exists 0|1`, `cksum CRC SIZE` (of the file, `absent` when missing), and
///   `unsafe LS-MODE PATH` for each of the file, its directory and the directories up to
///   `$HOME` that are group- or world-writable (sshd's StrictModes refuses those).
/// - `write EXPECTED`: creates the directory (0700) if missing, repairs the unsafe modes
///   (`chmod go-w`), takes the lock `DIR/.keysmith.lock` (below),
///   and if `cksum` of the current file (or `absent`) equals EXPECTED, writes stdin to a
///   temporary file beside the target, chmods it 600 and, if it still holds the lock,
///   renames it over the target; then runs `restorecon` where it exists. Prints
///   `created PATH`, `repaired LS-MODE PATH`, `written`, or `changed` (the checksum
///   differed; nothing written), `locked LOCKDIR` (timeout), `lost LOCKDIR` (the lock was
///   taken over meanwhile; nothing written), or `failed WHAT`.
/// - `repair`: only the directory creation and mode repairs of `write`.
/// - `edit`: what keysmith uses when it can stream a command's input (its own client): the
///   repairs of `write`, then the lock, held until the command ends; then the header and bytes
///   of `read` (of a snapshot taken under the lock). The client answers on stdin with
///   `keep`, or `write SIZE` and the new contents then EOF. The contents go to a temporary
///   file beside the target; only when exactly SIZE bytes arrived (a client killed or cut off
///   midway sends fewer), the file still matches the snapshot (someone may ignore the
///   lock) and the lock is still its own is it chmodded 600 and renamed over the target.
///   Prints `written`, `kept`, `changed`, `locked LOCKDIR`, `lost LOCKDIR` or
///   `failed WHAT`; a client that went away gets nothing.
///
/// The lock is the directory `DIR/.keysmith.lock`, held by whoever put the file `holder` into
/// it; the record in `holder` is `HOST PID` (the SFTP path's is `(sftp) NONCE`). A taker
/// creates the directory, writes its record into `rec.PID` and hard-links that to `holder`
/// (`ln` fails when `holder` exists; where hard links are refused, a noclobber `>`), so a
/// record appears whole and at most once; a taker that finds one there lost the directory
/// to a waiter that took it over, and waits again. The holder removes `holder` and the
/// directory when it exits, however it exits short of SIGKILL, and only while `holder` is
/// still its own record.
///
/// A waiter polls every 0.1 s for up to 60 s and, every second, takes over a stale lock
/// (docs/limits.md): one whose record names this host and a process that no longer runs,
/// or one with no record (or another host's) whose inode, entries and record stayed the same
/// for 20 s. Taking over never removes the directory: the waiter renames `holder` to
/// `stale.PID` (of all waiters, only the one whose rename finds it goes on), checks that
/// what it moved is the record it judged stale and names no running process (else it moves
/// it back and waits), then puts its own record in as a taker does. With no record it only
/// does the latter. Why no two waiters both take a lock over, and no fresh lock is taken
/// for a stale one:
///
/// - Ownership changes only by putting `holder` into the directory, which succeeds for one
///   party only, and a holder's record is never removed except by itself or by the one
///   rename that moves it aside.
/// - A waiter that moved a record aside acts only when that record is the one it judged
///   stale; records are unique per holder (PID on this host, checked again with `kill -0`;
///   a 64-bit nonce over SFTP), so a fresh holder's record is moved back, not broken.
/// - A directory without a record is taken over by putting a record in; a taker still
///   about to put its own in then fails and waits, so it never believes it holds a lock.
/// - Whatever a killed waiter leaves is again a lock in one of these states (its own record
///   naming a dead process, or no record with `stale.PID` inside), so no leftover ever
///   blocks the next waiter: there is no second lock, as `DIR/.keysmith.lock.break` was.
///   Older keysmith broke locks under that directory; a waiter removes one that stayed the
///   same for 20 s.
///
/// A holder whose process a waiter cannot check (another host, SFTP) shows that it is alive
/// instead: while it holds the lock, a background loop replaces its file `beat.PID.N` in the
/// lock by `beat.PID.N+1` every 5 s, a new name each time, so the lock's entries never stay
/// the same for 20 s while the holder runs, however long keysmith takes to send the new
/// contents. The loop checks every second that `holder` is still its record and the script
/// still runs, and stops otherwise; the script kills it when it exits. Its input and output
/// are /dev/null, so it never keeps the session's pipes open. And
/// just before its final rename the holder checks that `holder` is still its record; if it
/// is not (its lock was taken over after all), it writes nothing and reports `lost LOCKDIR`.
/// Once it holds the lock, the holder removes what killed deploys left, by exact name:
/// `TARGET.keysmith.PID`, `TARGET.keysmith.snap.PID` and `TARGET.keysmith.sftp.HEX` beside
/// the target, and `rec.*`, `stale.*` and `beat.*` of the same forms (`beat.PID.N`,
/// `beat.sftp.HEX.N`) inside the lock. Every writer of those files holds the lock while they
/// exist, so none belongs to a live deploy.
///
/// The lock's names and timings (60 s, 20 s, 5 s, polls of 0.1 s, checks every second) are
/// not written here: ``DeployLock/scriptSettings(_:)`` puts them on the script's first line as
/// shell variables (`$LOCK`, `$HOLDER`, `$REC`, `$STALE`, `$BEAT`, `$SFTP`, `$TEMP`, `$SNAP`,
/// `$BREAK`, `wpolls`, `spolls`, `cpolls`, `poll`, `tick`, `rticks`), from the one definition
/// the SFTP store uses too; tests shorten the timings.
enum RemoteScript {
    static let text = #"""
        umask 077
        op=$1 t=$2
        case $t in /*) ;; *) t=$HOME/$t ;; esac
        d=$(dirname -- "$t")
        say() { printf '%s\n' "$*"; }
        unsafe() {
            m=$(ls -ld -- "$1" 2>/dev/null) || return 1
            case $m in ?????w*|????????w*) say "${2:-unsafe} ${m%% *} $1"; return 0 ;; esac
            return 1
        }
        paths() {
            [ -e "$t" ] && say "$t"
            p=$d
            while [ -n "$p" ]; do
                say "$p"
                [ "$p" = "$HOME" ] && break
                case $p in "$HOME"/*) p=$(dirname -- "$p") ;; *) break ;; esac
            done
        }
        repair() {
            if [ ! -d "$d" ]; then
                mkdir -p -- "$d" && chmod 700 -- "$d" || { say "failed mkdir $d"; exit 1; }
                say "created $d"
            fi
            paths | while IFS= read -r p; do
                if unsafe "$p" repaired; then chmod go-w -- "$p" || say "failed chmod $p"; fi
            done
        }
        sum() { if [ -e "$t" ]; then cksum < "$t"; else echo absent; fi; }
        host=$(uname -n 2>/dev/null) l=$d/$LOCK snap= tmp=
        me="\#(DeployLock.record(host: "$host", id: "$$"))"
        num() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
        hex() { case $1 in '' | *[!0-9a-f]*) return 1 ;; esac; [ ${#1} -le 16 ]; }
        own() {
            say "$me" > "$l/$REC$$" 2>/dev/null && {
                ln -- "$l/$REC$$" "$l/$HOLDER" 2>/dev/null ||
                    { [ ! -e "$l/$HOLDER" ] && (set -C && cat -- "$l/$REC$$" > "$l/$HOLDER") 2>/dev/null; }
            }
            s=$?
            rm -f -- "$l/$REC$$"
            return $s
        }
        mine() { [ "$(cat -- "$l/$HOLDER" 2>/dev/null)" = "$me" ]; }
        beat() {
            k=0 w=0
            while mine && kill -0 $$ 2>/dev/null; do
                if [ "$w" -le 0 ]; then
                    : > "$l/$BEAT$$.$((k + 1))" 2>/dev/null || break
                    rm -f -- "$l/$BEAT$$.$k"
                    k=$((k + 1)) w=$rticks
                fi
                w=$((w - 1))
                sleep "$tick" 2>/dev/null || sleep 1 2>/dev/null || break
            done
            rm -f -- "$l/$BEAT$$.$k"
        }
        release() {
            # SIGKILL: a TERM sent before the subshell dropped our traps would be lost.
            if [ -n "$bpid" ]; then kill -9 "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; fi
            rm -f -- ${snap:+"$snap"} ${tmp:+"$tmp"} "$l/$REC$$" "$l/$BEAT$$".*
            if [ -f "$l/$STALE$$" ]; then
                ln -- "$l/$STALE$$" "$l/$HOLDER" 2>/dev/null
                rm -f -- "$l/$STALE$$"
            fi
            if mine; then
                rm -f -- "$l/$HOLDER"
                rmdir -- "$l" 2>/dev/null
            fi
        }
        alive() {
            case $1 in "$host "*) kill -0 "${1##* }" 2>/dev/null && return 0 ;; esac
            return 1
        }
        take() {
            if [ -n "$h" ]; then
                mv -f -- "$l/$HOLDER" "$l/$STALE$$" 2>/dev/null || return 1
                c=$(cat -- "$l/$STALE$$" 2>/dev/null)
                if [ "$c" != "$h" ] || alive "$c"; then
                    ln -- "$l/$STALE$$" "$l/$HOLDER" 2>/dev/null
                    rm -f -- "$l/$STALE$$"
                    return 1
                fi
            fi
            own
            s=$?
            rm -f -- "$l/$STALE$$"
            return $s
        }
        stale() {
            if b=$(ls -di -- "$l$BREAK" 2>/dev/null); then
                if [ "$b" != "$bseen" ]; then
                    bseen=$b bsince=$n
                elif [ $((n - bsince)) -ge "$spolls" ]; then
                    rmdir -- "$l$BREAK" 2>/dev/null
                fi
            fi
            h=$(cat -- "$l/$HOLDER" 2>/dev/null)
            case $h in
            "$host "*) alive "$h" && return 1 ;;
            *)
                i=$(ls -di -- "$l" && ls -A -- "$l") 2>/dev/null || return 1
                i=$i/$h
                if [ "$i" != "$seen" ]; then seen=$i since=$n; return 1; fi
                [ $((n - since)) -ge "$spolls" ] || return 1
                ;;
            esac
            take
        }
        sweep() {
            for f in "$l/$REC"* "$l/$STALE"* "$l/$BEAT"* "$t$TEMP"*; do
                case $f in
                "$l/$BEAT$SFTP"*) r=${f#"$l/$BEAT$SFTP"} && [ "${r%.*}" != "$r" ] && hex "${r%.*}" && num "${r##*.}" ;;
                "$l/$BEAT"*) r=${f#"$l/$BEAT"} && [ "${r%.*}" != "$r" ] && num "${r%.*}" && num "${r##*.}" ;;
                "$l/$REC$SFTP"*) hex "${f#"$l/$REC$SFTP"}" ;;
                "$l/$STALE$SFTP"*) hex "${f#"$l/$STALE$SFTP"}" ;;
                "$l/$REC"*) num "${f#"$l/$REC"}" ;;
                "$l/$STALE"*) num "${f#"$l/$STALE"}" ;;
                "$t$TEMP$SFTP"*) hex "${f#"$t$TEMP$SFTP"}" ;;
                "$t$TEMP$SNAP"*) num "${f#"$t$TEMP$SNAP"}" ;;
                "$t$TEMP"*) num "${f#"$t$TEMP"}" ;;
                *) false ;;
                esac && rm -f -- "$f" 2>/dev/null
            done
        }
        lock() {
            n=0 seen= since=0 bseen= bsince=0 bpid=
            trap release EXIT
            trap 'exit 1' HUP INT TERM PIPE
            until mkdir -- "$l" 2>/dev/null && own; do
                n=$((n + 1))
                if [ $((n % cpolls)) -eq 0 ] && stale; then break; fi
                if [ $n -ge "$wpolls" ]; then say "locked $l"; exit 1; fi
                sleep "$poll" 2>/dev/null || sleep 1
            done
            sweep
            (exec < /dev/null > /dev/null 2>&1; beat) &
            bpid=$!
        }
        case $op in
        read)
            if [ -e "$t" ]; then say "exists 1"; else say "exists 0"; fi
            say "cksum $(sum)"
            paths | while IFS= read -r p; do unsafe "$p"; done
            say "--"
            if [ -e "$t" ]; then cat -- "$t" || exit 1; fi
            ;;
        repair)
            repair
            ;;
        write)
            repair
            lock
            if [ "$(sum)" != "$3" ]; then say changed; cat > /dev/null; exit 0; fi
            tmp=$t$TEMP$$
            cat > "$tmp" && chmod 600 -- "$tmp" || { say "failed write $t"; exit 1; }
            mine || { say "lost $l"; exit 1; }
            if mv -f -- "$tmp" "$t"; then
                command -v restorecon > /dev/null 2>&1 && restorecon -F -- "$d" "$t" > /dev/null 2>&1
                say written
            else
                say "failed write $t"
                exit 1
            fi
            ;;
        edit)
            repair
            lock
            if [ -e "$t" ]; then
                snap=$t$TEMP$SNAP$$
                cat -- "$t" > "$snap" || { say "failed read $t"; exit 1; }
                c=$(cksum < "$snap")
                say "exists 1"
            else
                c=absent
                say "exists 0"
            fi
            say "cksum $c"
            paths | while IFS= read -r p; do unsafe "$p"; done
            say "--"
            if [ -n "$snap" ]; then cat -- "$snap" || exit 1; fi
            IFS=' ' read -r w size || exit 1
            case $w in
            keep) say kept; exit 0 ;;
            write) ;;
            *) say "failed edit $t"; exit 1 ;;
            esac
            tmp=$t$TEMP$$
            cat > "$tmp" || { say "failed write $t"; exit 1; }
            got=$(wc -c < "$tmp")
            [ "$((got))" = "$size" ] || exit 1
            if [ "$(sum)" != "$c" ]; then say changed; exit 0; fi
            mine || { say "lost $l"; exit 1; }
            if chmod 600 -- "$tmp" && mv -f -- "$tmp" "$t"; then
                command -v restorecon > /dev/null 2>&1 && restorecon -F -- "$d" "$t" > /dev/null 2>&1
                say written
            else
                say "failed write $t"
                exit 1
            fi
            ;;
        *) say "failed op $op"; exit 1 ;;
        esac
        """#

    /// The command line that runs the script for `operation` on `target`, with the lock's `timing`.
    static func command(
        _ operation: String,
        target: String,
        extra: [String] = [],
        timing: LockTiming = .standard
    ) -> String {
        (["exec", "sh", "-c", DeployLock.scriptSettings(timing) + Self.text, "keysmith", operation, target] + extra)
            .map(shellQuoted).joined(separator: " ")
    }

    /// `s` in single quotes for sh (a `'` becomes `'\''`); plain words stay bare.
    static func shellQuoted(_ s: String) -> String {
        let safe = s.allSatisfy { c in c.isASCII && (c.isLetter || c.isNumber || "-_./=:@%+,".contains(c)) }
        if safe && !s.isEmpty { return s }
        return "'" + s.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
