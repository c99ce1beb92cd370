import Foundation
import XCTest
@testable import Store

/// SHA-256 against NIST's example vectors and against the system's `sha256sum`.
final class SHA256Tests: XCTestCase {
    func testNISTVectors() {
        // FIPS 180-2 appendix B and the NIST CSRC examples.
        XCTAssertEqual(SHA256.hash("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex,
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hash("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").hex,
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hex,
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testStreamingInOddPiecesEqualsOneShot() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<100_003).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var h = SHA256()
        var i = 0
        for step in [1, 63, 64, 65, 1000, 4095, 50_000] where i < data.count {
            let end = min(data.count, i + step)
            h.update(Array(data[i..<end]))
            i = end
        }
        h.update(Array(data[i...]))
        let streamed = h.finalize()
        XCTAssertEqual(streamed, SHA256.hash(data))
    }

    func testMatchesSha256sumOnRandomFilesOfOddSizes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SystemRandomNumberGenerator()
        for size in [0, 1, 55, 56, 63, 64, 65, 127, 4097, 1_000_003, 5_000_001] {
            let data = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let url = dir.appendingPathComponent("f\(size)")
            try Data(data).write(to: url)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            p.arguments = [url.path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            p.waitUntilExit()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(String(out.prefix(64)), SHA256.hash(data).hex, "size \(size)")
        }
    }

    func testDigestHexRoundTripAndRejects() {
        let d = SHA256.hash("mergeflow")
        XCTAssertEqual(Digest(hex: d.hex), d)
        XCTAssertEqual(Digest(hex: d.hex.uppercased()), d)
        XCTAssertEqual(Digest(bytes: d.bytes), d)
        XCTAssertNil(Digest(hex: String(d.hex.dropLast())))
        XCTAssertNil(Digest(hex: "g" + d.hex.dropFirst()))
        XCTAssertEqual(d.short.count, 12)
    }
}
