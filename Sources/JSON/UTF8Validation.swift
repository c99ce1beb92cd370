/// Strict UTF-8 checking, done by hand so a bad byte can be reported with its position.
///
/// Follows Unicode Table 3-7 (well-formed byte sequences): no overlong forms, no encoded
/// surrogates (U+D800...U+DFFF), nothing above U+10FFFF.
enum UTF8Validation {
    /// The length of the well-formed sequence starting at `offset`, or nil when the bytes
    /// there are not UTF-8 (including a sequence cut off by the end of the buffer).
    static func sequenceLength(in bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int? {
        let lead = bytes[offset]
        if lead < 0x80 { return 1 }
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return nil
        }
        guard offset + length <= bytes.count, secondRange.contains(bytes[offset + 1]) else {
            return nil
        }
        for continuation in (offset + 2)..<(offset + length) where bytes[continuation] & 0xC0 != 0x80 {
            return nil
        }
        return length
    }
}
