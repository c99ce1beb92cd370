import Engine
import Merge
import Numerics
import Store

/// A checkpoint artifact in the cache, read one tensor at a time into the caller's buffer.
final class StoreTensorSource: TensorSource {
    let store: Store
    let manifest: ArtifactManifest
    let label: String

    init(store: Store, manifest: ArtifactManifest, label: String) {
        self.store = store
        self.manifest = manifest
        self.label = label
    }

    var tensorNames: [String] { manifest.tensors.map(\.name) }
    func shape(of name: String) -> [Int]? { manifest.tensor(named: name)?.shape }

    func read(_ name: String, into buffer: ReusableBuffer) throws -> UnsafeBufferPointer<Float> {
        let entry = manifest.tensor(named: name)!
        let out = buffer.floats(entry.elementCount)
        try store.readFloats(of: entry, into: out)
        return UnsafeBufferPointer(out)
    }

    func release(_ name: String) {}
}
