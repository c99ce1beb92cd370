/// Element types a stored tensor may have. Tensors are computed in Float32; F16 and BF16
/// arrive in imported checkpoints and are widened on load. U8 holds raw bytes (a dataset's
/// JSON Lines), never model weights.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case u8 = "U8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .u8: return 1
        }
    }

    /// Whether the type holds model weights (checkpoints accept only these).
    public var isFloatingPoint: Bool { self != .u8 }

    /// Widens `count` little-endian elements at `source` (any alignment) into Float32.
    public func widen(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            out.withMemoryRebound(to: UInt8.self, capacity: count * 4) { o in
                o.update(from: source.assumingMemoryBound(to: UInt8.self), count: count * 4)
            }
        case .bf16:
            // bfloat16 is the high half of a float32: widening is a shift. Eight at a time
            // through SIMD types, since element-wise unaligned loads did not vectorise; the
            // data may sit at any address.
            var i = 0
            #if _endian(little)
            while i + 8 <= count {
                let halves = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)
                let bits = SIMD8<UInt32>(truncatingIfNeeded: halves) &<< 16
                UnsafeMutableRawPointer(out + i).storeBytes(of: bits, as: SIMD8<UInt32>.self)
                i += 8
            }
            #endif
            while i < count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
                out[i] = Float(bitPattern: bits << 16)
                i += 1
            }
        case .u8:
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { out[i] = Float(bytes[i]) }
        case .f16:
            for i in 0..<count {
                out[i] = DType.halfToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
            }
        }
    }

    /// IEEE 754 binary16 → binary32, exact for every input (subnormals, ±0, ±inf, NaN payloads).
    @inline(__always)
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1f
        var mantissa = UInt32(h) & 0x3ff
        if exponent == 0x1f {                       // inf / NaN
            return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13)
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }  // ±0
            // Subnormal: shift the mantissa up until its leading 1 is the implicit bit.
            var e: UInt32 = 127 - 15 + 1
            while mantissa & 0x400 == 0 { mantissa <<= 1; e -= 1 }
            return Float(bitPattern: sign | e << 23 | (mantissa & 0x3ff) << 13)
        }
        return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | mantissa << 13)
    }
}
