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
///   (`chmod go-w`), takes the lock `DIR/.keysmith.lock` (mkdir, waited on up to 30 s),
///   and if `cksum` of the current file (or `absent`) equals EXPECTED, writes stdin to a
///   temporary file beside the target, chmods it 600 and renames it over the target;
///   then runs `restorecon` where it exists. Prints `created PATH`, `repaired LS-MODE PATH`,
///   `written`, or `changed` (the checksum differed; nothing written), `locked LOCKDIR`
///   (timeout), or `failed WHAT`.
/// - `repair`: only the directory creation and mode repairs of `write`.
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
            l=$d/.keysmith.lock n=0
            until mkdir -- "$l" 2>/dev/null; do
                n=$((n + 1))
                if [ $n -ge 300 ]; then say "locked $l"; exit 1; fi
                sleep 0.1 2>/dev/null || sleep 1
            done
            trap 'rmdir -- "$l" 2>/dev/null' EXIT
            trap 'exit 1' HUP INT TERM
            if [ "$(sum)" != "$3" ]; then say changed; cat > /dev/null; exit 0; fi
            tmp=$t.keysmith.$$
            if cat > "$tmp" && chmod 600 -- "$tmp" && mv -f -- "$tmp" "$t"; then
                command -v restorecon > /dev/null 2>&1 && restorecon -F -- "$d" "$t" > /dev/null 2>&1
                say written
            else
                rm -f -- "$tmp"
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
