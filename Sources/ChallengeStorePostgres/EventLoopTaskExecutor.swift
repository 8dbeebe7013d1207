import NIOCore

/// Runs a store's tasks on one SwiftNIO event loop thread instead of Swift's cooperative pool.
///
/// The cooperative pool has one thread per core, and any code in the process that blocks one
/// (a synchronous `waitpid`, a long computation) holds back every task waiting to run. A store
/// measures its timeout in wall-clock time, so a starved pool would make a database that
/// answered at once look as if it had not answered: the connection pool's `run()` task, the
/// continuation of a finished query and the timer would all wait for a thread. On an event
/// loop thread, which nothing in keysmith blocks, the store's work runs when it is ready.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
