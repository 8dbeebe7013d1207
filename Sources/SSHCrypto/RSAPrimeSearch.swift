internal import COpenSSL
internal import Dispatch

/// RSA key generation with the two prime searches on separate cores.
///
/// OpenSSL's own generator finds p, then q, on one thread. The search for a random
/// prime is a sequence of independent trials, so two threads that each keep
/// generating primes, with the first two found becoming p and q, take about half
/// the time of one thread finding both (for a modulus of odd size, each thread
/// searches for its own factor's size).
///
/// Each prime comes from `BN_generate_prime_ex2`, so OpenSSL's sieve and
/// Miller-Rabin rounds decide primality. On top, the constraints FIPS 186-4 B.3.1
/// and OpenSSL's SP 800-56B generator apply hold:
/// - each factor has half the modulus bits with its top two bits set, so
///   p, q ≥ √2·2^(nlen/2 − 1) and n = p·q has exactly `bits` bits;
/// - gcd(e, p − 1) = gcd(e, q − 1) = 1 (e = 65537 is prime: p mod e ≠ 1);
/// - |p − q| > 2^(nlen/2 − 100);
/// - d = e⁻¹ mod lcm(p − 1, q − 1) and d > 2^(nlen/2).
enum RSAPrimeSearch {
    /// The public exponent OpenSSH and OpenSSL use.
    static let publicExponent: [UInt8] = [0x01, 0x00, 0x01]
    static let publicExponentWord: UInt = 65537

    /// A new private key of exactly `bits` bits with e = 65537.
    static func generate(bits: Int) throws(CryptoError) -> RSAKey {
        let e = try BigNumber(Self.publicExponent)
        // A key that fails the d > 2^(nlen/2) check (probability about 2^-1500) is
        // drawn again; bound the loop so a broken library cannot spin forever.
        for _ in 0..<8 {
            let (p, q) = try Self.primePair(bits: bits)
            if let key = try Self.key(p: p, q: q, e: e, bits: bits) { return key }
        }
        throw CryptoError(.libraryFailure, "RSA key generation kept producing invalid keys")
    }

    /// Two distinct primes whose product has `bits` bits, larger first.
    static func primePair(bits: Int) throws(CryptoError) -> (BigNumber, BigNumber) {
        let search = Search(bits: bits)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            search.run(worker: worker)
        }
        return try search.result()
    }

    /// The key built from `p`, `q` and `e`, or nil if d is too small.
    private static func key(p: BigNumber, q: BigNumber, e: BigNumber, bits: Int) throws(CryptoError) -> RSAKey? {
        let ctx = try BigNumberContext()
        let n = try BigNumber(secret: false)
        let pMinus1 = try BigNumber(secret: true)
        let qMinus1 = try BigNumber(secret: true)
        let gcd = try BigNumber(secret: true)
        let product = try BigNumber(secret: true)
        let lcm = try BigNumber(secret: true)
        let d = try BigNumber(secret: true)
        let iqmp = try BigNumber(secret: true)
        for secret in [p, q, pMinus1, qMinus1, product, lcm] { BN_set_flags(secret.pointer, BN_FLG_CONSTTIME) }
        guard BN_mul(n.pointer, p.pointer, q.pointer, ctx.pointer) == 1,
            BN_sub(pMinus1.pointer, p.pointer, BN_value_one()) == 1,
            BN_sub(qMinus1.pointer, q.pointer, BN_value_one()) == 1,
            BN_gcd(gcd.pointer, pMinus1.pointer, qMinus1.pointer, ctx.pointer) == 1,
            BN_mul(product.pointer, pMinus1.pointer, qMinus1.pointer, ctx.pointer) == 1,
            BN_div(lcm.pointer, nil, product.pointer, gcd.pointer, ctx.pointer) == 1
        else { throw openSSLError(.libraryFailure, "RSA key arithmetic failed") }
        guard n.bitCount == bits else {
            throw CryptoError(.libraryFailure, "RSA modulus has \(n.bitCount) bits, not \(bits)")
        }
        // FIPS 186-4 B.3.1: d = e⁻¹ mod lcm(p − 1, q − 1), and iqmp = q⁻¹ mod p.
        guard BN_mod_inverse(d.pointer, e.pointer, lcm.pointer, ctx.pointer) != nil,
            BN_mod_inverse(iqmp.pointer, q.pointer, p.pointer, ctx.pointer) != nil
        else { throw openSSLError(.libraryFailure, "BN_mod_inverse failed") }
        guard d.bitCount > bits / 2 + 1 else { return nil }
        // The checking initialiser derives the CRT exponents and verifies n = p·q,
        // iqmp·q ≡ 1 (mod p) and e·d ≡ 1 modulo p − 1 and q − 1.
        return try RSAKey(
            n: n.bytes,
            e: e.bytes,
            d: d.secureBytes,
            iqmp: iqmp.secureBytes,
            p: p.secureBytes,
            q: q.secureBytes
        )
    }

    /// The shared state of the two searching threads. Every access to `slots`,
    /// `failure` and the counters goes through `lock`.
    private final class Search: @unchecked Sendable {
        // @unchecked: all mutable state is guarded by `lock`.
        private let lock = DispatchQueue(label: "keysmith.rsa-prime-search")
        /// The sizes of p and q: p gets the extra bit of an odd modulus.
        let sizes: [Int]
        private var slots: [BigNumber?] = [nil, nil]
        private var failure: CryptoError?
        private let bits: Int

        init(bits: Int) {
            self.bits = bits
            self.sizes = [(bits + 1) / 2, bits / 2]
        }

        /// The slots worker `w` fills: either when both primes have one size, else its own.
        private func eligible(_ worker: Int) -> [Int] {
            self.sizes[0] == self.sizes[1] ? [0, 1] : [worker]
        }

        /// Whether worker `w` has nothing left to find (read by OpenSSL's callback).
        func isDone(_ worker: Int) -> Bool {
            self.lock.sync {
                self.failure != nil || self.eligible(worker).allSatisfy { self.slots[$0] != nil }
            }
        }

        func run(worker: Int) {
            // This may be a thread of Dispatch's pool, which stays idle afterwards and ends
            // when it likes, perhaps while the process exits: free its OpenSSL state now.
            defer { releaseThreadCryptoState() }
            let context = Worker(search: self, index: worker)
            let unmanaged = Unmanaged.passRetained(context)
            defer { unmanaged.release() }
            do throws(CryptoError) {
                guard let callback = BN_GENCB_new() else {
                    throw openSSLError(.libraryFailure, "BN_GENCB_new failed")
                }
                defer { BN_GENCB_free(callback) }
                BN_GENCB_set(callback, RSAPrimeSearch.primeSearchCallback, unmanaged.toOpaque())
                let ctx = try BigNumberContext()
                while !self.isDone(worker) {
                    let size = self.lock.sync { () -> Int in
                        let open = self.eligible(worker).first { self.slots[$0] == nil } ?? worker
                        return self.sizes[open]
                    }
                    let candidate = try BigNumber(secret: true)
                    guard BN_generate_prime_ex2(candidate.pointer, Int32(size), 0, nil, nil, callback, ctx.pointer) == 1
                    else {
                        // The callback stops a search once the other thread has found enough.
                        if self.isDone(worker) { break }
                        throw openSSLError(.libraryFailure, "BN_generate_prime_ex2 failed")
                    }
                    let residue = BN_mod_word(candidate.pointer, RSAPrimeSearch.publicExponentWord)
                    guard residue != UInt.max else { throw openSSLError(.libraryFailure, "BN_mod_word failed") }
                    // gcd(e, p − 1) = 1 for prime e unless p ≡ 1 (mod e).
                    guard residue != 1, candidate.bitCount == size else { continue }
                    try self.offer(candidate, worker: worker)
                }
            } catch {
                self.lock.sync { if self.failure == nil { self.failure = error } }
            }
        }

        /// Puts a new prime in a free slot, unless it is too close to the other one.
        private func offer(_ prime: BigNumber, worker: Int) throws(CryptoError) {
            let difference = try BigNumber(secret: true)
            let subtracted = self.lock.sync { () -> Bool in
                guard let slot = self.eligible(worker).first(where: { self.slots[$0] == nil }) else { return true }
                if let existing = self.slots[1 - slot] {
                    guard BN_sub(difference.pointer, existing.pointer, prime.pointer) == 1 else { return false }
                    // FIPS 186-4 B.3.1: |p − q| > 2^(nlen/2 − 100).
                    guard difference.bitCount > self.bits / 2 - 100 + 1 else { return true }
                }
                self.slots[slot] = prime
                return true
            }
            guard subtracted else { throw openSSLError(.libraryFailure, "BN_sub failed") }
        }

        /// The two primes, larger first.
        func result() throws(CryptoError) -> (BigNumber, BigNumber) {
            let (failure, a, b) = self.lock.sync { (self.failure, self.slots[0], self.slots[1]) }
            if let failure { throw failure }
            guard let a, let b else { throw CryptoError(.libraryFailure, "RSA prime search ended without two primes") }
            return b < a ? (a, b) : (b, a)
        }
    }

    /// What OpenSSL's callback needs: the search and which thread is asking.
    private final class Worker {
        let search: Search
        let index: Int
        init(search: Search, index: Int) {
            self.search = search
            self.index = index
        }

        var shouldStop: Bool { self.search.isDone(self.index) }
    }

    /// OpenSSL calls this for every candidate and Miller-Rabin round; returning 0
    /// abandons the search, which a thread does once the primes it could supply are found.
    private static let primeSearchCallback: @convention(c) (Int32, Int32, OpaquePointer?) -> Int32 = {
        _,
        _,
        callback in
        guard let callback, let argument = BN_GENCB_get_arg(callback) else { return 1 }
        let worker = Unmanaged<Worker>.fromOpaque(argument).takeUnretainedValue()
        return worker.shouldStop ? 0 : 1
    }
}
