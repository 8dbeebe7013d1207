import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Deploys that die midway: `copy-id` and `remove-id` killed with SIGKILL at points spread
/// over a whole run, and connections cut after N bytes in either direction by a proxy between
/// keysmith and OpenSSH's sshd. After each, authorized_keys holds exactly the old or the new
/// bytes (with its mode and owner), nothing that would stop the next deploy is left behind,
/// and the key the deploy logged in with still logs in with OpenSSH's ssh.
@Suite("Deploys killed or cut off midway")
struct DeployFaultTests {
    /// One account on a real sshd whose authorized_keys holds a few keys (K0, whose private
    /// half keysmith authenticates with, among them) and enough filler that the file's
    /// transfer is a good part of each deploy.
    final class Account: @unchecked Sendable {  // @unchecked: used by one test at a time, never shared
        let sshd: SSHDFixture
        let dir: TempDir
        /// The existing key keysmith logs in with.
        let k0: String
        /// The key being added and removed.
        let newKey: String
        /// The file before a copy-id (after a remove-id).
        let base: [UInt8]
        /// The file after a copy-id (before a remove-id).
        let withNew: [UInt8]
        let uid: uid_t
        let gid: gid_t

        var sshDirectory: String { self.sshd.home + "/.ssh" }
        var target: String { self.sshDirectory + "/authorized_keys" }

        init() throws {
            self.sshd = try SSHDFixture()
            let dir = try TempDir()
            self.dir = dir
            try FileManager.default.createDirectory(atPath: dir.path("home"), withIntermediateDirectories: true)
            var lines: [String] = []
            func key(_ name: String, _ type: [String]) throws -> String {
                let path = dir.path(name)
                _ = try keygen(["-q"] + type + ["-N", "", "-C", name, "-f", path]).checked("ssh-keygen")
                return path
            }
            let k1 = try key("k1", ["-t", "rsa", "-b", "2048"])
            let k0 = try key("k0", ["-t", "ed25519"])
            self.k0 = k0
            let k2 = try key("k2", ["-t", "ecdsa"])
            let newKey = try key("new", ["-t", "ed25519"])
            self.newKey = newKey
            lines.append(#"from="127.0.0.1",no-pty "# + (try readText(k1 + ".pub")).trimmingCharacters(in: .newlines))
            lines.append("# the key keysmith logs in with")
            lines.append(try readText(k0 + ".pub").trimmingCharacters(in: .newlines))
            // About 80 KiB of comments: the file's bytes then dominate the transcript, so
            // kill points and byte cuts land inside its transfer in both directions.
            for i in 0..<800 { lines.append("# filler \(i) " + String(repeating: "x", count: 90)) }
            lines.append(try readText(k2 + ".pub").trimmingCharacters(in: .newlines))
            self.base = Array((lines.joined(separator: "\n") + "\n").utf8)
            self.withNew = self.base + Array(try readText(newKey + ".pub").utf8)
            guard let pw = getpwnam(self.sshd.user) else { throw FixtureError("no account \(self.sshd.user)") }
            self.uid = pw.pointee.pw_uid
            self.gid = pw.pointee.pw_gid
            try installAuthorizedKeys(self.sshd, self.base)
        }

        /// keysmith's arguments for `operation` of the new key, logging in with K0 only.
        func arguments(_ operation: Operation, port: Int, knownHosts: String, sftp: Bool) -> [String] {
            [
                operation.command, "-i", self.newKey + ".pub", "-p", String(port),
                "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes",
                "-o", "IdentityFile=\(self.k0)", "-o", "IdentitiesOnly=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes",
            ] + (sftp ? ["-s"] : []) + ["\(self.sshd.user)@\(self.sshd.host)"]
        }

        /// keysmith's environment: an empty home (no ~/.ssh/config), no agent, and the lock's
        /// timings scaled down to a stale time of 2 s (debug builds only; docs/limits.md), so
        /// that waiting out a stale lock costs 2 s instead of 20.
        var environment: [String: String] {
            ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": "", "KEYSMITH_TEST_LOCK_TIMING": "2"]
        }

        /// Runs a deploy to its end.
        func run(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(keysmithPath, arguments, environment: self.environment)
        }

        /// Starts a deploy; the caller kills and reaps it.
        func spawn(_ arguments: [String]) throws -> pid_t {
            try spawnDaemon(
                "/usr/bin/env",
                self.environment.map { "\($0.key)=\($0.value)" } + [keysmithPath] + arguments,
                log: self.dir.path("keysmith.log")
            )
        }

        /// Puts `bytes` in place as the account's own 0600 file (through a rename, as root).
        func install(_ bytes: [UInt8]) throws {
            let temporary = self.sshDirectory + "/.test-reset"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw FixtureError("cannot create \(temporary)") }
            defer { close(fd) }
            var done = 0
            while done < bytes.count {
                let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { throw FixtureError("cannot write \(temporary)") }
                done += n
            }
            guard fchown(fd, self.uid, self.gid) == 0, fchmod(fd, 0o600) == 0, rename(temporary, self.target) == 0
            else { throw FixtureError("cannot install \(self.target)") }
        }

        /// The account's processes (sshd's session child, the remote shell, sftp-server).
        func processes() -> [String] {
            guard let proc = opendir("/proc") else { return [] }
            defer { closedir(proc) }
            var found: [String] = []
            while let entry = readdir(proc) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                guard !name.isEmpty, name.allSatisfy(\.isNumber),
                    let status = try? readText("/proc/\(name)/status")
                else { continue }
                let fields = status.split(separator: "\n")
                // A zombie has finished; only its parent has yet to reap it.
                if fields.first(where: { $0.hasPrefix("State:") })?.contains("Z") == true { continue }
                let uidLine = fields.first { $0.hasPrefix("Uid:") }
                let real = uidLine?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first
                if real == Substring(String(self.uid)) {
                    let comm = fields.first.map(String.init) ?? name
                    found.append("\(name) \(comm)")
                }
            }
            return found
        }

        /// Waits until the account runs nothing: the server side of a killed deploy has
        /// noticed and finished (cleaned up, or renamed the whole file into place).
        func settle() throws {
            for _ in 0..<3000 {
                if self.processes().isEmpty { return }
                usleep(10_000)
            }
            throw FixtureError("the server side still runs 30 s after the client died: \(self.processes())")
        }

        /// The entries of ~/.ssh other than authorized_keys.
        func leftovers() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: self.sshDirectory).filter { $0 != "authorized_keys" }
                .sorted()
        }

        /// Removes a lock a killed deploy left, with whatever is inside it (its record, or
        /// the record it was putting in), as if it had been waited out.
        func removeLock() throws {
            let lock = self.sshDirectory + "/.keysmith.lock"
            for name in try FileManager.default.contentsOfDirectory(atPath: lock) { unlink(lock + "/" + name) }
            rmdir(lock)
        }

        /// Whether ~/.ssh holds an entry whose name satisfies `match`.
        func hasEntry(_ match: (String) -> Bool) -> Bool {
            guard let d = opendir(self.sshDirectory) else { return false }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if match(name) { return true }
            }
            return false
        }

        /// The process id of the remote script's `edit` (`sh -c SCRIPT keysmith edit TARGET`).
        func remoteEdit() -> pid_t? {
            var found: [pid_t: pid_t] = [:]
            for line in self.processes() {
                guard let pid = pid_t(line.prefix { $0 != " " }),
                    let cmdline = try? readBytes("/proc/\(pid)/cmdline"),
                    let status = try? readText("/proc/\(pid)/status"),
                    let ppid = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") })
                        .flatMap({ pid_t($0.dropFirst(5).trimmingCharacters(in: .whitespaces)) })
                else { continue }
                let args = cmdline.split(separator: 0, omittingEmptySubsequences: false)
                    .map { String(decoding: $0, as: UTF8.self) }
                if args.count > 4 && args[0] == "sh" && args[3] == "keysmith" && args[4] == "edit" { found[pid] = ppid }
            }
            // The script, not its lock's heartbeat: a subshell, forked with the same command line.
            return found.first { found[$0.value] == nil }?.key
        }
    }

    enum Operation: String, CaseIterable, Sendable {
        case copy = "copy-id"
        case remove = "remove-id"

        var command: String { self.rawValue }
        func old(_ a: Account) -> [UInt8] { self == .copy ? a.base : a.withNew }
        func new(_ a: Account) -> [UInt8] { self == .copy ? a.withNew : a.base }
    }

    enum Outcome { case old, new }

    /// Checks the file after a deploy died: exactly `old` or `new`, 0600, the account's own,
    /// in a 0700 directory. Records an issue and returns nil otherwise.
    static func outcome(_ a: Account, old: [UInt8], new: [UInt8], _ what: String) throws -> Outcome? {
        let bytes = Array(try readBytes(a.target))
        var st = Glibc.stat()
        var dirStat = Glibc.stat()
        guard lstat(a.target, &st) == 0, lstat(a.sshDirectory, &dirStat) == 0 else {
            Issue.record("\(what): cannot stat \(a.target)")
            return nil
        }
        #expect(st.st_mode == S_IFREG | 0o600, "\(what): mode \(String(st.st_mode, radix: 8))")
        #expect(st.st_uid == a.uid && st.st_gid == a.gid, "\(what): owner \(st.st_uid):\(st.st_gid)")
        #expect(dirStat.st_mode == S_IFDIR | 0o700, "\(what): ~/.ssh mode \(String(dirStat.st_mode, radix: 8))")
        if bytes == old { return .old }
        if bytes == new { return .new }
        let common = zip(bytes, new).prefix { $0 == $1 }.count
        Issue.record(
            "\(what): authorized_keys is neither the old (\(old.count) bytes) nor the new (\(new.count) bytes) content: \(bytes.count) bytes, first difference from the new at \(common)"
        )
        return nil
    }

    /// A moment at which a deploy is killed: `delay` µs after it starts, after the lock or
    /// the snapshot appears in ~/.ssh, after the temporary file with the new contents
    /// appears, or after authorized_keys has been replaced (the client has yet to read the
    /// report and hang up).
    struct KillPoint: CustomStringConvertible {
        enum Trigger {
            case start
            case lock
            case snapshot
            case upload
            case replaced
        }

        var trigger: Trigger
        var delay: UInt32

        var description: String {
            let after =
                switch self.trigger {
                case .start: "start"
                case .lock: "the lock appeared"
                case .snapshot: "the snapshot appeared"
                case .upload: "the temporary file appeared"
                case .replaced: "authorized_keys was replaced"
                }
            return "killed \(self.delay) µs after \(after)"
        }
    }

    /// Starts a deploy and waits for `point` (or the deploy's end).
    /// - Returns: the client's pid, and its wait status when it already ended.
    static func start(_ a: Account, _ arguments: [String], until point: KillPoint) throws -> (pid_t, Int32?) {
        var before = Glibc.stat()
        lstat(a.target, &before)
        let pid = try a.spawn(arguments)
        func reached() -> Bool {
            switch point.trigger {
            case .start: return true
            case .lock: return access(a.sshDirectory + "/.keysmith.lock", F_OK) == 0
            case .snapshot: return a.hasEntry { $0.hasPrefix("authorized_keys.keysmith.snap.") }
            case .upload:
                return a.hasEntry { name in
                    // The shell's `authorized_keys.keysmith.PID`, or SFTP's `….sftp.HEX`.
                    guard name.hasPrefix("authorized_keys.keysmith.") else { return false }
                    let rest = name.dropFirst("authorized_keys.keysmith.".count)
                    return rest.first?.isNumber == true || rest.hasPrefix("sftp.")
                }
            case .replaced:
                var now = Glibc.stat()
                return lstat(a.target, &now) == 0 && now.st_ino != before.st_ino
            }
        }
        var status: Int32 = 0
        while !reached() {
            if waitpid(pid, &status, WNOHANG) == pid { return (pid, status) }
            usleep(100)
        }
        if point.delay > 0 { usleep(point.delay) }
        return (pid, nil)
    }

    /// Runs `arguments`, kills the client with SIGKILL at `point`, and waits for the server
    /// side to end.
    /// - Returns: whether the kill landed while the lock directory existed and the client ran.
    static func kill(_ a: Account, _ arguments: [String], at point: KillPoint) throws -> Bool {
        let (pid, ended) = try Self.start(a, arguments, until: point)
        var locked = false
        if ended == nil {
            locked = access(a.sshDirectory + "/.keysmith.lock", F_OK) == 0
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // Killed after it had already ended: no mid-way kill.
            if status & 0x7F != SIGKILL { locked = false }
        }
        try a.settle()
        return locked
    }

    /// Runs `arguments`, kills the remote script's `edit` with SIGKILL at `point` (a server
    /// side that dies: the OOM killer, an administrator), and waits for the client to give up.
    /// - Returns: whether the kill landed while the lock directory existed.
    static func killRemote(_ a: Account, _ arguments: [String], at point: KillPoint) throws -> Bool {
        let (pid, ended) = try Self.start(a, arguments, until: point)
        var locked = false
        if ended == nil, let remote = a.remoteEdit() {
            locked = access(a.sshDirectory + "/.keysmith.lock", F_OK) == 0
            Glibc.kill(remote, SIGKILL)
        }
        if ended == nil {
            // The client must end by itself: its channel closes without an exit status.
            var status: Int32 = 0
            var waited = 0
            while waitpid(pid, &status, WNOHANG) != pid {
                waited += 1
                if waited == 6000 {
                    Issue.record("the client still ran 60 s after the remote script was killed (\(point))")
                    Glibc.kill(pid, SIGKILL)
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    break
                }
                usleep(10_000)
            }
        }
        try a.settle()
        return locked
    }

    /// What the faults of one sweep did.
    struct Counts: CustomStringConvertible {
        var points = 0
        var old = 0
        var new = 0
        /// Faults that struck while the lock directory existed.
        var locked = 0
        /// Locks left behind (by a killed SFTP client or remote script: no remote process
        /// remains to release them).
        var staleLocks = 0
        /// Temporary files left behind (by a killed SFTP client or remote script), each
        /// removed by the next deploy.
        var temporaries = 0

        var description: String {
            "\(self.points) points: \(self.old) old, \(self.new) new, \(self.locked) struck under the lock"
                + (self.staleLocks + self.temporaries > 0
                    ? ", \(self.staleLocks) stale locks and \(self.temporaries) temporary files left" : "")
        }
    }

    /// Runs each point's operation from its old file, `strike` making the run fail somewhere;
    /// checks after each that the file is whole and that nothing blocks the next deploy.
    ///
    /// - Parameters:
    ///   - strike: runs one deploy with the fault at the point; returns whether it struck
    ///     while the lock was held. The server side has ended when it returns.
    ///   - full: runs one deploy to its end, straight to sshd.
    static func sweep<Point: CustomStringConvertible>(
        _ a: Account,
        sftp: Bool,
        leavesFiles: Bool? = nil,
        points: [(Operation, Point)],
        strike: (Operation, Point) throws -> Bool,
        full: (Operation) throws -> ProcessResult
    ) throws -> Counts {
        var counts = Counts()
        var staleLockWaited = false
        for (index, (operation, point)) in points.enumerated() {
            let (old, new) = (operation.old(a), operation.new(a))
            let what = operation.command + (sftp ? " -s " : " ") + point.description
            if Array(try readBytes(a.target)) != old { try a.install(old) }
            counts.points += 1
            if try strike(operation, point) { counts.locked += 1 }
            switch try Self.outcome(a, old: old, new: new, what) {
            case .old: counts.old += 1
            case .new: counts.new += 1
            case nil: break
            }
            var left = try a.leftovers()
            var runNext = index % 6 == 5
            if leavesFiles ?? sftp {
                // A killed SFTP client, or a killed remote script, leaves what it held: the
                // lock (taken over by the next deploy: after the stale time unchanged over SFTP,
                // waited out once per sweep, or at once when its holder's process is gone) and its
                // temporary files, which the next deploy that takes the lock must remove: a
                // point that leaves one is followed by a full deploy that must leave nothing.
                let temporaries = left.filter { $0.hasPrefix("authorized_keys.keysmith.") }
                if !temporaries.isEmpty {
                    counts.temporaries += temporaries.count
                    runNext = true
                }
                if left.contains(".keysmith.lock") {
                    counts.staleLocks += 1
                    if staleLockWaited && sftp {
                        try a.removeLock()
                    } else {
                        staleLockWaited = true
                        runNext = true
                    }
                }
                left = left.filter { !$0.hasPrefix("authorized_keys.keysmith.") && $0 != ".keysmith.lock" }
            }
            #expect(left.isEmpty, "\(what) left \(left) in ~/.ssh")
            // Every few points, and after a stale lock: OpenSSH still logs in with K0, and the
            // next deploy succeeds.
            if runNext {
                let login = try a.sshd.sshLogin(identity: a.k0)
                #expect(login.status == 0, "\(what): ssh -i K0 failed afterwards: \(login)")
                // A fault after the replacement leaves the new file already; a deploy with
                // nothing to change reads without the lock and would leave a stale one alone.
                // From the old file the next deploy must write, so it must break that lock.
                if Array(try readBytes(a.target)) != old { try a.install(old) }
                let next = try full(operation)
                #expect(next.status == 0, "\(what): the next deploy failed: \(next)")
                #expect(Array(try readBytes(a.target)) == new, "\(what): the next deploy gave another file")
                let after = try a.leftovers()
                #expect(after.isEmpty, "\(what): the next deploy left \(after)")
                try a.settle()
            }
        }
        #expect(try a.sshd.sshLogin(identity: a.k0).status == 0, "ssh -i K0 failed at the end")
        return counts
    }

    /// The SIGKILL sweep, copy-id and remove-id taking turns: one full run of each measured,
    /// then kills spread from 0 to 140 % of the slower, a few random ones, and kills timed to
    /// the lock, the temporary file and the replacement of the file.
    static func sweepKills(_ a: Account, sftp: Bool) throws -> Counts {
        let knownHosts = try a.sshd.knownHostsFile()
        func arguments(_ operation: Operation) -> [String] {
            a.arguments(operation, port: a.sshd.port, knownHosts: knownHosts, sftp: sftp)
        }
        var micros = 0.0
        for operation in Operation.allCases {
            try a.install(operation.old(a))
            let start = Date()
            let measured = try a.run(arguments(operation))
            micros = max(micros, Date().timeIntervalSince(start) * 1_000_000)
            try #require(measured.status == 0, "\(measured)\n\(a.sshd.log)")
            try #require(
                Array(try readBytes(a.target)) == operation.new(a),
                "a full \(operation.command) gave another file"
            )
            try a.settle()
        }
        // The default tier kills at every fourth of the evenly spread times and at one random
        // one; both tiers kill at every point timed to the lock, the upload and the replacement.
        let spread = TestTier.pick(standard: Array(stride(from: 0, to: 26, by: 4)) + [25], full: Array(0..<26))
        var points = spread.map { KillPoint(trigger: .start, delay: UInt32(micros * 1.4 * Double($0) / 25)) }
        points += (0..<TestTier.pick(standard: 1, full: 4)).map { _ in
            KillPoint(trigger: .start, delay: UInt32(Double.random(in: 0...micros)))
        }
        points += [0, 300, 1000, 3000, 10000].map { KillPoint(trigger: .lock, delay: $0) }
        points += [0, 1000].map { KillPoint(trigger: .upload, delay: $0) }
        points += [0, 0, 2000].map { KillPoint(trigger: .replaced, delay: $0) }
        return try Self.sweep(
            a,
            sftp: sftp,
            points: points.enumerated().map { (Operation.allCases[$0.offset % 2], $0.element) },
            strike: { try Self.kill(a, arguments($0), at: $1) },
            full: { try a.run(arguments($0)) }
        )
    }

    /// The dropped-connection sweep, copy-id and remove-id taking turns: one deploy of each
    /// through the proxy measures the bytes each way, then connections are cut after N bytes
    /// in each direction, N from the first bytes of the handshake to the last of the transcript.
    static func sweepCuts(_ a: Account, sftp: Bool) throws -> (Counts, [String]) {
        let proxy = try CuttingProxy(upstream: a.sshd.port, lockPath: a.sshDirectory + "/.keysmith.lock")
        defer { proxy.stop() }
        let knownHosts = a.dir.path("known_hosts_proxy")
        try writeText(
            knownHosts,
            a.sshd.hostKeys.values.map { "[\(a.sshd.host)]:\(proxy.port) \($0)\n" }.joined(),
            mode: 0o644
        )
        let direct = try a.sshd.knownHostsFile()
        var totals: [Operation: (toServer: Int, toClient: Int)] = [:]
        for operation in Operation.allCases {
            try a.install(operation.old(a))
            proxy.arm(nil)
            let measured = try a.run(a.arguments(operation, port: proxy.port, knownHosts: knownHosts, sftp: sftp))
            totals[operation] = proxy.waitForConnection()
            try #require(measured.status == 0, "\(measured)\n\(a.sshd.log)")
            try #require(
                Array(try readBytes(a.target)) == operation.new(a),
                "a full \(operation.command) gave another file"
            )
            try a.settle()
        }

        var points: [(Operation, CuttingProxy.Cut)] = []
        for direction in [CuttingProxy.Direction.toServer, .toClient] {
            // Fractions of the transcript, and offsets from its start and its end.
            let offsets: [(fromEnd: Bool, n: Int)] =
                [0, 21, 1500].map { (false, $0) } + [400, 150, 20, 1].map { (true, $0) }
            var cuts = offsets.map { ($0.fromEnd, $0.n, 0.0) }
            // The default tier cuts at half the transcript; both tiers cut at every offset.
            let tenths = TestTier.pick(standard: [5], full: Array(1..<10))
            cuts += tenths.map { (false, 0, Double($0) / 10) }
            for (i, cut) in cuts.enumerated() {
                let operation = Operation.allCases[(i + points.count) % 2]
                let total = direction == .toServer ? totals[operation]!.toServer : totals[operation]!.toClient
                let n = cut.2 > 0 ? Int(Double(total) * cut.2) : cut.0 ? total - cut.1 : cut.1
                points.append((operation, CuttingProxy.Cut(direction: direction, after: n, reset: i % 2 == 1)))
            }
        }
        let counts = try Self.sweep(
            a,
            sftp: sftp,
            points: points,
            strike: { operation, cut in
                proxy.arm(cut)
                _ = try a.run(a.arguments(operation, port: proxy.port, knownHosts: knownHosts, sftp: sftp))
                _ = proxy.waitForConnection()
                try a.settle()
                return proxy.cutWhileLocked
            },
            full: { try a.run(a.arguments($0, port: a.sshd.port, knownHosts: direct, sftp: sftp)) }
        )
        let bytes = Operation.allCases.map { op in
            "\(op.command) \(totals[op]!.toServer) bytes up, \(totals[op]!.toClient) down"
        }
        return (counts, bytes)
    }

    @Test("copy-id and remove-id killed with SIGKILL at 40 points (19 by default): the old file or the new, whole")
    func sigkillShell() throws {
        let a = try Account()
        let counts = try Self.sweepKills(a, sftp: false)
        #expect(counts.old > 0 && counts.new > 0, "\(counts)")
        #expect(counts.locked > 0, "no kill struck while the lock was held: \(counts)")
        print("DeployFaultTests.sigkillShell: \(counts)")
    }

    @Test(
        "the remote script killed with SIGKILL under the lock: the old file or the new; the next deploy breaks the lock"
    )
    func remoteKilled() throws {
        let a = try Account()
        let knownHosts = try a.sshd.knownHostsFile()
        func arguments(_ operation: Operation) -> [String] {
            a.arguments(operation, port: a.sshd.port, knownHosts: knownHosts, sftp: false)
        }
        var points = [0, 300, 1000, 3000].map { KillPoint(trigger: .lock, delay: $0) }
        points += [KillPoint(trigger: .snapshot, delay: 0)]
        points += [0, 300, 1000].map { KillPoint(trigger: .upload, delay: $0) }
        points += [0, 0].map { KillPoint(trigger: .replaced, delay: $0) }
        let counts = try Self.sweep(
            a,
            sftp: false,
            leavesFiles: true,
            points: points.enumerated().map { (Operation.allCases[$0.offset % 2], $0.element) },
            strike: { try Self.killRemote(a, arguments($0), at: $1) },
            full: { try a.run(arguments($0)) }
        )
        #expect(counts.old > 0 && counts.new > 0, "\(counts)")
        #expect(counts.staleLocks > 0, "no kill left the lock behind: \(counts)")
        // Each was removed by the deploy after it (the sweep checks that it left nothing).
        #expect(counts.temporaries > 0, "no kill left a temporary file behind: \(counts)")
        print("DeployFaultTests.remoteKilled: \(counts)")
    }

    @Test(
        "copy-id -s and remove-id -s killed with SIGKILL at 40 points (19 by default): the old file or the new, whole"
    )
    func sigkillSFTP() throws {
        let a = try Account()
        let counts = try Self.sweepKills(a, sftp: true)
        #expect(counts.old > 0 && counts.new > 0, "\(counts)")
        #expect(counts.locked > 0, "no kill struck while the lock was held: \(counts)")
        // Each of those left its lock (no remote process remains to remove it); the next
        // deploy after the first broke it.
        #expect(counts.staleLocks > 0, "\(counts)")
        print("DeployFaultTests.sigkillSFTP: \(counts)")
    }

    @Test(
        "copy-id and remove-id cut off after N bytes each way (32 cuts, 16 by default): the old file or the new, whole"
    )
    func droppedShell() throws {
        let a = try Account()
        let (counts, bytes) = try Self.sweepCuts(a, sftp: false)
        #expect(counts.old > 0 && counts.new > 0, "\(counts)")
        #expect(counts.locked > 0, "no cut struck while the lock was held: \(counts)")
        print("DeployFaultTests.droppedShell (\(bytes.joined(separator: ", "))): \(counts)")
    }

    @Test(
        "copy-id -s and remove-id -s cut off after N bytes each way (32 cuts, 16 by default): the old file or the new, whole"
    )
    func droppedSFTP() throws {
        let a = try Account()
        let (counts, bytes) = try Self.sweepCuts(a, sftp: true)
        #expect(counts.old > 0 && counts.new > 0, "\(counts)")
        #expect(counts.locked > 0, "no cut struck while the lock was held: \(counts)")
        // Each of those left its lock (no remote process remains to remove it); the next
        // deploy after the first broke it.
        #expect(counts.staleLocks > 0, "\(counts)")
        print("DeployFaultTests.droppedSFTP (\(bytes.joined(separator: ", "))): \(counts)")
    }
}

/// A loopback TCP proxy in front of one port that forwards each connection's bytes both ways
/// and, when armed with a cut, drops the connection once N bytes have gone one way and more
/// arrive: it closes both sides, with FIN or (`reset`) RST.
final class CuttingProxy: @unchecked Sendable {  // @unchecked: mutable state is only touched under `condition`
    enum Direction: String, Sendable {
        case toServer = "client→server"
        case toClient = "server→client"
    }

    struct Cut: Sendable, CustomStringConvertible {
        var direction: Direction
        var after: Int
        var reset: Bool

        var description: String {
            "cut \(self.direction.rawValue) after \(self.after) bytes" + (self.reset ? " with RST" : "")
        }
    }

    let port: Int
    private let listener: Int32
    private let upstream: Int
    private let condition = NSCondition()
    private var cut: Cut?
    private var connections = 0
    private var finished = 0
    private var totals = (toServer: 0, toClient: 0)
    /// The lock directory whose presence at a cut is recorded.
    private let lockPath: String?
    private var struckLocked = false

    init(upstream: Int, lockPath: String? = nil) throws {
        self.upstream = upstream
        self.lockPath = lockPath
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard bound == 0, named == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw FixtureError("cannot listen on loopback")
        }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in self.acceptLoop() }
    }

    /// Sets the cut for the next connection (nil: forward everything).
    func arm(_ cut: Cut?) {
        self.condition.withLock {
            self.cut = cut
            self.struckLocked = false
        }
    }

    /// Whether the last cut was made while `lockPath` existed.
    var cutWhileLocked: Bool { self.condition.withLock { self.struckLocked } }

    /// Waits until every accepted connection has been closed; the bytes the last one forwarded.
    func waitForConnection() -> (toServer: Int, toClient: Int) {
        self.condition.withLock {
            while self.finished < self.connections { self.condition.wait() }
            return self.totals
        }
    }

    /// Stops accepting (the thread blocked in accept(2) wakes and closes the listener).
    func stop() { shutdown(self.listener, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        while true {
            let client = accept(self.listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            let cut = self.condition.withLock {
                self.connections += 1
                return self.cut
            }
            Thread.detachNewThread { [self] in self.relay(client, cut: cut) }
        }
        close(self.listener)
    }

    /// Forwards one connection both ways on two threads, then closes both sockets.
    private func relay(_ client: Int32, cut: Cut?) {
        let server = connectLoopback(port: self.upstream)
        let link = Link(client: client, server: server, cut: cut)
        if server >= 0 {
            let done = DispatchGroup()
            for direction in [Direction.toServer, .toClient] {
                done.enter()
                Thread.detachNewThread {
                    link.pump(direction, lockPath: self.lockPath)
                    done.leave()
                }
            }
            done.wait()
        }
        if link.reset {
            // SO_LINGER 0: close(2) sends RST instead of FIN.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            for fd in [client, server] where fd >= 0 {
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            }
        }
        close(client)
        if server >= 0 { close(server) }
        self.condition.withLock {
            self.totals = link.counts
            if link.struckLocked { self.struckLocked = true }
            self.finished += 1
            self.condition.broadcast()
        }
    }

    /// One proxied connection: its two sockets, the bytes forwarded each way, and the cut.
    final class Link: @unchecked Sendable {  // @unchecked: counters are only touched under `lock`
        let client: Int32
        let server: Int32
        let cut: Cut?
        private let lock = NSLock()
        private var toServer = 0
        private var toClient = 0
        private var cutting = false
        private var didReset = false
        private var locked = false

        init(client: Int32, server: Int32, cut: Cut?) {
            self.client = client
            self.server = server
            self.cut = cut
        }

        var counts: (toServer: Int, toClient: Int) { self.lock.withLock { (self.toServer, self.toClient) } }
        var reset: Bool { self.lock.withLock { self.didReset } }
        var struckLocked: Bool { self.lock.withLock { self.locked } }

        /// Copies bytes one way until end of file, an error, or the cut.
        func pump(_ direction: Direction, lockPath: String?) {
            let (from, to) = direction == .toServer ? (self.client, self.server) : (self.server, self.client)
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                var count = max(n, 0)
                var cutNow = false
                self.lock.withLock {
                    if self.cutting {
                        count = 0
                        return
                    }
                    let sent = direction == .toServer ? self.toServer : self.toClient
                    if let cut = self.cut, cut.direction == direction, sent + count > cut.after {
                        count = cut.after - sent
                        cutNow = n > 0
                    }
                }
                if count > 0 && !self.send(to, buffer, count) {
                    // The other peer is gone: end both directions.
                    shutdown(from, Int32(SHUT_RDWR))
                    shutdown(to, Int32(SHUT_RDWR))
                    return
                }
                self.lock.withLock {
                    if direction == .toServer { self.toServer += count } else { self.toClient += count }
                }
                if cutNow {
                    self.drop(lockPath: lockPath)
                    return
                }
                if n <= 0 || self.lock.withLock({ self.cutting }) {
                    // End of file (or an error) one way: pass it on, unless the link was cut.
                    if !self.lock.withLock({ self.cutting }) { shutdown(to, Int32(SHUT_WR)) }
                    return
                }
            }
        }

        /// Writes `count` bytes of `buffer` to `fd`; false when the peer is gone.
        private func send(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
            var done = 0
            while done < count {
                let n = buffer.withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress! + done, count - done, Int32(MSG_NOSIGNAL))
                }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }

        /// Cuts the link: both sockets stop, and are closed with RST when the cut says so.
        private func drop(lockPath: String?) {
            let reset = self.cut?.reset ?? false
            self.lock.withLock {
                self.cutting = true
                self.didReset = reset
                if let lockPath { self.locked = access(lockPath, F_OK) == 0 }
            }
            // SHUT_RD wakes the other direction's read without sending anything, so a reset
            // link sends RST at close; otherwise both peers get FIN now.
            let how = reset ? Int32(SHUT_RD) : Int32(SHUT_RDWR)
            shutdown(self.client, how)
            shutdown(self.server, how)
        }
    }
}
