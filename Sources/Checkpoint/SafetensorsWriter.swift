import Foundation
import JSON
import Store

/// Writes a `.safetensors` file tensor by tensor, so a whole model never sits in memory.
///
/// The header is computed from the tensor list first; then each tensor's bytes are
/// requested in header order and appended. The file appears under its final name only
/// when complete (written to a temporary name, fsynced unless `durable` is false, renamed).
public enum SafetensorsWriter {
    /// What the header says about one tensor.
    public struct Item {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public init(name: String, dtype: DType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
        var byteCount: Int { ArtifactWriter.byteCount(shape: shape, dtype: dtype) ?? 0 }
    }

    /// The header bytes (length prefix + JSON padded with spaces to a multiple of 8) for
    /// tensors laid out in the given order.
    public static func header(items: [Item], metadata: JSONObject) -> [UInt8] {
        var object = JSONObject()
        if !metadata.isEmpty { object["__metadata__"] = .object(metadata) }
        var offset = 0
        for item in items {
            object[item.name] = .object(JSONObject([
                ("dtype", .string(item.dtype.rawValue)),
                ("shape", .array(item.shape.map { .number(Double($0)) })),
                ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + item.byteCount))])),
            ]))
            offset += item.byteCount
        }
        var json = Array(JSONValue.object(object).serialized().utf8)
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        return out
    }

    /// Writes `items` to `path`. `bytes(i, buffer)` fills the i-th tensor's little-endian
    /// data into a buffer of exactly its byte count.
    public static func write(
        to path: String, items: [Item], metadata: JSONObject = JSONObject(),
        bytes fill: (Int, UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        let largest = items.map(\.byteCount).max() ?? 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 1), alignment: 64)
        defer { buffer.deallocate() }
        try writeStreaming(to: path, items: items, metadata: metadata) { i, emit in
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<items[i].byteCount])
            try fill(i, slice)
            try emit(UnsafeRawBufferPointer(slice))
        }
    }

    /// Writes `items` to `path`, asking `provide(i, emit)` for each tensor in turn; the
    /// provider hands its own bytes to `emit` — the tensor's byte count, at once or in
    /// consecutive parts — so no staging buffer is needed. `durable: false` skips the fsync before the rename (the
    /// file still appears only when complete; a power loss may leave it empty).
    /// `bypassCache` writes around the page cache where the file system allows it (see
    /// `SequentialFileWriter`): for outputs of gigabytes that nothing reads right away.
    public static func writeStreaming(
        to path: String, items: [Item], metadata: JSONObject = JSONObject(), durable: Bool = true, bypassCache: Bool = false,
        provide: (Int, (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        var seen = Set<String>()
        for item in items where !seen.insert(item.name).inserted {
            throw CheckpointError(file: path, tensor: item.name, "duplicate tensor name")
        }
        StalePartialFiles.remove(besides: path)
        let temporary = path + ".partial-\(getpid())"
        defer { unlink(temporary) }
        let file = try SequentialFileWriter(path: temporary, bypassCache: bypassCache, reportedPath: path)
        func writeAll(_ buffer: UnsafeRawBufferPointer) throws { try file.append(buffer) }
        try header(items: items, metadata: metadata).withUnsafeBytes { try writeAll($0) }
        for (i, item) in items.enumerated() where item.byteCount > 0 {
            var emitted = 0
            try provide(i) { bytes in
                guard emitted + bytes.count <= item.byteCount else {
                    throw CheckpointError(file: path, tensor: item.name, "provided \(emitted + bytes.count) bytes for a \(item.byteCount)-byte tensor")
                }
                try writeAll(bytes)
                emitted += bytes.count
            }
            guard emitted == item.byteCount else {
                throw CheckpointError(file: path, tensor: item.name,
                                      emitted == 0 ? "no data provided" : "provided \(emitted) bytes for a \(item.byteCount)-byte tensor")
            }
        }
        try file.finish(durable: durable)
        guard rename(temporary, path) == 0 else {
            throw CheckpointError(file: path, "rename failed: \(String(cString: strerror(errno)))")
        }
    }
}
