import Store
import XCTest

/// bf16 → f32 widening is exact: every one of the 65,536 bit patterns (NaN payloads and
/// signed zeros included) becomes its high-half float, from any byte address and for counts
/// that leave the eight-at-a-time loop a ragged tail.
final class DTypeWidenTests: XCTestCase {
    func testEveryBFloat16PatternWidensExactlyAtAnyAddressAndCount() {
        let patterns = (0...UInt16.max).map { $0 }
        for offset in [0, 1, 3] {
            for count in [patterns.count, patterns.count - 5, 7, 1, 0] {
                let bytes = UnsafeMutableRawPointer.allocate(byteCount: offset + 2 * count + 1, alignment: 16)
                defer { bytes.deallocate() }
                for i in 0..<count { bytes.storeBytes(of: patterns[i].littleEndian, toByteOffset: offset + 2 * i, as: UInt16.self) }
                var out = [Float](repeating: .nan, count: count)
                out.withUnsafeMutableBufferPointer { DType.bf16.widen(bytes + offset, count: count, into: $0.baseAddress!) }
                for i in 0..<count where out[i].bitPattern != UInt32(patterns[i]) << 16 {
                    XCTFail("bf16 0x\(String(patterns[i], radix: 16)) at offset \(offset), count \(count): got 0x\(String(out[i].bitPattern, radix: 16))")
                    break
                }
            }
        }
    }
}
