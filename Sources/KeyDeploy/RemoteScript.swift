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
///   temporary file beside the target, chmods it 600 and renames it over the target;
///   then runs `restorecon` where it exists. Prints `created PATH`, `repaired LS-MODE PATH`,
///   `written`, or `changed` (the checksum differed; nothing written), `locked LOCKDIR`
///   (timeout), or `failed WHAT`.
/// - `repair`: only the directory creation and mode repairs of `write`.
/// - `edit`: what keysmith uses when it can stream a command's input (its own client): the
///   repairs of `write`, then the lock, held until the command ends; then the header and bytes
///   of `read` (of a snapshot taken under the lock). The client answers on stdin with
///   `keep`, or `write SIZE` and the new contents then EOF. The contents go to a temporary
///   file beside the target; only when exactly SIZE bytes arrived (a client killed or cut off
///   midway sends fewer) and the file still matches the snapshot (someone may ignore the
///   lock) is it chmodded 600 and renamed over the target. Prints `written`, `kept`,
///   `changed`, `locked LOCKDIR` or `failed WHAT`; a client that went away gets nothing.
///
/// The lock is the directory `DIR/.keysmith.lock`; its holder writes `HOST PID` into
/// `holder` inside it, and removes both when it exits, however it exits short of SIGKILL.
/// A waiter polls every 0.1 s for up to 60 s and breaks a stale lock (docs/limits.md): one
/// whose holder record names this host and a process that no longer runs, or one with no
/// record (or another host's) that has stayed the same directory for 20 s. Breaking happens
/// under a second lock, `DIR/.keysmith.lock.break`, after checking the record once more, so
/// two waiters never both break it and a fresh lock is never taken for a stale one.
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
        host=$(uname -n 2>/dev/null) l=$d/.keysmith.lock snap= tmp=
        cleanup() {
            rm -f -- ${snap:+"$snap"} ${tmp:+"$tmp"}
            rm -f -- "$l/holder"
            rmdir -- "$l" 2>/dev/null
        }
        stale() {
            h=$(cat -- "$l/holder" 2>/dev/null)
            case $h in
            "$host "*) kill -0 "${h##* }" 2>/dev/null && return 1 ;;
            *)
                i=$(ls -di -- "$l" 2>/dev/null) || return 1
                i=${i%% *}/$h
                if [ "$i" != "$seen" ]; then seen=$i since=$n; return 1; fi
                [ $((n - since)) -ge 200 ] || return 1
                ;;
            esac
            mkdir -- "$l.break" 2>/dev/null || return 1
            if [ "$(cat -- "$l/holder" 2>/dev/null)" = "$h" ]; then
                rm -f -- "$l/holder"
                rmdir -- "$l" 2>/dev/null
            fi
            rmdir -- "$l.break"
        }
        lock() {
            n=0 seen= since=0
            until mkdir -- "$l" 2>/dev/null; do
                n=$((n + 1))
                if [ $((n % 10)) -eq 0 ] && stale; then continue; fi
                if [ $n -ge 600 ]; then say "locked $l"; exit 1; fi
                sleep 0.1 2>/dev/null || sleep 1
            done
            trap cleanup EXIT
            trap 'exit 1' HUP INT TERM PIPE
            say "$host $$" > "$l/holder"
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
            tmp=$t.keysmith.$$
            if cat > "$tmp" && chmod 600 -- "$tmp" && mv -f -- "$tmp" "$t"; then
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
                snap=$t.keysmith.snap.$$
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
            tmp=$t.keysmith.$$
            cat > "$tmp" || { say "failed write $t"; exit 1; }
            got=$(wc -c < "$tmp")
            [ "$((got))" = "$size" ] || exit 1
            if [ "$(sum)" != "$c" ]; then say changed; exit 0; fi
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

    /// The command line that runs the script for `operation` on `target`.
    static func command(_ operation: String, target: String, extra: [String] = []) -> String {
        (["exec", "sh", "-c", Self.text, "keysmith", operation, target] + extra).map(shellQuoted).joined(separator: " ")
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
