import Numerics

/// Float32 → bfloat16 / float16, rounded as torch's CPU `tensor.to(dtype)` rounds, so a merge
/// written in a half type has the bits mergekit would write from the same Float32 values.
///
/// Both conversions round to nearest, ties to even. Overflow gives ±inf, values below the
/// smallest subnormal of the target round to ±0 by the same rule, and subnormals of the
/// target are produced exactly (bfloat16 shares Float32's exponent range, so its subnormals
/// are just Float32 subnormals rounded; float16's come out of the float arithmetic below).
/// NaN: see `bfloat16Bits` and `halfBits` (checked against torch 2.15 by
/// `scripts/reference/make_dtype_fixtures.py`).
extension DType {
    /// Float32 → bfloat16 bits: add 0x7FFF plus the lowest kept bit, keep the high half
    /// (torch's `round_to_nearest_even`). Every NaN becomes 0xFFFF, whatever its sign and
    /// payload: what torch 2.15's CPU kernel writes (its AVX2 conversion blends in 0xFFFF
    /// for unordered lanes; measured, `make_dtype_fixtures.py`).
    @inline(__always)
    public static func bfloat16Bits(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return 0xFFFF }
        let lsb = (bits >> 16) & 1
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ lsb) >> 16)
    }

    /// Float32 → IEEE binary16 bits, round to nearest even, as c10's
    /// `fp16_ieee_from_fp32_value` (and the F16C `vcvtps2ph` instruction torch's vectorised
    /// path uses). The rounding is done by the FPU: scaling |f| up by 2¹¹² and down by 2⁻¹¹⁰
    /// saturates overflow to inf, and adding a power of two placed at the target's last
    /// mantissa bit makes the float adder round the mantissa to nearest even, subnormals
    /// included. A NaN keeps its sign and the top 9 bits of its payload and is made quiet
    /// (sign | 0x7E00 | payload >> 13), as F16C's `vcvtps2ph`, which torch's CPU kernel
    /// uses (c10's scalar fallback would drop the payload).
    @inline(__always)
    public static func halfBits(_ f: Float) -> UInt16 {
        let scaleToInfinity = Float(bitPattern: 0x7780_0000)  // 2^112
        let scaleToZero = Float(bitPattern: 0x0880_0000)      // 2^-110
        var base = (abs(f) * scaleToInfinity) * scaleToZero
        let w = f.bitPattern
        let shl1 = w &+ w
        let sign = w & 0x8000_0000
        var bias = shl1 & 0xFF00_0000
        if bias < 0x7100_0000 { bias = 0x7100_0000 }
        base = Float(bitPattern: (bias >> 1) &+ 0x0780_0000) + base
        let b = base.bitPattern
        let exponentBits = (b >> 13) & 0x7C00
        let mantissaBits = b & 0x0FFF
        let nonSign = shl1 > 0xFF00_0000 ? 0x7E00 | ((w & 0x007F_FFFF) >> 13) : exponentBits &+ mantissaBits
        return UInt16(truncatingIfNeeded: (sign >> 16) | nonSign)
    }

    /// Writes `count` Float32 values as this dtype's little-endian elements at `out` (any
    /// alignment): a copy for F32, rounded for BF16 and F16 (see above). Large arrays are
    /// split across the compute threads.
    public func narrow(_ source: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        precondition(self != .u8, "U8 holds raw bytes, not weights")
        if self == .f32 {
            out.copyMemory(from: source, byteCount: count * 4)
            return
        }
        let src = SharedPointer(source), dst = SharedPointer(out.assumingMemoryBound(to: UInt8.self))
        let half = self == .f16
        Parallel.forEachRange(count, granularity: 4096) { range in
            let o = UnsafeMutableRawPointer(dst.base)
            if half {
                for i in range { o.storeBytes(of: DType.halfBits(src.base[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                return
            }
            // bfloat16 8 at a time, as `bfloat16Bits` per lane, with integer lane masks
            // (Swift lowers SIMD comparisons to a scalar loop; shifts and ands vectorise).
            var i = range.lowerBound
            let input = UnsafeRawPointer(src.base)
            while i + 8 <= range.upperBound {
                let bits = input.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self)
                let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
                // All ones where |x| is above infinity's bits (a NaN).
                let magnitude = SIMD8<Int32>(truncatingIfNeeded: bits & 0x7FFF_FFFF)
                let nan = SIMD8<UInt32>(truncatingIfNeeded: (0x7F80_0000 &- magnitude) &>> 31)
                let result = (rounded & ~nan) | (0xFFFF & nan)
                o.storeBytes(of: SIMD8<UInt16>(truncatingIfNeeded: result), toByteOffset: 2 * i, as: SIMD8<UInt16>.self)
                i += 8
            }
            while i < range.upperBound {
                o.storeBytes(of: DType.bfloat16Bits(src.base[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                i += 1
            }
        }
    }

    /// mergekit's dtype names (`float32`, `bfloat16`, `float16`, and torch's aliases
    /// `fp32`/`bf16`/`fp16`/`half`/`float`), nil for anything else.
    public init?(mergekitName name: String) {
        switch name {
        case "float32", "fp32", "float": self = .f32
        case "bfloat16", "bf16": self = .bf16
        case "float16", "fp16", "half": self = .f16
        default: return nil
        }
    }

    /// The name transformers writes as a config's `torch_dtype`.
    public var torchName: String {
        switch self {
        case .f32: return "float32"
        case .bf16: return "bfloat16"
        case .f16: return "float16"
        case .u8: return "uint8"
        }
    }
}

/// Rounds merged Float32 tensors to an output dtype into one buffer reused for the whole
/// model (grown only at a new largest tensor; see `ReusableBuffer`).
public final class NarrowingBuffer {
    public let dtype: DType
    private let storage = ReusableBuffer()

    public init(dtype: DType) { self.dtype = dtype }

    /// `values` in `dtype`, little-endian: the values themselves for F32, else rounded into
    /// the buffer (valid until the next call).
    public func bytes(_ values: UnsafeBufferPointer<Float>) -> UnsafeRawBufferPointer {
        if dtype == .f32 { return UnsafeRawBufferPointer(values) }
        let byteCount = values.count * dtype.size
        let out = UnsafeMutableRawBufferPointer(storage.floats((byteCount + 3) / 4))
        if let src = values.baseAddress, let dst = out.baseAddress { dtype.narrow(src, count: values.count, into: dst) }
        return UnsafeRawBufferPointer(rebasing: out[0..<byteCount])
    }
}

extension DType {
    /// `f` rounded to this dtype and widened back (torch's `x.to(dtype).float()`).
    @inline(__always)
    public func rounded(_ f: Float) -> Float {
        switch self {
        case .bf16: return Float(bitPattern: UInt32(DType.bfloat16Bits(f)) << 16)
        case .f16: return DType.halfToFloat(DType.halfBits(f))
        case .f32, .u8: return f
        }
    }
}
