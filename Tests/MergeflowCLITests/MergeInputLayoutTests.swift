import Checkpoint
import Foundation
import XCTest

/// `merge --direct` reads aligned F32 tensors in place from the mapped file; anything else
/// (BF16, or F32 whose data does not start on a 4-byte boundary, which the safetensors
/// format allows) is widened or copied into a buffer first. Both must give the same merge,
/// through the cache too.
final class MergeInputLayoutTests: XCTestCase {
    /// A safetensors file written byte by byte: `pad` spaces after the JSON header move
    /// the data section (the format only requires the length prefix to be right).
    func writeRaw(_ path: String, dtype: String, shape: [Int], data: [UInt8], pad: Int) throws {
        let json = #"{"w":{"dtype":"\#(dtype)","shape":[\#(shape.map(String.init).joined(separator: ","))],"data_offsets":[0,\#(data.count)]}}"#
            + String(repeating: " ", count: pad)
        var bytes = withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Array($0) }
        bytes += Array(json.utf8) + data
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func testUnalignedF32AndBF16InputsMergeLikeAlignedF32() throws {
        let dir = NSTemporaryDirectory() + "mergeflow-layout-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 100_003  // several vector blocks and a tail
        let a = (0..<n).map { Float($0 % 97) / 8 - 6 }  // exact in BF16 and F32
        let b = (0..<n).map { Float(($0 * 31) % 89) / 4 - 11 }
        let f32 = { (v: [Float]) in v.withUnsafeBytes { Array($0) } }
        let bf16 = { (v: [Float]) in v.flatMap { x -> [UInt8] in
            let h = UInt16(x.bitPattern >> 16)
            return [UInt8(h & 0xFF), UInt8(h >> 8)]
        } }
        // Header lengths chosen so the data of "a" starts 2 bytes past a 4-byte boundary.
        for pad in 0..<4 {
            let json = #"{"w":{"dtype":"F32","shape":[\#(n)],"data_offsets":[0,\#(4 * n)]}}"#.utf8.count + pad
            if (8 + json) % 4 == 2 {
                try writeRaw(dir + "/a/model.safetensors", dtype: "F32", shape: [n], data: f32(a), pad: pad)
                break
            }
        }
        try writeRaw(dir + "/b/model.safetensors", dtype: "BF16", shape: [n], data: bf16(b), pad: 0)
        let config = dir + "/merge.json"
        try #"{"merge_method": "linear", "models": [{"model": "a", "parameters": {"weight": 0.25}}, {"model": "b", "parameters": {"weight": 0.75}}], "dtype": "float32"}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let cli = CLIRunner(cache: dir + "/cache.sqlite")
        for direct in [true, false] {
            let out = dir + (direct ? "/direct" : "/cached")
            let r = direct ? try cli.run("merge", config, out, "--direct") : try cli.run("merge", config, out)
            XCTAssertEqual(r.status, 0, r.stderr)
            let file = try SafetensorsFile(path: out + "/model.safetensors")
            let merged = file.loadTensor(file.entry(named: "w")!).storage
            let want = (0..<n).map { (0.25 * a[$0] + 0.75 * b[$0]) * Float(1 / 1.0) }
            XCTAssertEqual(merged, want, direct ? "--direct" : "cached")
        }
    }
}
