import Foundation

/// A fresh temporary folder per test, removed afterwards.
final class TestFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes a safetensors file from a literal header and data section. `headerLength`
    /// overrides the 8-byte prefix (to forge hostile files).
    @discardableResult
    func safetensors(_ name: String, header: String, data: [UInt8], headerLength: UInt64? = nil) throws -> String {
        let json = Array(header.utf8)
        var bytes = [UInt8]()
        withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += json + data
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
}

/// The folder of Python-written fixtures (see Fixtures/README.md).
enum Fixtures {
    static var folder: String { Bundle.module.resourcePath! + "/Fixtures" }
    static func path(_ name: String) -> String { folder + "/" + name }
}
