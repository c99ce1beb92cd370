import Foundation
import JSON
import Store

/// Writes a checkpoint as transformers and mergekit lay it out: `model.safetensors` when it
/// fits one shard, else `model-00001-of-0000N.safetensors` … and
/// `model.safetensors.index.json` (`metadata.total_size` and a `weight_map` from tensor name
/// to shard, in write order), as mergekit 0.1.5's
/// `TensorWriter` does.
///
/// Shards are cut as mergekit cuts them (`mergekit/io/tensor_writer.py`): tensors are taken
/// in the order given; a new shard starts when the current one is not empty and the next
/// tensor would take it past `maxShardBytes` **bytes** (mergekit's help text says
/// "parameters", its code counts `numel() * element_size()`). A tensor larger than the limit
/// gets a shard of its own. Inside a shard tensors are in name order, as
/// `safetensors.torch.save_file` sorts them.
///
/// Streaming: one shard is written at a time, tensor by tensor, through
/// `SafetensorsWriter.writeStreaming`; nothing model-sized is buffered. Every shard is first
/// written under a `.partial-PID` name; only when all are complete are they renamed into
/// place and the index written, so a failure leaves no output that looks complete. Files of
/// an earlier checkpoint in the folder that this one does not overwrite (other shard counts,
/// a lone `model.safetensors`) are removed, so the folder never mixes two models.
public enum ShardedCheckpointWriter {
    /// mergekit's default `--out-shard-size` (5B = 5·10⁹ bytes).
    public static let defaultMaxShardBytes = 5_000_000_000

    /// The shards as ranges of `items` (in the given order). A limit ≤ 0 means one shard,
    /// as in mergekit.
    public static func plan(_ items: [SafetensorsWriter.Item], maxShardBytes: Int) -> [Range<Int>] {
        var shards: [Range<Int>] = []
        var start = 0, size = 0
        for (i, item) in items.enumerated() {
            let bytes = ArtifactWriter.byteCount(shape: item.shape, dtype: item.dtype) ?? 0
            if i > start && maxShardBytes > 0 && size + bytes > maxShardBytes {
                shards.append(start..<i)
                start = i
                size = 0
            }
            size += bytes
        }
        if start < items.count || items.isEmpty { shards.append(start..<items.count) }
        return shards
    }

    /// Where each item's data starts in its shard file, as `write` lays the shards out with
    /// the same arguments (header first, then the tensors in name order). A writer that
    /// bypasses the page cache sends bytes straight to the disk when their address has the
    /// phase of this offset within a page (`SequentialFileWriter`).
    public static func dataOffsets(_ items: [SafetensorsWriter.Item], maxShardBytes: Int = defaultMaxShardBytes,
                                   metadata: JSONObject = ["format": "pt"]) -> [Int] {
        var offsets = [Int](repeating: 0, count: items.count)
        for range in plan(items, maxShardBytes: maxShardBytes) {
            let order = range.sorted { items[$0].name.utf8.lexicographicallyPrecedes(items[$1].name.utf8) }
            var offset = SafetensorsWriter.header(items: order.map { items[$0] }, metadata: metadata).count
            for i in order {
                offsets[i] = offset
                offset += ArtifactWriter.byteCount(shape: items[i].shape, dtype: items[i].dtype) ?? 0
            }
        }
        return offsets
    }

    /// Shard i (0-based) of n: transformers' names, `model.safetensors` for a single shard.
    public static func shardName(_ i: Int, of n: Int) -> String {
        if n == 1 { return "model.safetensors" }
        func five(_ k: Int) -> String { let s = String(k); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "model-\(five(i + 1))-of-\(five(n)).safetensors"
    }

    /// What was written.
    public struct Written {
        /// Shard file names, in order.
        public let shards: [String]
        /// Bytes of tensor data (the index's `metadata.total_size`).
        public let totalSize: Int
    }

    /// Writes `items` (in this order, which decides the shards) into `folder`.
    /// - Parameters:
    ///   - provide: called once per tensor, in order, with the tensor's index in `items` and
    ///     an `emit` that takes its bytes (little-endian, in the item's dtype): all at once,
    ///     or in consecutive parts that add up to them.
    ///   - durable: fsync each shard before it is renamed (the cache's exports); `merge
    ///     --direct` skips it, as mergekit and `cp` do.
    ///   - bypassCache: write the shards around the page cache where the file system allows
    ///     (`SequentialFileWriter`); shards whose tensors arrive out of name order are
    ///     written through it.
    /// - Throws: `CheckpointError` naming the shard (and tensor) on any write failure;
    ///   whatever `provide` throws.
    @discardableResult
    public static func write(
        folder: String, items: [SafetensorsWriter.Item], maxShardBytes: Int = defaultMaxShardBytes,
        metadata: JSONObject = ["format": "pt"], durable: Bool = true, bypassCache: Bool = false,
        provide: (Int, (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Written {
        var seen = Set<String>()
        for item in items where !seen.insert(item.name).inserted {
            throw CheckpointError(file: folder, tensor: item.name, "duplicate tensor name")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let shards = plan(items, maxShardBytes: maxShardBytes)
        let names = shards.indices.map { shardName($0, of: shards.count) }
        let suffix = ".partial-\(getpid())"
        // Temporary shards of a writer killed earlier (kill -9) would stay for ever.
        StalePartialFiles.removeCheckpointFiles(in: folder)
        var pending: [String] = []
        defer { for p in pending { unlink(p) } }
        var weightMap = JSONObject()
        var total = 0
        for (s, range) in shards.enumerated() {
            // safetensors' save_file lays a shard out in name order; the shard's tensors are
            // still requested in the caller's order (a merge streams in that order).
            let order = range.sorted { items[$0].name.utf8.lexicographicallyPrecedes(items[$1].name.utf8) }
            var position = [Int: Int]()
            for (k, i) in order.enumerated() { position[i] = k }
            let path = (folder as NSString).appendingPathComponent(names[s] + suffix)
            pending.append(path)
            if order == Array(range) {
                try SafetensorsWriter.writeStreaming(to: path, items: order.map { items[$0] }, metadata: metadata, durable: durable,
                                                     bypassCache: bypassCache) { k, emit in
                    try withoutActuallyEscaping(emit) { e in try provide(order[k], e) }
                }
            } else {
                // Out of name order within a shard: stream in the caller's order into a
                // sparse file at each tensor's offset (no buffering).
                try writeScattered(to: path, items: order.map { items[$0] }, sourceOrder: Array(range).map { position[$0]! },
                                   metadata: metadata, durable: durable) { k, emit in
                    try withoutActuallyEscaping(emit) { e in try provide(range.lowerBound + k, e) }
                }
            }
            for i in range {
                weightMap[items[i].name] = .string(names[s])
                total += ArtifactWriter.byteCount(shape: items[i].shape, dtype: items[i].dtype) ?? 0
            }
        }
        for (s, name) in names.enumerated() {
            let final = (folder as NSString).appendingPathComponent(name)
            guard rename(pending[s], final) == 0 else {
                throw CheckpointError(file: final, "rename failed: \(String(cString: strerror(errno)))")
            }
        }
        pending.removeAll()
        removeStale(in: folder, keeping: Set(names))
        let indexPath = (folder as NSString).appendingPathComponent("model.safetensors.index.json")
        // As mergekit: an index only for more than one shard (a lone model.safetensors needs
        // none, and a stale one would point loaders at shards that are gone).
        guard names.count > 1 else {
            unlink(indexPath)
            return Written(shards: names, totalSize: total)
        }
        let index = JSONValue.object(JSONObject([
            ("metadata", .object(JSONObject([("total_size", .number(Double(total)))]))),
            ("weight_map", .object(weightMap)),
        ]))
        do {
            try Data((index.serialized(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: indexPath), options: .atomic)
        } catch {
            throw CheckpointError(file: indexPath, "cannot write: \(error.localizedDescription)")
        }
        return Written(shards: names, totalSize: total)
    }

    /// Removes `model.safetensors` and `model-*-of-*.safetensors` files not in `keeping`:
    /// left by an earlier, differently sharded checkpoint in the same folder.
    static func removeStale(in folder: String, keeping: Set<String>) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries where !keeping.contains(entry) {
            let isShard = entry.hasPrefix("model-") && entry.hasSuffix(".safetensors") && entry.contains("-of-")
            if entry == "model.safetensors" || isShard {
                unlink((folder as NSString).appendingPathComponent(entry))
            }
        }
    }

    /// Writes a safetensors file whose tensors arrive in a different order than they are
    /// laid out: the header first, then each tensor at its own offset with `pwrite`.
    /// `sourceOrder[k]` is the layout position of the k-th tensor provided.
    static func writeScattered(
        to path: String, items: [SafetensorsWriter.Item], sourceOrder: [Int], metadata: JSONObject, durable: Bool,
        provide: (Int, (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let header = SafetensorsWriter.header(items: items, metadata: metadata)
        var offsets: [Int] = []
        var offset = header.count
        for item in items {
            offsets.append(offset)
            offset += ArtifactWriter.byteCount(shape: item.shape, dtype: item.dtype) ?? 0
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError(file: path, "cannot create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        func writeAll(_ buffer: UnsafeRawBufferPointer, at start: Int, tensor: String?) throws {
            var done = 0
            while done < buffer.count {
                let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(start + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError(file: path, tensor: tensor, "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        try header.withUnsafeBytes { try writeAll($0, at: 0, tensor: nil) }
        for (k, layout) in sourceOrder.enumerated() {
            let item = items[layout]
            let size = ArtifactWriter.byteCount(shape: item.shape, dtype: item.dtype) ?? 0
            var emitted = 0
            try provide(k) { bytes in
                guard emitted + bytes.count <= size else {
                    throw CheckpointError(file: path, tensor: item.name, "provided \(emitted + bytes.count) bytes for a \(size)-byte tensor")
                }
                if !bytes.isEmpty { try writeAll(bytes, at: offsets[layout] + emitted, tensor: item.name) }
                emitted += bytes.count
            }
            guard emitted == size else {
                throw CheckpointError(file: path, tensor: item.name, emitted == 0 ? "no data provided" : "provided \(emitted) bytes for a \(size)-byte tensor")
            }
        }
        guard ftruncate(fd, off_t(offset)) == 0 else { throw CheckpointError(file: path, "cannot size: \(String(cString: strerror(errno)))") }
        guard !durable || fsync(fd) == 0 else { throw CheckpointError(file: path, "fsync failed: \(String(cString: strerror(errno)))") }
    }
}

extension ShardedCheckpointWriter {
    /// Parses a shard size as mergekit's `parse_kmb` does: an integer, or an integer with a
    /// suffix `K` (×10³), `M` (×10⁶) or `B` (×10⁹), either case. nil for anything else.
    public static func shardBytes(parsing text: String) -> Int? {
        guard let last = text.last else { return nil }
        let multipliers: [Character: Int] = ["k": 1_000, "m": 1_000_000, "b": 1_000_000_000]
        var digits = text, multiplier = 1
        if let m = multipliers[Character(last.lowercased())] {
            digits = String(text.dropLast())
            multiplier = m
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow || product <= 0 ? nil : product
    }
}
