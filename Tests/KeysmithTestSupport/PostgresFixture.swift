import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server (Debian's `postgresql` package) on a loopback port and a socket
/// directory of its own, for the tests of the PostgreSQL challenge store. Needs root.
///
/// ``shared()`` is one server for the whole test process (starting one costs a second or
/// two): each test makes its own database with ``createDatabase()``. A test that stops and
/// restarts its server makes a fixture of its own with ``init()``.
///
/// The cluster lives in a fresh directory under the temporary directory, owned by the
/// `postgres` account (initdb refuses to run as root), made with `initdb --auth=trust`
/// (nothing but loopback and the socket directory reach it) and run with `fsync=off`.
/// Each start is watched by a keeper, a shell between the test process and `postgres`
/// whose standard input is a pipe only the test process writes to. When the test process
/// ends in any way (exit, a crash, SIGKILL) the pipe closes, and the keeper stops the
/// server (fast shutdown) and removes the directory; no server outlives the tests.
public final class PostgresFixture: @unchecked Sendable {
    // @unchecked: `keeper` is only touched under `lock`.

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The directory of the Unix-domain socket (`.s.PGSQL.PORT`).
    public let socketDirectory: String
    /// The cluster's directory (data, socket, log).
    public let directory: String
    /// The directory of PostgreSQL's programs (`/usr/lib/postgresql/VERSION/bin`).
    public let binaries: String

    private let lock = NSLock()
    private var keeper: Keeper?

    /// The process's shared server, started on first use.
    public static func shared() throws -> PostgresFixture {
        try sharedServer.get()
    }

    private static let sharedServer = Result { try PostgresFixture() }

    /// Makes a new cluster and starts its server.
    public init() throws {
        self.binaries = try Self.findBinaries()
        var template = Array((NSTemporaryDirectory() + "/keysmith-pg.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        self.directory = String(cString: made)
        self.socketDirectory = self.directory + "/socket"
        guard let account = getpwnam("postgres") else {
            try? FileManager.default.removeItem(atPath: self.directory)
            throw FixtureError("there is no postgres account: install the Debian package postgresql")
        }
        let uid = account.pointee.pw_uid
        let gid = account.pointee.pw_gid
        guard mkdir(self.socketDirectory, 0o700) == 0, chown(self.directory, uid, gid) == 0,
            chown(self.socketDirectory, uid, gid) == 0
        else {
            try? FileManager.default.removeItem(atPath: self.directory)
            throw FixtureError("cannot prepare \(self.directory): \(String(cString: strerror(errno)))")
        }
        let initdb = try runProcess(
            "/usr/bin/setpriv",
            Self.asPostgres + [
                self.binaries + "/initdb", "-D", self.directory + "/data", "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-sync", "--no-instructions",
            ]
        )
        guard initdb.status == 0 else {
            try? FileManager.default.removeItem(atPath: self.directory)
            throw FixtureError("initdb failed: \(initdb.stderr)")
        }
        var lastError = ""
        for _ in 0..<5 {
            let port = try SSHDFixture.freePort()
            do {
                self.keeper = try Keeper(
                    binaries: self.binaries,
                    directory: self.directory,
                    socketDirectory: self.socketDirectory,
                    port: port
                )
                self.port = port
                return
            } catch {
                lastError = "\(error)"
            }
        }
        try? FileManager.default.removeItem(atPath: self.directory)
        throw FixtureError("PostgreSQL did not start: \(lastError)")
    }

    deinit {
        if let keeper = self.lock.withLock({ self.keeper }) {
            keeper.stop(keepingData: false)
        } else {
            try? FileManager.default.removeItem(atPath: self.directory)
        }
    }

    /// `setpriv` arguments that run the rest of the command as the `postgres` account.
    private static let asPostgres = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]

    /// The newest `/usr/lib/postgresql/VERSION/bin` holding `postgres`.
    private static func findBinaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        guard let version = versions.first(where: { access("\(root)/\($0)/bin/postgres", X_OK) == 0 }) else {
            throw FixtureError("no PostgreSQL server in \(root)/*/bin: install the Debian package postgresql")
        }
        return "\(root)/\(version)/bin"
    }

    /// Starts the server (again, after ``stop()``) on its port and socket directory, and
    /// waits up to 60 s for it to accept connections.
    public func start() throws {
        try self.lock.withLock {
            guard self.keeper == nil else { return }
            self.keeper = try Keeper(
                binaries: self.binaries,
                directory: self.directory,
                socketDirectory: self.socketDirectory,
                port: self.port
            )
        }
    }

    /// Stops the server (fast shutdown: sessions are ended) and waits until it has exited;
    /// the data stays for ``start()``.
    public func stop() {
        let keeper = self.lock.withLock {
            defer { self.keeper = nil }
            return self.keeper
        }
        keeper?.stop(keepingData: true)
    }

    /// A new, empty database, named `keysmith_` and 16 random hex digits.
    public func createDatabase() throws -> String {
        let name = "keysmith_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        _ = try self.psql("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    /// A `postgres://` URL of `database` over TCP on 127.0.0.1, as the superuser `postgres`
    /// (trusted), without TLS.
    public func url(database: String) -> String {
        "postgres://postgres@127.0.0.1:\(self.port)/\(database)?sslmode=disable"
    }

    /// A `postgres:///DATABASE?host=SOCKETDIR…` URL of `database` over the socket.
    public func socketURL(database: String) -> String {
        "postgres:///\(database)?host=\(self.socketDirectory)&port=\(self.port)&user=postgres"
    }

    /// Runs `sql` with Debian's `psql` (unaligned, tuples only, stopping at the first
    /// error) over the socket as the superuser; returns what it printed.
    @discardableResult
    public func psql(_ sql: String, database: String) throws -> String {
        let result = try runProcess(
            "/usr/bin/psql",
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.socketDirectory, "-p", String(self.port),
                "-U", "postgres", "-d", database, "-c", sql,
            ]
        )
        guard result.status == 0 else { throw FixtureError("psql \(sql) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The server's log so far (for failure messages).
    public var log: String { (try? readText(self.directory + "/postgres.log")) ?? "" }

    /// One run of the server, from start to stop: the keeper shell and its pipe.
    private final class Keeper: @unchecked Sendable {
        // @unchecked: `pipe` and `pid` are only used by the fixture under its lock, and at exit.
        private let pid: pid_t
        private var pipe: Int32

        /// Starts `postgres` under a keeper shell and waits for it to accept connections.
        init(binaries: String, directory: String, socketDirectory: String, port: Int) throws {
            // The keeper reads one line: "keep" stops the server and keeps the data; end of
            // file (the test process closed it, or ended) stops it and removes the cluster.
            // "wait" reaps postgres before the keeper exits, so a stop is complete when the
            // keeper is.
            let script = #"""
                "$@" &
                server=$!
                read -r what
                kill -INT "$server" 2>/dev/null
                wait "$server"
                if [ "$what" != keep ]; then rm -rf "$KEYSMITH_PG_DIRECTORY"; fi
                """#
            let postgres =
                ["/usr/bin/setpriv"] + PostgresFixture.asPostgres + [
                    binaries + "/postgres", "-D", directory + "/data", "-p", String(port),
                    "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=\(socketDirectory)",
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", "max_connections=400", "-c", "shared_buffers=32MB",
                ]
            var fds: [Int32] = [-1, -1]
            guard Glibc.pipe(&fds) == 0 else { throw FixtureError("pipe: \(String(cString: strerror(errno)))") }
            // Only the keeper may hold the write end's other side: ours is close-on-exec, so no
            // program another test starts keeps the server alive after we are gone.
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            let log = directory + "/postgres.log"
            // Each start appends to the log: only what this start wrote counts.
            let logStart = (try? readBytes(log).count) ?? 0
            do {
                self.pid = try spawnKeeper(
                    ["/bin/sh", "-c", script, "keeper"] + postgres,
                    stdin: fds[0],
                    log: log,
                    environment: ["KEYSMITH_PG_DIRECTORY=\(directory)"]
                )
            } catch {
                close(fds[0])
                close(fds[1])
                throw error
            }
            close(fds[0])
            self.pipe = fds[1]
            Keepers.shared.add(self)
            let deadline = Date().addingTimeInterval(60)
            var started = false
            while Date() < deadline {
                let text = String(decoding: ((try? readBytes(log)) ?? Data()).dropFirst(logStart), as: UTF8.self)
                if text.contains("database system is ready to accept connections") { started = true }
                if started || text.contains("could not bind") || text.contains("could not create") { break }
                var status: Int32 = 0
                if waitpid(self.pid, &status, WNOHANG) == self.pid { break }
                usleep(50_000)
            }
            if started { return }
            self.stop(keepingData: true)
            throw FixtureError("postgres did not start: \((try? readText(log)) ?? "")")
        }

        /// Tells the keeper to stop the server and waits for it.
        func stop(keepingData: Bool) {
            guard self.pipe >= 0 else { return }
            if keepingData { _ = "keep\n".withCString { write(self.pipe, $0, 5) } }
            close(self.pipe)
            self.pipe = -1
            var status: Int32 = 0
            while waitpid(self.pid, &status, 0) < 0 && errno == EINTR {}
            Keepers.shared.remove(self)
        }

        /// At exit: closes the pipe and waits, so that the server is gone when the tests end.
        func stopAtExit() {
            guard self.pipe >= 0 else { return }
            close(self.pipe)
            self.pipe = -1
            var status: Int32 = 0
            while waitpid(self.pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    /// The keepers running, stopped (and waited for) at process exit.
    private final class Keepers: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        static let shared: Keepers = {
            atexit { Keepers.shared.stopAll() }
            return Keepers()
        }()

        private let lock = NSLock()
        private var keepers: [ObjectIdentifier: Keeper] = [:]

        func add(_ keeper: Keeper) { self.lock.withLock { self.keepers[ObjectIdentifier(keeper)] = keeper } }
        func remove(_ keeper: Keeper) {
            _ = self.lock.withLock { self.keepers.removeValue(forKey: ObjectIdentifier(keeper)) }
        }

        func stopAll() {
            let all = self.lock.withLock {
                defer { self.keepers = [:] }
                return Array(self.keepers.values)
            }
            for keeper in all { keeper.stopAtExit() }
        }
    }
}

/// Starts `command` with `stdin` as its standard input and stdout and stderr appended to
/// `log`, with default signal handling, as ``spawnDaemon(_:_:log:)`` does.
private func spawnKeeper(_ command: [String], stdin: Int32, log: String, environment: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdin, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    // A process group of its own: a ^C at the terminal reaches the tests, and the keeper
    // then stops the server itself.
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(
        &attributes,
        Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)
    )
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" } + environment
    env.append("LC_ALL=C.UTF-8")
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
    defer { for p in envp { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
    guard rc == 0 else { throw FixtureError("cannot start \(command[0]): \(String(cString: strerror(rc)))") }
    return pid
}
