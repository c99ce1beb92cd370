@testable import Checkpoint
import Foundation
import XCTest

/// `SequentialFileWriter` writes exactly the bytes appended, around the page cache or through
/// it, whatever the lengths of the pieces and of the file (empty, within a block, a block
/// and a byte, past the staging buffer).
final class SequentialFileWriterTests: XCTestCase {
    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 17
        }
    }

    /// Appends `total` bytes in pieces of random length (some empty) and reads them back.
    func roundTrip(total: Int, bypassCache: Bool, in folder: TestFolder, seed: UInt64) throws -> (wrote: [UInt8], read: [UInt8], direct: Bool) {
        var rng = LCG(state: seed)
        let bytes = (0..<total).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = folder.path("out-\(total)-\(bypassCache)")
        let writer = try SequentialFileWriter(path: path, bypassCache: bypassCache)
        var done = 0
        try bytes.withUnsafeBytes { all in
            while done < total {
                let n = min(total - done, Int(rng.next() % 3_000_000), Int(rng.next() % 4) == 0 ? 0 : Int.max)
                try writer.append(UnsafeRawBufferPointer(rebasing: all[done..<(done + n)]))
                done += n
            }
        }
        try writer.finish(durable: false)
        XCTAssertEqual(writer.length, total)
        return (bytes, Array(try Data(contentsOf: URL(fileURLWithPath: path))), writer.direct)
    }

    func testEveryLengthReadsBackTheSameBytesAroundAndThroughTheCache() throws {
        let folder = try TestFolder()
        let block = SequentialFileWriter.block, staging = SequentialFileWriter.stagingBytes
        // Whether this file system takes O_DIRECT at all: where it does, no write may have
        // fallen back to the page cache.
        let probe = open(folder.path("probe"), O_WRONLY | O_CREAT | O_CLOEXEC | SequentialFileWriter.oDirect, 0o644)
        let directWorks = probe >= 0
        if probe >= 0 { close(probe) }
        for (i, total) in [0, 1, block - 1, block, block + 1, staging - 1, staging, staging + block + 3, 2 * staging + 12_345].enumerated() {
            for bypass in [true, false] {
                let (wrote, read, direct) = try roundTrip(total: total, bypassCache: bypass, in: folder, seed: UInt64(i))
                XCTAssertEqual(read.count, total, "length \(total), bypass \(bypass)")
                XCTAssertTrue(read == wrote, "bytes of length \(total), bypass \(bypass)")
                XCTAssertEqual(direct, bypass && directWorks, "length \(total): direct I/O used where asked and possible")
            }
        }
    }

    /// A safetensors file written around the cache is the one written through it, byte for byte.
    func testSafetensorsWrittenAroundTheCacheMatchTheCachedWrite() throws {
        let folder = try TestFolder()
        let items = [SafetensorsWriter.Item(name: "a", dtype: .f32, shape: [3, 1000]),
                     SafetensorsWriter.Item(name: "b", dtype: .bf16, shape: [4097]),
                     SafetensorsWriter.Item(name: "c", dtype: .f32, shape: [1])]
        var files: [[UInt8]] = []
        for bypass in [false, true] {
            let path = folder.path("m-\(bypass).safetensors")
            try SafetensorsWriter.writeStreaming(to: path, items: items, durable: false, bypassCache: bypass) { i, emit in
                let count = items[i].shape.reduce(1, *) * (items[i].dtype == .f32 ? 4 : 2)
                let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + i) }
                try bytes.withUnsafeBytes { try emit($0) }
            }
            files.append(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial-\(getpid())"))
        }
        XCTAssertTrue(files[0] == files[1])
        XCTAssertEqual(try SafetensorsFile(path: folder.path("m-true.safetensors")).entries.map(\.name), ["a", "b", "c"])
    }

    /// Bytes whose address has their file offset's phase within a page go to the disk from
    /// where they are (whole blocks; the block before them completed from their head, their
    /// tail staged): the file is still exactly the bytes appended, however the pieces fall.
    func testBytesAtTheirFileOffsetsPhaseReadBackTheSame() throws {
        let folder = try TestFolder()
        let block = SequentialFileWriter.block
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: block)
        defer { memory.deallocate() }
        var rng = LCG(state: 99)
        for i in 0..<memory.count { memory[i] = UInt8(truncatingIfNeeded: rng.next()) }
        for (i, headerLength) in [0, 1, 24_576, 30_001, block - 1].enumerated() {
            let path = folder.path("phased-\(i)")
            let writer = try SequentialFileWriter(path: path, bypassCache: true)
            var expected: [UInt8] = []
            func append(_ bytes: UnsafeRawBufferPointer) throws {
                try writer.append(bytes)
                expected += bytes
            }
            try append(UnsafeRawBufferPointer(rebasing: memory[0..<headerLength]))
            // Three tensors placed at their offsets' phases, of 1 MiB + 3 bytes, a block, and
            // 3 MiB; then one not placed (copied through the staging buffer).
            for count in [(1 << 20) + 3, block + 70_000, 3 << 20] {
                let phase = writer.length % block
                try append(UnsafeRawBufferPointer(rebasing: memory[phase..<(phase + count)]))
            }
            let uncopied = writer.uncopiedBytes
            try append(UnsafeRawBufferPointer(rebasing: memory[5..<100_005]))
            XCTAssertEqual(writer.uncopiedBytes, uncopied, "bytes off their phase are staged")
            try writer.finish(durable: false)
            // Where the file system takes O_DIRECT, the placed tensors' whole blocks went uncopied.
            if writer.direct { XCTAssertGreaterThan(uncopied, (4 << 20) - 3 * block, "header of \(headerLength) bytes") }
            XCTAssertTrue(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == expected, "header of \(headerLength) bytes")
        }
    }

    /// `dataOffsets` says where `write` puts each tensor's bytes (shards, headers, name order).
    func testDataOffsetsAreWhereTheShardedWriterPutsTheTensors() throws {
        let folder = try TestFolder()
        let items = [SafetensorsWriter.Item(name: "z", dtype: .bf16, shape: [1000]),
                     SafetensorsWriter.Item(name: "a", dtype: .f32, shape: [300]),
                     SafetensorsWriter.Item(name: "m", dtype: .bf16, shape: [5000])]
        let offsets = ShardedCheckpointWriter.dataOffsets(items, maxShardBytes: 3000)
        let written = try ShardedCheckpointWriter.write(folder: folder.path("out"), items: items, maxShardBytes: 3000) { i, emit in
            let bytes = [UInt8](repeating: UInt8(i), count: items[i].byteCount)
            try bytes.withUnsafeBytes { try emit($0) }
        }
        XCTAssertEqual(written.shards.count, 3)
        var found: [String: Int] = [:]
        for shard in written.shards {
            let file = try SafetensorsFile(path: folder.path("out/" + shard))
            for entry in file.entries { found[entry.name] = file.dataStart + entry.dataRange.lowerBound }
        }
        XCTAssertEqual(items.indices.map { found[items[$0].name] }, offsets.map { Optional($0) })
    }
}
