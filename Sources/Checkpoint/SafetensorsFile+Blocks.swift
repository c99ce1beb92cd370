import Store

/// Part of a tensor at a time, for merges that go block by block (`BlockedMerge`): only
/// the block's pages are mapped in, widened, and let go.
extension SafetensorsFile {
    /// Elements `elements` of a tensor in the file's bytes.
    private func byteRange(_ entry: SafetensorsEntry, _ elements: Range<Int>) -> Range<Int> {
        let start = dataStart + entry.dataRange.lowerBound
        return (start + elements.lowerBound * entry.dtype.size)..<(start + elements.upperBound * entry.dtype.size)
    }

    /// Elements `elements` of an F32 tensor read in place (nil for other dtypes or an offset
    /// that is not 4-byte aligned).
    public func floatView(_ entry: SafetensorsEntry, elements: Range<Int>) -> UnsafeBufferPointer<Float>? {
        guard entry.dtype == .f32 else { return nil }
        let range = byteRange(entry, elements)
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        guard Int(bitPattern: raw.baseAddress) % 4 == 0 else { return nil }
        file.populate(range)
        return raw.assumingMemoryBound(to: Float.self)
    }

    /// Elements `elements` of a tensor as stored, copied to `destination` (see
    /// `MappedFile.copy`).
    public func copyStored(_ entry: SafetensorsEntry, elements: Range<Int>, into destination: UnsafeMutableRawPointer) throws(CheckpointError) {
        try file.copy(byteRange(entry, elements), into: destination)
    }

    /// Widens elements `elements` of a tensor into `out` (exactly that many).
    public func widen(_ entry: SafetensorsEntry, elements: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) {
        let range = byteRange(entry, elements)
        file.populate(range)
        if let src = file.bytes.baseAddress, let dst = out.baseAddress { entry.dtype.widen(src + range.lowerBound, count: out.count, into: dst) }
    }

    /// Drops the block's pages from resident memory (they stay in the page cache).
    public func evict(_ entry: SafetensorsEntry, elements: Range<Int>) {
        file.evict(byteRange(entry, elements))
    }
}
