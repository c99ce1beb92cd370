import Checkpoint
import Engine
@testable import Ops
import Foundation
import Numerics
import XCTest

/// A checkpoint read for a merge is mapped, not copied: if another program truncates or
/// rewrites it meanwhile, the next tensor read is an error naming the file, not a SIGBUS
/// or a silent mix of old and new weights.
final class FolderTensorSourceTests: XCTestCase {
    func testAFileChangedDuringTheMergeIsAnError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-source-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path
        let items = [SafetensorsWriter.Item(name: "a", dtype: .f32, shape: [1024]), SafetensorsWriter.Item(name: "b", dtype: .f32, shape: [1024])]
        try SafetensorsWriter.write(to: path, items: items) { i, buffer in
            buffer.bindMemory(to: Float.self).initialize(repeating: Float(i + 1))
        }

        for change in ["truncate", "rewrite"] {
            let source = try FolderTensorSource(path: path)
            let a = try source.read("a", into: ReusableBuffer())
            XCTAssertEqual(Array(a.prefix(2)), [1, 1])
            source.release("a")
            Thread.sleep(forTimeInterval: 0.01)
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            if change == "truncate" {
                try handle.truncate(atOffset: 100)
            } else {
                try handle.seekToEnd()
                let size = try handle.offset()
                try handle.seek(toOffset: size - 4)
                handle.write(Data([0, 0, 0x80, 0x3F]))  // same size, new content
            }
            try handle.close()
            XCTAssertThrowsError(try source.read("b", into: ReusableBuffer()), change) {
                XCTAssertTrue("\($0)".contains("model.safetensors") && "\($0)".contains("changed while being read"), "\($0)")
            }
            // Put the file back for the next case.
            try SafetensorsWriter.write(to: path, items: items) { i, buffer in
                buffer.bindMemory(to: Float.self).initialize(repeating: Float(i + 1))
            }
        }
    }
}
