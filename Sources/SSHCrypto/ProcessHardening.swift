internal import CSodium

/// Process-wide protections for a process that holds private keys.
package enum ProcessHardening {
    /// Sets the core file size limit to 0 (soft and hard) and marks the process not
    /// dumpable (`prctl(PR_SET_DUMPABLE, 0)`), so a crash writes no core file with key
    /// material in it and other processes of the same user cannot ptrace it or read
    /// `/proc/PID/mem`. Both hold until exec; children inherit the core limit.
    ///
    /// - Returns: whether both calls succeeded.
    @discardableResult
    package static func disableCoreDumps() -> Bool {
        keysmith_disable_core_dumps() == 0
    }
}
