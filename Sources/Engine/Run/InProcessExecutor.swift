import Foundation
import Store

/// Runs each job on its own thread of this process: no start-up cost, for cheap ops
/// (import, dataset, report, small merges). A trap in the op ends the whole run.
public struct InProcessExecutor: Executor {
    let store: Store
    let directory: String

    public init(store: Store, directory: String) {
        self.store = store
        self.directory = directory
    }

    public func start(_ job: Job, progress: @escaping @Sendable (Double) -> Void,
                      completion: @escaping @Sendable (JobOutcome) -> Void) {
        let thread = Thread { [store, directory] in
            completion(InstanceRunner.run(job, store: store, directory: directory, progress: progress))
        }
        // Training and merges recurse little, but BLAS and large frames want more than 512 KiB.
        thread.stackSize = 16 << 20
        thread.start()
    }
}
