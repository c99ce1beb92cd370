import Checkpoint
import Foundation
import Numerics
import Store

/// Figures for the foundation, each beside the ceiling measured in the same run:
/// sgemm GFLOPS by size (peak = the best), memory bandwidth, SHA-256 on one core, and
/// storing / loading a checkpoint through the cache against plain file write / read.
enum FoundationBenchmark {
    struct Line {
        let name: String, value: Double, unit: String, ceiling: Double?, ceilingName: String?
    }

    static func run(sizeMB: Int, directory: String) throws -> [Line] {
        var lines: [Line] = []
        func report(_ name: String, _ value: Double, _ unit: String, ceiling: Double? = nil, of ceilingName: String? = nil) {
            let line = Line(name: name, value: value, unit: unit, ceiling: ceiling, ceilingName: ceilingName)
            lines.append(line)
            var text = "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(String(format: "%9.2f", value)) \(unit)"
            if let ceiling, let ceilingName {
                text += String(format: "   %5.1f%% of %@ (%.2f %@)", 100 * value / ceiling, ceilingName, ceiling, unit)
            }
            print(text)
            fflush(nil)
        }

        // sgemm at several sizes; the best is the machine's sgemm peak for later ratios.
        var gflops: [(Int, Double)] = []
        for n in [64, 128, 256, 512, 1024, 2048] where n * n * 4 <= max(sizeMB, 16) << 20 {
            var rng = SystemRandomNumberGenerator()
            let a = Tensor(shape: [n, n], storage: (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) })
            let b = a
            let seconds = Stopwatch.best { _ = Tensor.matmul(a, b) }
            gflops.append((n, 2 * Double(n * n * n) / seconds / 1e9))
        }
        let peak = gflops.map(\.1).max() ?? 1
        for (n, g) in gflops { report("sgemm n=\(n) (\(ComputeThreads.count) threads)", g, "GFLOPS", ceiling: peak, of: "sgemm peak") }

        // Memory bandwidth: one-thread memcpy and the parallel add kernel (reads 2, writes 1).
        let count = 64 << 20 / 4 * 4  // 256 MiB of floats
        var x = [Float](repeating: 1, count: count), y = [Float](repeating: 2, count: count)
        var out = [Float](repeating: 0, count: count)
        let copySeconds = Stopwatch.best {
            x.withUnsafeBytes { s in out.withUnsafeMutableBytes { d in d.copyMemory(from: s) } }
        }
        let copyBandwidth = 2 * Double(count * 4) / copySeconds / 1e9
        let addSeconds = Stopwatch.best {
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in out.withUnsafeMutableBufferPointer { po in
                Kernels.add(px, py, into: po) } } }
        }
        let addBandwidth = 3 * Double(count * 4) / addSeconds / 1e9
        let memoryCeiling = max(copyBandwidth, addBandwidth)
        report("memcpy 1 thread (read+write)", copyBandwidth, "GB/s")
        report("Kernels.add \(ComputeThreads.count) threads (2 reads+1 write)", addBandwidth, "GB/s", ceiling: memoryCeiling, of: "best memory")
        let reduceSeconds = Stopwatch.best { _ = x.withUnsafeBufferPointer { Kernels.sum($0) } }
        report("Kernels.sum \(ComputeThreads.count) threads (read)", Double(count * 4) / reduceSeconds / 1e9, "GB/s", ceiling: memoryCeiling, of: "best memory")

        // SHA-256 on one core.
        let shaSeconds = Stopwatch.best { _ = x.withUnsafeBytes { SHA256.hash($0) } }
        report("SHA-256 1 core (libcrypto)", Double(count * 4) / shaSeconds / 1e9, "GB/s", ceiling: copyBandwidth / 2, of: "1-thread memory read")
        x = []; y = []; out = []

        // A checkpoint of sizeMB: 16 MiB F32 tensors, plus a few small ones.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = (directory as NSString).appendingPathComponent("model.safetensors")
        let tensorBytes = 16 << 20
        let tensorCount = max(1, (sizeMB << 20) / tensorBytes)
        var items = (0..<tensorCount).map { SafetensorsWriter.Item(name: "layer.\($0).weight", dtype: .f32, shape: [tensorBytes / 4 / 1024, 1024]) }
        items.append(SafetensorsWriter.Item(name: "ln.bias", dtype: .f32, shape: [1024]))
        let totalBytes = Double(items.reduce(0) { $0 + ($1.shape.reduce(4, *)) })
        let writeSeconds = try Stopwatch.time {
            try SafetensorsWriter.write(to: file, items: items) { i, buffer in
                let floats = buffer.bindMemory(to: Float.self)
                for j in 0..<floats.count { floats[j] = Float((i &* 7919 &+ j) % 1000) * 0.001 }
            }
        }
        report("file write + fsync (safetensors writer)", totalBytes / writeSeconds / 1e9, "GB/s")
        let rawRead = try Stopwatch.best(minimum: 0, atLeast: 2) { try readWholeFile(file) }
        let rawReadBandwidth = totalBytes / rawRead / 1e9
        report("file read() (page cache warm)", rawReadBandwidth, "GB/s")

        let cachePath = (directory as NSString).appendingPathComponent("bench.sqlite")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: cachePath + suffix) }
        let store = try Store(path: cachePath)
        var digest: Digest?
        let storeSeconds = try Stopwatch.time { digest = try store.importCheckpoint(at: file).digest }
        report("store: import \(sizeMB) MiB checkpoint", totalBytes / storeSeconds / 1e9, "GB/s",
               ceiling: totalBytes / writeSeconds / 1e9, of: "file write+fsync")
        let again = try Stopwatch.time { _ = try store.importCheckpoint(at: file) }
        report("store: re-import (all chunks deduplicated)", totalBytes / again / 1e9, "GB/s")
        let manifest = try store.manifest(digest!)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: manifest.tensors.map(\.byteCount).max()!, alignment: 64)
        defer { buffer.deallocate() }
        let loadSeconds = try Stopwatch.best(minimum: 0, atLeast: 2) {
            for t in manifest.tensors { try store.readBytes(of: t, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<t.byteCount])) }
        }
        report("store: load every tensor", totalBytes / loadSeconds / 1e9, "GB/s", ceiling: rawReadBandwidth, of: "file read")
        let exportDir = (directory as NSString).appendingPathComponent("export")
        let exportSeconds = try Stopwatch.time { try store.exportCheckpoint(digest!, to: exportDir) }
        report("store: export to safetensors (+ fsync)", totalBytes / exportSeconds / 1e9, "GB/s",
               ceiling: totalBytes / writeSeconds / 1e9, of: "file write+fsync")
        try? FileManager.default.removeItem(atPath: directory)
        return lines
    }

    /// One-thread memcpy bandwidth (read + write) on 256 MiB.
    static func memcpyBandwidth() -> Double {
        let count = 64 << 20
        let x = [Float](repeating: 1, count: count)
        var out = [Float](repeating: 0, count: count)
        let seconds = Stopwatch.best { x.withUnsafeBytes { s in out.withUnsafeMutableBytes { d in d.copyMemory(from: s) } } }
        return 2 * Double(count * 4) / seconds / 1e9
    }

    /// Reads a file front to back with read(2) into a 16 MiB buffer: the plain-file ceiling
    /// for loading. Each block read is handed to `each`, if given, as it passes.
    static func readWholeFile(_ path: String, each: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError(file: path, "cannot open") }
        defer { close(fd) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 16 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, 16 << 20)
            guard n > 0 else { return }
            try each?(UnsafeRawBufferPointer(start: buffer, count: n))
        }
    }
}
