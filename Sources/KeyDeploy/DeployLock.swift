#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The authorized_keys lock's protocol, defined once for both stores: the names in the
/// target's directory and in the lock, the holder record, and (``LockTiming``) the timings.
/// ``SFTPAuthorizedKeysStore/Lock`` uses them directly; ``RemoteScript`` gets them as shell variables
/// generated from here (``scriptSettings(_:)``), so the two can never disagree.
/// docs/limits.md gives the rules and why they are safe.
enum DeployLock {
    /// The lock: a directory beside the target, `DIR/.keysmith.lock`.
    static let directory = ".keysmith.lock"
    /// The file in the lock whose record names the holder.
    static let holder = "holder"
    /// Inside the lock: a taker's record before it becomes `holder` (`rec.PID`, `rec.sftp.HEX`).
    static let staged = "rec."
    /// Inside the lock: a stale record a waiter moved aside (`stale.PID`, `stale.sftp.HEX`).
    static let stale = "stale."
    /// Inside the lock: a holder's heartbeat (`beat.PID.N`, `beat.sftp.HEX.N`).
    static let beat = "beat."
    /// What marks the SFTP path's names after those prefixes, before its nonce.
    static let sftp = "sftp."
    /// The SFTP path's host in its record: no host name, so a shell waiter treats it as
    /// another host's, whose process it cannot check.
    static let sftpHost = "(sftp)"
    /// After the target's name: a temporary file (`TARGET.keysmith.PID`,
    /// `TARGET.keysmith.snap.PID`, `TARGET.keysmith.sftp.HEX`).
    static let temporary = ".keysmith."
    /// After ``temporary``: the shell's snapshot of the file sent to keysmith.
    static let snapshot = "snap."
    /// After the lock's name: the lock older keysmith broke locks under, aged out now.
    static let legacyBreak = ".break"
    /// The most bytes of a record keysmith reads.
    static let maximumRecord = 4096

    /// A holder's record, as it stands in `holder` before its newline: `HOST ID`, where ID
    /// is the shell's PID or the SFTP path's nonce.
    static func record(host: String, id: String) -> String { host + " " + id }

    /// The first line of the remote script: the names above and `timing`, as shell
    /// variables. The wait and the stale time count polls (`poll` seconds apart); a waiter
    /// judges staleness every `cpolls` polls; a holder's heartbeat loop wakes every `tick`
    /// seconds and replaces its beat file every `rticks` ticks.
    static func scriptSettings(_ timing: LockTiming) -> String {
        let polls = { (d: Duration) in max(1, Int((d / timing.poll).rounded(.up))) }
        let ticks = max(1, Int((timing.refresh / timing.check).rounded(.up)))
        let names = [
            "LOCK": Self.directory, "HOLDER": Self.holder, "REC": Self.staged, "STALE": Self.stale,
            "BEAT": Self.beat, "SFTP": Self.sftp, "TEMP": Self.temporary, "SNAP": Self.snapshot,
            "BREAK": Self.legacyBreak,
        ]
        var line = "wpolls=\(polls(timing.wait)) spolls=\(polls(timing.staleAfter)) cpolls=\(polls(timing.check))"
        line += " poll=\(Self.seconds(timing.poll)) tick=\(Self.seconds(timing.check)) rticks=\(ticks)"
        for (name, value) in names.sorted(by: { $0.key < $1.key }) { line += " \(name)=\(value)" }
        return line + "\n"
    }

    /// `d` in seconds as sleep(1) takes it: `1`, `0.1`, `0.25`.
    static func seconds(_ d: Duration) -> String {
        let ms = max(1, Int(d / .milliseconds(1)))
        guard ms % 1000 != 0 else { return String(ms / 1000) }
        var fraction = String(ms % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(ms / 1000).\(fraction)"
    }

    /// Whether `name` is a file a killed deploy leaves beside the target `target` (a file
    /// name): the shell's `TARGET.keysmith.PID` and `TARGET.keysmith.snap.PID`, or SFTP's
    /// `TARGET.keysmith.sftp.HEX`; or, `inLock`, one inside the lock directory: `rec.PID`,
    /// `stale.PID`, `beat.PID.N`, `rec.sftp.HEX`, `stale.sftp.HEX`, `beat.sftp.HEX.N`. PID and
    /// N are decimal digits, HEX 1 to 16 lowercase hexadecimal digits, as the shell script's
    /// `sweep` matches them.
    static func leftover(_ name: String, target: String = "", inLock: Bool = false) -> Bool {
        func digits(_ s: Substring) -> Bool { !s.isEmpty && s.allSatisfy { $0 >= "0" && $0 <= "9" } }
        func hex(_ s: Substring) -> Bool {
            !s.isEmpty && s.count <= 16 && s.allSatisfy { ($0 >= "0" && $0 <= "9") || ($0 >= "a" && $0 <= "f") }
        }
        func after(_ prefix: String) -> Substring? { name.hasPrefix(prefix) ? name.dropFirst(prefix.count) : nil }
        let prefixes = inLock ? [Self.staged, Self.stale, Self.beat] : [target + Self.temporary]
        for prefix in prefixes {
            guard var rest = after(prefix) else { continue }
            if prefix == Self.beat {
                guard let dot = rest.lastIndex(of: "."), digits(rest[rest.index(after: dot)...]) else { return false }
                rest = rest[..<dot]
            }
            if rest.hasPrefix(Self.sftp) { return hex(rest.dropFirst(Self.sftp.count)) }
            if !inLock && rest.hasPrefix(Self.snapshot) { return digits(rest.dropFirst(Self.snapshot.count)) }
            return digits(rest)
        }
        return false
    }
}

/// The timings of the authorized_keys lock, the same over the shell and over SFTP
/// (docs/limits.md). keysmith uses ``standard``; tests shorten them.
struct LockTiming: Sendable {
    /// How long a waiter waits for the lock before it gives up.
    var wait: Duration = .seconds(60)
    /// How long a lock whose holder cannot be checked (another host, SFTP) must stay the same
    /// before a waiter takes it over.
    var staleAfter: Duration = .seconds(20)
    /// How often a holder shows that it is alive while it works: well under ``staleAfter``.
    var refresh: Duration = .seconds(5)
    /// How long a waiter sleeps between its attempts to take the lock.
    var poll: Duration = .milliseconds(100)
    /// How often a waiter judges whether the lock is stale, and how often the shell holder's
    /// heartbeat loop checks that the lock is still its own and its script still runs.
    var check: Duration = .seconds(1)
    /// Called between the steps of the SFTP path's work under the lock, before each refresh;
    /// tests make a slow holder with it.
    var work: (@Sendable () -> Void)? = nil

    static let standard = LockTiming()

    /// The standard timings scaled down to a lock that is stale after `staleAfter` (tests):
    /// the refresh a quarter of it and the checks a twentieth, as in ``standard``; the wait
    /// stays a minute.
    static func scaled(staleAfter: Duration) -> LockTiming {
        var timing = LockTiming(staleAfter: staleAfter, refresh: staleAfter / 4)
        timing.check = staleAfter / 20
        timing.poll = min(timing.poll, timing.check)
        return timing
    }

    init(
        wait: Duration = .seconds(60),
        staleAfter: Duration = .seconds(20),
        refresh: Duration = .seconds(5),
        work: (@Sendable () -> Void)? = nil
    ) {
        self.wait = wait
        self.staleAfter = staleAfter
        self.refresh = refresh
        self.work = work
    }

    /// What keysmith uses: ``standard``. In a debug build only, `KEYSMITH_TEST_LOCK_TIMING=S`
    /// (seconds, above 0 and at most 20) scales the timings down to a lock stale after S
    /// seconds, for the tests that run keysmith as a process. A release build ignores it:
    /// waiters with shorter timings than a live holder's could take its lock for stale.
    static var current: LockTiming {
        #if DEBUG
        if let text = getenv("KEYSMITH_TEST_LOCK_TIMING").map({ String(cString: $0) }),
            let seconds = Double(text), seconds > 0, seconds <= 20
        {
            return .scaled(staleAfter: .milliseconds(Int(seconds * 1000)))
        }
        #endif
        return .standard
    }
}
