import KeysmithTestSupport
import SSHProtocol
import Testing

/// The pairwise covering arrays that the interop matrices run in the default tier.
@Suite("pairwise covering arrays")
struct PairwiseCoverTests {
    /// The pairs of values of two different parameters that no row holds, among those
    /// `required` asks for; computed here from the rows alone, apart from the generator.
    static func missing(
        _ rows: [[String]],
        _ parameters: [[String]],
        required: (Int, String, Int, String) -> Bool = { _, _, _, _ in true }
    ) -> [String] {
        var missing: [String] = []
        for i in parameters.indices {
            for j in parameters.indices where j > i {
                for a in parameters[i] {
                    for b in parameters[j] where required(i, a, j, b) {
                        if !rows.contains(where: { $0[i] == a && $0[j] == b }) {
                            missing.append("\(i):\(a) \(j):\(b)")
                        }
                    }
                }
            }
        }
        return missing
    }

    @Test(
        "every pair of values is in some row, every row takes each value from its parameter",
        arguments: [
            [["a", "b"], ["x", "y"]],
            [["a", "b", "c"], ["x", "y", "z"], ["1", "2", "3"]],
            [["a", "b", "c", "d", "e"], ["x", "y"], ["1", "2", "3", "4"], ["p"], ["q", "r", "s"]],
            (0..<6).map { p in (0..<5).map { "\(p).\($0)" } },
        ]
    )
    func coversEveryPair(_ parameters: [[String]]) {
        let rows = PairwiseCover.rows(parameters)
        #expect(Self.missing(rows, parameters).isEmpty)
        for row in rows {
            #expect(row.count == parameters.count && zip(row, parameters).allSatisfy { $1.contains($0) }, "\(row)")
        }
        // Far fewer rows than the product where there is something to save, and no fewer
        // than the largest two parameters need.
        let sizes = parameters.map(\.count).sorted(by: >)
        #expect(rows.count >= sizes[0] * sizes[1])
        #expect(rows.count <= parameters.map(\.count).reduce(1, *))
        #expect(PairwiseCover.rows(parameters) == rows, "the same parameters give the same rows")
    }

    @Test("six parameters of five values: every pair in far fewer rows than the 15,625 of the product")
    func small() {
        let parameters = (0..<6).map { p in (0..<5).map { "\(p).\($0)" } }
        #expect(PairwiseCover.rows(parameters).count <= 45)
    }

    @Test("a pair the constraint refuses is never in a row; every other pair is")
    func constrained() {
        let parameters = [["a", "b", "c"], ["x", "y", ""], ["1", "2"]]
        // "" goes with a alone, and only a goes with "".
        let compatible: (Int, String, Int, String) -> Bool = { i, a, j, b in
            i == 0 && j == 1 ? (a == "a") == b.isEmpty : true
        }
        let rows = PairwiseCover.rows(parameters, compatible: compatible)
        #expect(Self.missing(rows, parameters, required: compatible).isEmpty)
        for row in rows { #expect((row[0] == "a") == row[1].isEmpty, "\(row)") }
    }

    /// The MAC parameter's rule: forced only with a cipher that uses one.
    static func macRule(_ i: Int, _ a: String, _ j: Int, _ b: String) -> Bool {
        i == 1 && j == 2 ? PairwiseAlgorithms.usesMAC(a) == !b.isEmpty : true
    }

    @Test("copy-id against sshd: every algorithm and every pair of kex, cipher, MAC and host key")
    func copyIDMatrix() {
        let parameters = [
            SSHAlgorithms.supportedKeyExchange, SSHAlgorithms.supportedCiphers, SSHAlgorithms.supportedMACs + [""],
            SSHAlgorithms.supportedHostKey,
        ]
        let rows = CopyIDMatrixTests.pairwise.map { [$0.kex, $0.cipher, $0.mac ?? "", $0.hostKey] }
        #expect(Self.missing(rows, parameters, required: Self.macRule).isEmpty)
        for mac in SSHAlgorithms.supportedMACs { #expect(rows.contains { $0[2] == mac }) }
        #expect(rows.count < CopyIDMatrixTests.product.count / 4, "\(rows.count) rows")
    }

    @Test("serve against ssh: every pair of kex, cipher, MAC, host key and client key type")
    func serveMatrix() {
        let parameters = [
            SSHAlgorithms.supportedKeyExchange, SSHAlgorithms.supportedCiphers, SSHAlgorithms.supportedMACs + [""],
            SSHAlgorithms.supportedHostKey, ServeMatrixTests.keyTypes,
        ]
        let rows = ServeMatrixTests.pairwise.map { [$0.kex, $0.cipher, $0.mac ?? "", $0.hostKey, $0.keyType] }
        #expect(Self.missing(rows, parameters, required: Self.macRule).isEmpty)
        #expect(rows.count < ServeMatrixTests.product.count / 4, "\(rows.count) rows")
    }

    @Test("copy-id against dropbear: every pair of the kex, cipher and host key algorithms it shares")
    func dropbearMatrix() {
        let m = CopyIDDropbearMatrixTests.self
        let rows = m.pairwise.map { [$0.kex, $0.cipher, $0.hostKey] }
        #expect(Self.missing(rows, [m.keyExchange, m.ciphers, m.hostKeys]).isEmpty)
        #expect(m.pairwise.allSatisfy { $0.mac == "hmac-sha2-256" })
        #expect(rows.count < m.product.count / 2, "\(rows.count) rows")
    }
}
