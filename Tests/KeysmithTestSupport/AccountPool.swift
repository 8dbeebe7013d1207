import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Local accounts (useradd, a password, `/bin/sh`) made once per test process and lent to one
/// fixture at a time, so that a test run makes a few dozen accounts instead of one or more
/// per fixture.
///
/// An account comes back as new: when its fixture is released, every process it still runs
/// is killed (and waited for), its shell is `/bin/sh` again, and its home directory is made
/// anew from `/etc/skel` with the mode useradd gave it, so no test sees another's `~/.ssh`.
/// Two fixtures never hold one account at once. The accounts are removed (userdel -r) when
/// the process exits.
final class AccountPool: @unchecked Sendable {  // @unchecked: `idle` and `made` are only touched under `lock`
    static let shared = AccountPool()

    /// The start of every name this pool makes (`ks`, then eight random lowercase letters and
    /// digits); sshd's AllowUsers lets in these accounts and nobody else.
    let prefix = "ks" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8).lowercased()

    private let lock = NSLock()
    private var idle: [SSHDFixture.Account] = []
    private var made = 0
    /// The mode useradd gives a home directory here (login.defs' HOME_MODE or UMASK).
    private var homeMode: mode_t?

    private init() {}

    /// An account with `password` (a fresh random one when nil) and a home as useradd makes it.
    func take(password: String? = nil) throws -> SSHDFixture.Account {
        let reused: SSHDFixture.Account? = self.lock.withLock { self.idle.popLast() }
        if let reused {
            guard let password, password != reused.password else { return reused }
            try Self.setPassword(reused.user, password)
            return SSHDFixture.Account(user: reused.user, password: password, home: reused.home)
        }
        let number: Int = self.lock.withLock {
            self.made += 1
            return self.made
        }
        let user = self.prefix + "n" + String(number)
        let account = SSHDFixture.Account(
            user: user,
            password: password ?? "pw-" + UUID().uuidString,
            home: "/home/\(user)"
        )
        let add = try runProcess("/usr/sbin/useradd", ["-m", "-s", "/bin/sh", user])
        guard add.status == 0 else { throw FixtureError("useradd failed: \(add.stderr)") }
        ExitCleanup.shared.removeAtExit(user)
        try Self.setPassword(user, account.password)
        var info = stat()
        if stat(account.home, &info) == 0 { self.lock.withLock { self.homeMode = info.st_mode & 0o7777 } }
        return account
    }

    /// Takes `account` back once no fixture uses it: its processes killed, its shell and its
    /// home restored. An account that cannot be restored is removed instead.
    func giveBack(_ account: SSHDFixture.Account) {
        do {
            try Self.killProcesses(of: account.user)
            guard let entry = getpwnam(account.user) else { throw FixtureError("no account \(account.user)") }
            let (uid, gid) = (entry.pointee.pw_uid, entry.pointee.pw_gid)
            if String(cString: entry.pointee.pw_shell) != "/bin/sh" {
                _ = try runProcess("/usr/sbin/usermod", ["-s", "/bin/sh", account.user]).checked("usermod")
            }
            let mode = self.lock.withLock { self.homeMode } ?? 0o755
            try Self.remakeHome(account.home, uid: uid, gid: gid, mode: mode)
            self.lock.withLock { self.idle.append(account) }
        } catch {
            ExitCleanup.remove(account.user)
        }
    }

    private static func setPassword(_ user: String, _ password: String) throws {
        let pw = try runProcess("/usr/sbin/chpasswd", [], input: Data("\(user):\(password)\n".utf8))
        guard pw.status == 0 else { throw FixtureError("chpasswd failed: \(pw.stderr)") }
    }

    /// SIGKILL to every process of `user` (sshd's per-connection children, a remote script a
    /// test left running), then waits until none is left, for up to 10 s.
    private static func killProcesses(of user: String) throws {
        for _ in 0..<200 {
            // pkill's status is 1 when nothing matched: then the account is idle.
            guard try runProcess("/usr/bin/pkill", ["-KILL", "-u", user]).status == 0 else { return }
            usleep(50_000)
        }
        throw FixtureError("processes of \(user) outlived SIGKILL")
    }

    /// Removes `home` with everything in it and makes it again from /etc/skel, owned by the account.
    private static func remakeHome(_ home: String, uid: uid_t, gid: gid_t, mode: mode_t) throws {
        let files = FileManager.default
        if files.fileExists(atPath: home) { try files.removeItem(atPath: home) }
        guard mkdir(home, 0o700) == 0, chown(home, uid, gid) == 0 else {
            throw FixtureError("cannot make \(home)")
        }
        for name in (try? files.contentsOfDirectory(atPath: "/etc/skel")) ?? [] {
            let path = home + "/" + name
            try files.copyItem(atPath: "/etc/skel/" + name, toPath: path)
            guard lchown(path, uid, gid) == 0 else { throw FixtureError("cannot chown \(path)") }
        }
        guard chmod(home, mode) == 0 else { throw FixtureError("cannot chmod \(home)") }
    }
}

/// Removes the pool's accounts when the test process exits.
final class ExitCleanup: @unchecked Sendable {  // @unchecked: `users` is only touched under `lock`
    static let shared: ExitCleanup = {
        let cleanup = ExitCleanup()
        atexit { for user in ExitCleanup.shared.takeAll() { ExitCleanup.remove(user) } }
        return cleanup
    }()

    private let lock = NSLock()
    private var users: [String] = []

    func removeAtExit(_ user: String) { self.lock.withLock { self.users.append(user) } }

    private func takeAll() -> [String] {
        self.lock.withLock {
            defer { self.users = [] }
            return self.users
        }
    }

    /// Kills the account's processes and removes it with its home (spawned directly: at exit
    /// Foundation's Process may no longer run).
    static func remove(_ user: String) {
        let commands = [("/usr/bin/pkill", ["-KILL", "-u", user]), ("/usr/sbin/userdel", ["-r", "-f", user])]
        for (tool, arguments) in commands {
            guard let pid = try? spawnDaemon(tool, arguments, log: "/dev/null") else { continue }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }
}
