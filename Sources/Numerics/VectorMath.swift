/// Vectorised elementary functions for hot loops (glibc's scalar `expf`/`tanhf` cost more
/// than the matrix products around them in a GELU).
public enum VectorMath {
    /// eˣ for 8 floats, within 2 ulp of the correctly rounded result on [−87, 88]
    /// (inputs are clamped to that range, so the result is never 0 or ∞).
    ///
    /// Cody–Waite reduction x = n·ln 2 + r with |r| ≤ ln2/2, a degree-7 Taylor polynomial
    /// for eʳ (truncation error < 5e-9 relative), and 2ⁿ built in the exponent bits.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamp by lane selects, which compile to vector min/max (the generic `clamped` did not).
        var x = x.replacing(with: -87, where: x .< -87)
        x = x.replacing(with: 88, where: x .> 88)
        // Round x·log2(e) to the nearest integer with the 1.5·2²³ trick: adding it leaves
        // the integer in the low mantissa bits (Swift's generic `rounded` and Int32
        // conversion on SIMD types are not vectorised).
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        // ln 2 split so that n · ln2High is exact for |n| < 2⁹.
        let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6
        var p = SIMD8<Float>(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let exponent = (integer &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }

    /// The scalar version of `exp(_:)`, for loop tails (the same arithmetic, so a value does
    /// not depend on whether it fell in a tail).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(SIMD8(repeating: x))[0] }
}
