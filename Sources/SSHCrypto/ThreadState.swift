internal import COpenSSL

/// Frees OpenSSL's state for the calling thread: its error queue and random generators.
///
/// OpenSSL frees this state itself when a thread ends, but only while the library is still
/// up: `exit` runs `OPENSSL_cleanup`, which forgets every other thread's state, so a thread
/// that ends just after that leaves its state unfreed. A thread whose end another thread
/// waits for calls this first, after its last OpenSSL object is gone. If the thread uses
/// OpenSSL again afterwards, OpenSSL sets the state up again.
package func releaseThreadCryptoState() {
    OPENSSL_thread_stop()
}
