import Merge
import Numerics
import Store

/// A checkpoint artifact in the cache, read one tensor at a time.
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
    func load(_ name: String) throws -> Tensor { try store.loadTensor(manifest.tensor(named: name)!) }
}
