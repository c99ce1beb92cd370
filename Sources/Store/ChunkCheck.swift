/// Checking chunks read back from the cache against their digests.
enum ChunkCheck {
    /// The index of the first chunk of `bytes` whose SHA-256 is not its digest, or nil when
    /// all match. `bytes` are cut as `ArtifactWriter` cut them (`Store.chunkSize` pieces,
    /// hashed in parallel); a chunk list of another length mismatches where they part.
    /// - Complexity: one SHA-256 pass over `bytes` (~1.5 GB/s per core with SHA-NI).
    static func firstMismatch(_ digests: [Digest], in bytes: UnsafeRawBufferPointer) -> Int? {
        let actual = ArtifactWriter.hashChunks(bytes)
        if let i = zip(actual, digests).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset { return i }
        // (No chunk at all can only describe no bytes, which `readBytes` checked.)
        return actual.count == digests.count || digests.isEmpty ? nil : min(actual.count, digests.count - 1)
    }
}
