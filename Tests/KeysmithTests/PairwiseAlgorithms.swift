import KeysmithTestSupport

/// The pairwise covering arrays the interop matrices run in the default tier (docs/testing.md).
enum PairwiseAlgorithms {
    /// Whether `cipher` takes a MAC: the AEAD ciphers (chacha20-poly1305, AES-GCM) ignore it.
    static func usesMAC(_ cipher: String) -> Bool { cipher.hasSuffix("-ctr") }

    /// Rows of (kex, cipher, MAC, host key, then one value of each of `more`) covering every
    /// pair; the MAC is `""` (not forced) exactly when the row's cipher is an AEAD one, so a
    /// MAC is paired with every kex, host key and CTR cipher, and never with an AEAD cipher.
    static func rows(
        keyExchange: [String],
        ciphers: [String],
        macs: [String],
        hostKeys: [String],
        more: [[String]] = []
    ) -> [[String]] {
        PairwiseCover.rows([keyExchange, ciphers, macs + [""], hostKeys] + more) { i, a, j, b in
            // Parameter 1 is the cipher, 2 the MAC.
            guard i == 1 && j == 2 else { return true }
            return Self.usesMAC(a) == !b.isEmpty
        }
    }

    /// ``rows(keyExchange:ciphers:macs:hostKeys:more:)`` as copy-id cases.
    static func cases(keyExchange: [String], ciphers: [String], macs: [String], hostKeys: [String]) -> [AlgorithmCase] {
        Self.rows(keyExchange: keyExchange, ciphers: ciphers, macs: macs, hostKeys: hostKeys).map {
            AlgorithmCase(kex: $0[0], cipher: $0[1], hostKey: $0[3], mac: $0[2].isEmpty ? nil : $0[2])
        }
    }
}
