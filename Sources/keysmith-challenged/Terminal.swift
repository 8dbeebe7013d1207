import ArgumentParser
import CommandLineText
import KeyVerify
import SSHConnect
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs `body`, turning any failure into one sentence on stderr and exit status 1, worded
/// as keysmith words it: keysmith runs these commands for `keysmith challenge`.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as Failure {
        printError("keysmith: \(sentence(error.message))")
        throw ExitCode(1)
    } catch let error as KeyVerifyError {
        printError("keysmith: \(sentence(error.message))")
        throw ExitCode(1)
    } catch let error as SSHKeyError {
        printError("keysmith: \(sentence(error.message))")
        throw ExitCode(1)
    }
}
