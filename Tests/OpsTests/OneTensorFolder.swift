import Checkpoint
import Foundation
@testable import Ops
import Store

/// Writes `path/model.safetensors` holding one tensor "w" of `count` elements in `dtype`
/// (bf16 or f16 rounded as torch rounds, or F32), element j = `value(j)` in index order,
/// and opens the folder as a merge source.
func oneTensorFolder(_ path: String, dtype: DType, count: Int, value: (Int) -> Float) throws -> FolderTensorSource {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try SafetensorsWriter.write(to: path + "/model.safetensors", items: [SafetensorsWriter.Item(name: "w", dtype: dtype, shape: [count])]) { _, buffer in
        for j in 0..<count {
            let x = value(j)
            switch dtype {
            case .bf16: buffer.storeBytes(of: DType.bfloat16Bits(x), toByteOffset: 2 * j, as: UInt16.self)
            case .f16: buffer.storeBytes(of: DType.halfBits(x), toByteOffset: 2 * j, as: UInt16.self)
            default: buffer.storeBytes(of: x, toByteOffset: 4 * j, as: Float.self)
            }
        }
    }
    return try FolderTensorSource(path: path)
}
