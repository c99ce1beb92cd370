import JSON
import Numerics
import Store

/// One tensor's entry in a safetensors header.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range inside the data section (after the header).
    public let dataRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped `.safetensors` file, validated on open and read lazily, tensor by tensor.
///
/// Format: an 8-byte little-endian header length N, N bytes of JSON
/// `{"__metadata__": {...}, name: {"dtype", "shape", "data_offsets": [begin, end]}}`, then
/// the data section. Everything about the header is checked before any tensor is read, so
/// a hostile file is rejected with a message naming the tensor, never a crash.
public final class SafetensorsFile {
    public let path: String
    /// The `__metadata__` object (string → string by convention; kept as given).
    public let metadata: JSONObject
    /// Entries in data order.
    public let entries: [SafetensorsEntry]
    let file: MappedFile
    let dataStart: Int

    /// Headers larger than this are refused (the reference implementation's limit).
    static let maximumHeaderBytes = 100_000_000

    /// Dtypes that the format defines but mergeflow does not read.
    static let knownUnsupported: Set<String> = ["F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
                                                 "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"]

    public init(path: String) throws(CheckpointError) {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw CheckpointError(file: path, "file of \(bytes.count) bytes is too short for the 8-byte header length")
        }
        let headerLength = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw CheckpointError(file: path, "header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        guard headerLength <= UInt64(SafetensorsFile.maximumHeaderBytes) else {
            throw CheckpointError(file: path, "header length \(headerLength) exceeds the \(SafetensorsFile.maximumHeaderBytes)-byte limit")
        }
        dataStart = 8 + Int(headerLength)
        let headerBytes = Array(bytes[8..<dataStart])
        let header: JSONValue
        do {
            header = try JSONValue.parse(headerBytes)
        } catch {
            throw CheckpointError(file: path, "header is not valid JSON: \(error)")
        }
        guard let object = header.objectValue else {
            throw CheckpointError(file: path, "header is a JSON \(header.typeName), expected an object")
        }
        var metadata = JSONObject()
        var entries: [SafetensorsEntry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value.objectValue else {
                    throw CheckpointError(file: path, "__metadata__ is a \(value.typeName), expected an object")
                }
                metadata = m
                continue
            }
            entries.append(try SafetensorsFile.parseEntry(name: name, value, file: path))
        }
        self.metadata = metadata
        self.entries = try SafetensorsFile.checkLayout(entries, dataSize: bytes.count - dataStart, file: path)
    }

    private static func parseEntry(name: String, _ value: JSONValue, file: String) throws(CheckpointError) -> SafetensorsEntry {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(file: file, tensor: name, problem) }
        guard let fields = value.objectValue else { throw fail("entry is a \(value.typeName), expected an object") }
        for key in fields.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw fail("unknown field \"\(key)\"")
        }
        guard let dtypeName = fields["dtype"]?.stringValue else { throw fail("missing or non-string \"dtype\"") }
        guard let dtype = DType(rawValue: dtypeName), dtype.isFloatingPoint else {
            if knownUnsupported.contains(dtypeName) {
                throw fail("dtype \(dtypeName) is not supported (mergeflow reads F32, F16 and BF16)")
            }
            throw fail("unknown dtype \"\(dtypeName)\"")
        }
        guard let shapeValues = fields["shape"]?.arrayValue else { throw fail("missing or non-array \"shape\"") }
        var shape: [Int] = []
        for d in shapeValues {
            guard let n = d.intValue, n >= 0 else { throw fail("shape \(JSONValue.array(shapeValues)) has a dimension that is not a non-negative integer") }
            shape.append(n)
        }
        guard let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= 0 else {
            throw fail("\"data_offsets\" must be two non-negative integers [begin, end]")
        }
        guard begin <= end else { throw fail("data_offsets [\(begin), \(end)] end before they begin") }
        guard let expected = ArtifactWriter.byteCount(shape: shape, dtype: dtype) else {
            throw fail("shape \(shape) × \(dtype.rawValue) overflows")
        }
        guard expected == end - begin else {
            throw fail("shape \(shape) × \(dtype.rawValue) is \(expected) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
    }

    /// The data section must be covered exactly: tensors back to back from 0, no overlap,
    /// no gap, nothing past the end.
    private static func checkLayout(_ entries: [SafetensorsEntry], dataSize: Int, file: String) throws(CheckpointError) -> [SafetensorsEntry] {
        let sorted = entries.sorted {
            ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound)
        }
        // Offsets past the end first: such a tensor sorts last, and the walk below would
        // otherwise blame the gap it leaves on an innocent neighbour.
        if let e = entries.first(where: { $0.dataRange.upperBound > dataSize }) {
            throw CheckpointError(file: file, tensor: e.name,
                                  "data_offsets [\(e.dataRange.lowerBound), \(e.dataRange.upperBound)] run past the \(dataSize)-byte data section")
        }
        var position = 0
        var previous: String?
        for e in sorted {
            if e.dataRange.lowerBound < position {
                throw CheckpointError(file: file, tensor: e.name, "data overlaps tensor \"\(previous ?? "?")\"")
            }
            if e.dataRange.lowerBound > position {
                throw CheckpointError(file: file, tensor: e.name, "gap of \(e.dataRange.lowerBound - position) bytes before this tensor's data")
            }
            position = e.dataRange.upperBound
            previous = e.name
        }
        if position != dataSize {
            throw CheckpointError(file: file, "\(dataSize - position) bytes after the last tensor are not described by the header")
        }
        return sorted
    }

    /// The entry for `name`, if present.
    public func entry(named name: String) -> SafetensorsEntry? {
        entries.first { $0.name == name }
    }

    /// The stored bytes of a tensor (little-endian, unaligned), valid while `self` lives.
    public func bytes(of entry: SafetensorsEntry) -> UnsafeRawBufferPointer {
        let range = (dataStart + entry.dataRange.lowerBound)..<(dataStart + entry.dataRange.upperBound)
        return UnsafeRawBufferPointer(rebasing: file.bytes[range])
    }

    /// Asks the kernel to start reading a tensor's pages.
    public func prefetch(_ entry: SafetensorsEntry) {
        file.prefetch((dataStart + entry.dataRange.lowerBound)..<(dataStart + entry.dataRange.upperBound))
    }

    /// Throws if the file was written or truncated since it was opened (see
    /// `MappedFile.checkUnchanged`).
    public func checkUnchanged() throws(CheckpointError) {
        try file.checkUnchanged()
    }

    /// A Float32 tensor's values read in place from the mapping (nil for other dtypes, or
    /// if its offset is not 4-byte aligned). Pages are mapped up front; `evict` lets them go.
    public func floatView(_ entry: SafetensorsEntry) -> UnsafeBufferPointer<Float>? {
        let raw = bytes(of: entry)
        guard entry.dtype == .f32, Int(bitPattern: raw.baseAddress) % 4 == 0 else { return nil }
        file.populate(range(of: entry))
        return raw.assumingMemoryBound(to: Float.self)
    }

    /// Widens a tensor from the mapping into `out` (exactly its element count).
    public func widen(_ entry: SafetensorsEntry, into out: UnsafeMutableBufferPointer<Float>) {
        let source = bytes(of: entry)
        if let src = source.baseAddress, let dst = out.baseAddress { entry.dtype.widen(src, count: out.count, into: dst) }
    }

    /// Drops a tensor's mapped pages from resident memory once it has been used.
    public func evict(_ entry: SafetensorsEntry) {
        file.evict(range(of: entry))
    }

    private func range(of entry: SafetensorsEntry) -> Range<Int> {
        (dataStart + entry.dataRange.lowerBound)..<(dataStart + entry.dataRange.upperBound)
    }

    /// Loads one tensor as Float32.
    public func loadTensor(_ entry: SafetensorsEntry) -> Tensor {
        let source = bytes(of: entry)
        return Tensor(shape: entry.shape) { out in
            if let src = source.baseAddress, let dst = out.baseAddress {
                entry.dtype.widen(src, count: out.count, into: dst)
            }
        }
    }
}
