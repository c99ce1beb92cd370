import Checkpoint
import Foundation
import Store
import XCTest

/// Float32 → bfloat16 / float16 gives torch's bits for every value in
/// Fixtures/dtype/rounding.safetensors (scripts/reference/make_dtype_fixtures.py): ±0, ±inf,
/// NaNs with several payloads, float32 and target subnormals, the overflow boundaries,
/// exact halfway cases, 16,000 random bit patterns and 8,000 values of a merge's magnitude.
final class DTypeRoundingTests: XCTestCase {
    func testNarrowingMatchesTorchBitForBit() throws {
        let file = try SafetensorsFile(path: Bundle.module.resourcePath! + "/Fixtures/dtype/rounding.safetensors")
        let input = file.loadTensor(file.entry(named: "input")!).storage
        XCTAssertGreaterThan(input.count, 20_000)
        for (dtype, name) in [(DType.bf16, "bf16"), (.f16, "f16")] {
            let expected = file.bytes(of: file.entry(named: name)!)
            var ours = [UInt8](repeating: 0, count: input.count * 2)
            input.withUnsafeBufferPointer { src in
                ours.withUnsafeMutableBytes { dtype.narrow(src.baseAddress!, count: src.count, into: $0.baseAddress!) }
            }
            var mismatches: [String] = []
            for i in 0..<input.count {
                let theirs = expected.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                let mine = UInt16(ours[2 * i]) | UInt16(ours[2 * i + 1]) << 8
                if mine != theirs {
                    mismatches.append("\(name) [\(i)] 0x\(String(input[i].bitPattern, radix: 16)): ours 0x\(String(mine, radix: 16)), torch 0x\(String(theirs, radix: 16))")
                }
                // The scalar conversions and `rounded` agree with the bulk one.
                let scalar = dtype == .bf16 ? DType.bfloat16Bits(input[i]) : DType.halfBits(input[i])
                if scalar != mine { mismatches.append("\(name) [\(i)]: scalar 0x\(String(scalar, radix: 16)) vs bulk 0x\(String(mine, radix: 16))") }
                let back = dtype.rounded(input[i]), widened = dtype == .bf16 ? Float(bitPattern: UInt32(mine) << 16) : DType.halfToFloat(mine)
                if !(back == widened || (back.isNaN && widened.isNaN)) { mismatches.append("\(name) [\(i)]: rounded \(back) vs \(widened)") }
            }
            XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
        }
    }

    func testMergekitDTypeNames() {
        XCTAssertEqual(DType(mergekitName: "bfloat16"), .bf16)
        XCTAssertEqual(DType(mergekitName: "float16"), .f16)
        XCTAssertEqual(DType(mergekitName: "float32"), .f32)
        XCTAssertNil(DType(mergekitName: "int8"))
        XCTAssertEqual(DType.bf16.torchName, "bfloat16")
    }

    func testNarrowingBufferPassesFloat32ThroughAndRoundsHalves() {
        let values: [Float] = [1, 1 + 1.0 / 256, 1 + 3.0 / 256, -2.5, 65520]
        // The bytes live in the buffer: keep it while they are read.
        let toBF16 = NarrowingBuffer(dtype: .bf16), toF16 = NarrowingBuffer(dtype: .f16)
        values.withUnsafeBufferPointer { v in
            let f32 = NarrowingBuffer(dtype: .f32).bytes(v)
            XCTAssertEqual(f32.baseAddress, UnsafeRawPointer(v.baseAddress), "F32 is not copied")
            let bf16 = toBF16.bytes(v)
            // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even (1). 1 + 3·2^-8 rounds up to 1 + 2^-6.
            XCTAssertEqual((0..<5).map { bf16.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) }, [0x3F80, 0x3F80, 0x3F82, 0xC020, 0x4780])
            let f16 = toF16.bytes(v)
            XCTAssertEqual(f16.loadUnaligned(fromByteOffset: 8, as: UInt16.self), 0x7C00, "65520 overflows float16 to inf")
        }
    }
}
