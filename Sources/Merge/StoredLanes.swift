import CMergeKernels
import Store

/// A loop over stored elements written once, generic over the input and output dtypes'
/// lanes, and run specialised for each pair (`run(_:input:output:)`).
protocol StoredKernel {
    /// - Returns: whether every result was finite before rounding.
    func run<In: StoredLanes, Out: StoredLanes>(_: In.Type, _: Out.Type) -> Bool
}

extension StoredKernel {
    /// Runs the loop specialised for `input` and `output` (F32, F16 or BF16).
    func run(input: DType, output: DType) -> Bool {
        switch (input, output) {
        case (.bf16, .bf16): return run(BF16Lanes.self, BF16Lanes.self)
        case (.bf16, .f32): return run(BF16Lanes.self, F32Lanes.self)
        case (.bf16, .f16): return run(BF16Lanes.self, F16Lanes.self)
        case (.f32, .bf16): return run(F32Lanes.self, BF16Lanes.self)
        case (.f32, .f32): return run(F32Lanes.self, F32Lanes.self)
        case (.f32, .f16): return run(F32Lanes.self, F16Lanes.self)
        case (.f16, .bf16): return run(F16Lanes.self, BF16Lanes.self)
        case (.f16, .f32): return run(F16Lanes.self, F32Lanes.self)
        case (.f16, .f16): return run(F16Lanes.self, F16Lanes.self)
        default: preconditionFailure("U8 holds raw bytes, not weights")
        }
    }
}

/// Loading and storing one dtype's little-endian elements 8 lanes at a time (little-endian
/// host), for loops specialised per dtype.
protocol StoredLanes {
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float>
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float
    /// Lanes i..<i + 8 (Float32 bit patterns) rounded as `DType.narrow` rounds.
    static func store8(_ bits: SIMD8<UInt32>, _ p: UnsafeMutableRawPointer, _ i: Int)
    static func store1(_ x: Float, _ p: UnsafeMutableRawPointer, _ i: Int)
}

enum BF16Lanes: StoredLanes {
    @inline(__always)
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        // bfloat16 is the high half of a float32: widening is a shift.
        let halves = p.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)
        return unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: halves) &<< 16, to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
    }

    @inline(__always)
    static func store8(_ bits: SIMD8<UInt32>, _ p: UnsafeMutableRawPointer, _ i: Int) {
        let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        // All ones where |x| is above infinity's bits (a NaN): torch writes 0xFFFF.
        let magnitude = SIMD8<Int32>(truncatingIfNeeded: bits & 0x7FFF_FFFF)
        let nan = SIMD8<UInt32>(truncatingIfNeeded: (0x7F80_0000 &- magnitude) &>> 31)
        let result = (rounded & ~nan) | (0xFFFF & nan)
        p.storeBytes(of: SIMD8<UInt16>(truncatingIfNeeded: result), toByteOffset: 2 * i, as: SIMD8<UInt16>.self)
    }

    @inline(__always)
    static func store1(_ x: Float, _ p: UnsafeMutableRawPointer, _ i: Int) {
        p.storeBytes(of: DType.bfloat16Bits(x), toByteOffset: 2 * i, as: UInt16.self)
    }
}

enum F32Lanes: StoredLanes {
    @inline(__always)
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> { p.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) }
    @inline(__always)
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float { p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
    @inline(__always)
    static func store8(_ bits: SIMD8<UInt32>, _ p: UnsafeMutableRawPointer, _ i: Int) {
        p.storeBytes(of: bits, toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
    }
    @inline(__always)
    static func store1(_ x: Float, _ p: UnsafeMutableRawPointer, _ i: Int) { p.storeBytes(of: x, toByteOffset: 4 * i, as: Float.self) }
}

/// float16 lane by lane (`DType.halfToFloat` / `halfBits`): no vector conversion without F16C.
enum F16Lanes: StoredLanes {
    @inline(__always)
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        var v = SIMD8<Float>()
        for j in 0..<8 { v[j] = load1(p, i + j) }
        return v
    }
    @inline(__always)
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        DType.halfToFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
    }
    @inline(__always)
    static func store8(_ bits: SIMD8<UInt32>, _ p: UnsafeMutableRawPointer, _ i: Int) {
        for j in 0..<8 { store1(Float(bitPattern: bits[j]), p, i + j) }
    }
    @inline(__always)
    static func store1(_ x: Float, _ p: UnsafeMutableRawPointer, _ i: Int) {
        p.storeBytes(of: DType.halfBits(x), toByteOffset: 2 * i, as: UInt16.self)
    }
}

/// Whether this CPU runs the C loops of `CMergeKernels` (AVX2 and FMA): then linear (from
/// stored bytes or Float32 buffers), SLERP's combination and its statistics pass run there
/// for F32 and BF16, with the bits of the Swift loops, which every other CPU runs.
let mergeKernelsAvailable = mf_merge_kernels_available() == 1

/// Lets the C loops run their AVX-512 instances (the default, where this CPU has them) or
/// holds them to their AVX2 instances, for tests that check both give the same bits.
/// - Returns: whether the AVX-512 instances now run.
@discardableResult
func allowWideMergeKernels(_ allowed: Bool) -> Bool { mf_merge_kernels_allow_wide(allowed ? 1 : 0) == 1 }

extension DType {
    /// The element type's code in the C kernels (`mf_dtype`), nil for the types they leave
    /// to the Swift loops.
    var kernelCode: Int32? {
        switch self {
        case .f32: return Int32(MF_F32.rawValue)
        case .bf16: return Int32(MF_BF16.rawValue)
        default: return nil
        }
    }
}
