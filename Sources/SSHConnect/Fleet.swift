public import SSHCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Works on many hosts at once: a bounded number of threads, each taking the next host,
/// so a fleet deploy runs `parallel` connections at a time and never more.
///
/// Each host's work runs on one thread from start to end (an ``SSHClient`` is not shared),
/// and nothing is shared between hosts but what the caller hands every one of them:
/// read-only settings and, at most, a ``SharedSecret`` asked once for the whole run.
public enum Fleet {
    /// The default number of hosts worked on at the same time.
    public static let defaultParallelism = 16

    /// What happened on one host.
    public struct HostResult<Value: Sendable>: Sendable {
        /// The destination as the user wrote it.
        public var destination: String
        /// The work's value, or why it failed.
        public var outcome: Result<Value, any Error>

        public init(destination: String, outcome: Result<Value, any Error>) {
            self.destination = destination
            self.outcome = outcome
        }
    }

    /// Runs `work` for every destination, at most `parallel` at a time, each on its own thread.
    ///
    /// - Parameters:
    ///   - destinations: the hosts, in the order the results come back.
    ///   - parallel: the most hosts worked on at the same time (at least 1).
    ///   - progress: called after each host ends with (hosts ended, all hosts), from that
    ///     host's thread (calls never overlap).
    ///   - work: the job for one host; what it throws becomes that host's failure.
    /// - Returns: one result per destination, in the order given.
    public static func run<Value: Sendable>(
        _ destinations: [String],
        parallel: Int = defaultParallelism,
        progress: (@Sendable (Int, Int) -> Void)? = nil,
        _ work: @escaping @Sendable (String) throws -> Value
    ) -> [HostResult<Value>] {
        let board = Board<Value>(destinations)
        let threads = max(1, min(parallel, destinations.count))
        let job: @Sendable () -> Void = {
            while let (index, destination) = board.next() {
                let outcome: Result<Value, any Error>
                do { outcome = .success(try work(destination)) } catch { outcome = .failure(error) }
                let ended = board.finish(index, HostResult(destination: destination, outcome: outcome))
                if let progress { board.serialized { progress(ended, destinations.count) } }
            }
        }
        if threads == 1 {
            job()
        } else {
            var ids: [pthread_t] = []
            for _ in 0..<threads {
                if let id = Self.startThread(job) { ids.append(id) }
            }
            // No thread at all (the system refused every one): do the work here.
            if ids.isEmpty { job() }
            for id in ids { pthread_join(id, nil) }
        }
        return board.results()
    }

    /// Starts a joinable thread running `body`; nil when the system refuses one.
    private static func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var id = pthread_t()
        let rc = pthread_create(
            &id,
            nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
                return nil
            },
            box
        )
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            return nil
        }
        return id
    }
}

/// The closure a fleet thread runs, boxed to cross pthread_create's `void *`.
private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// The fleet's shared state: which host is next, and the results so far.
private final class Board<Value: Sendable>: Sendable {
    private struct State {
        var nextIndex = 0
        var ended = 0
        var slots: [Fleet.HostResult<Value>?]
    }

    private let state: Mutex<State>
    /// Held while a progress callback runs, so that calls never overlap.
    private let order = Mutex(())
    private let destinations: [String]

    init(_ destinations: [String]) {
        self.destinations = destinations
        self.state = Mutex(State(slots: Array(repeating: nil, count: destinations.count)))
    }

    func next() -> (Int, String)? {
        self.state.withLock { state -> (Int, String)? in
            guard state.nextIndex < self.destinations.count else { return nil }
            defer { state.nextIndex += 1 }
            return (state.nextIndex, self.destinations[state.nextIndex])
        }
    }

    /// Records a result; returns how many hosts have ended.
    func finish(_ index: Int, _ result: Fleet.HostResult<Value>) -> Int {
        self.state.withLock { state -> Int in
            state.slots[index] = result
            state.ended += 1
            return state.ended
        }
    }

    func serialized(_ body: () -> Void) { self.order.withLock { _ in body() } }

    func results() -> [Fleet.HostResult<Value>] { self.state.withLock { $0.slots.map { $0! } } }
}

/// A secret asked for once and then given to every host that needs it: the password of a
/// fleet run. The first host to need it asks (the others wait meanwhile); an answer of
/// nil (no terminal, the user gave up) is kept too, so nobody is asked twice.
public final class SharedSecret: Sendable {
    private struct State {
        var asked: Bool
        var value: SecureBytes?
    }

    private let state: Mutex<State>
    private let ask: @Sendable () -> SecureBytes?

    /// - Parameter ask: how to get the secret; called at most once.
    public init(ask: @escaping @Sendable () -> SecureBytes?) {
        self.ask = ask
        self.state = Mutex(State(asked: false, value: nil))
    }

    /// A secret known from the start (read from stdin before any host was contacted).
    public init(_ value: SecureBytes?) {
        self.ask = { nil }
        self.state = Mutex(State(asked: true, value: value))
    }

    /// The secret, asking for it the first time.
    public func get() -> SecureBytes? {
        self.state.withLock { state -> SecureBytes? in
            if !state.asked {
                state.asked = true
                state.value = self.ask()
            }
            return state.value
        }
    }

    /// Whether it has been asked for (or given) already.
    public var wasAsked: Bool { self.state.withLock { $0.asked } }
}
