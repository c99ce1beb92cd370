// swift-tools-version:6.0
// mergeflow: a declarative DAG orchestrator for "mix data or merge models?" experiments.
// No package dependencies by design; system C libraries come in through .systemLibrary targets.
import PackageDescription

let package = Package(
    name: "mergeflow",
    products: [
        .executable(name: "mergeflow", targets: ["mergeflow"]),
    ],
    dependencies: [],
    targets: [
        // C libraries from Debian's -dev packages (installed by run.sh).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // glibc's malloc tuning (mallopt), which Swift's Glibc module does not export.
        .systemLibrary(name: "CMalloc"),
        // prctl (a child process that dies with its parent), which Swift cannot call directly.
        .systemLibrary(name: "CProcess"),

        // Merge loops for CPUs with AVX2 and FMA, chosen at run time (the build targets
        // baseline x86-64); the Swift loops are the portable path with the same bits.
        .target(name: "CMergeKernels"),
        // Training loops (causal attention per head, GELU) for CPUs with AVX2 and FMA, chosen
        // at run time; elsewhere the Swift and BLAS loops run.
        .target(name: "CModelKernels"),

        // JSON values with source positions, and the canonical encoding used for hashing.
        .target(name: "JSON"),
        // Float32 tensors, BLAS, and core-parallel kernels.
        .target(name: "Numerics", dependencies: ["COpenBLAS"]),
        // The content-addressed SQLite cache: chunks, artifacts, actions, runs.
        .target(name: "Store", dependencies: ["CSQLite", "CCrypto", "JSON", "Numerics"]),
        // safetensors files and checkpoint folders, in and out of the store.
        .target(name: "Checkpoint", dependencies: ["Store", "JSON"]),
        // The byte-level GPT-2 model.
        .target(name: "Model", dependencies: ["JSON", "Numerics", "CModelKernels"]),
        // Examples (prompt, answer, language, objective), their file format, splits and training batches.
        .target(name: "Datasets", dependencies: ["JSON", "Numerics", "Store", "Model"]),
        // Judging and summarising evaluations: chrF, win/tie/loss, means and intervals over seeds.
        .target(name: "Evaluation", dependencies: []),
        // Reports of a sweep: Markdown tables, CSV / JSON Lines, an HTML page with SVG plots.
        .target(name: "Reports", dependencies: ["Evaluation"]),
        // Model merging with mergekit's semantics, streamed tensor by tensor.
        .target(name: "Merge", dependencies: ["JSON", "Numerics", "Store", "CMergeKernels"]),
        // The generic engine: specs, grid expansion, action keys, plans, the scheduler and its
        // executors. Knows no op: they come in an OpRegistry.
        .target(name: "Engine", dependencies: ["JSON", "Store", "CProcess"]),
        // The built-in ops (import, init, merge, dataset, training, eval, report, command),
        // with model loading, tensor sources, mergekit config translation and direct merge.
        .target(name: "Ops", dependencies: ["Engine", "JSON", "Numerics", "Store", "Checkpoint", "Model", "Datasets", "Evaluation", "Reports", "Merge", "CProcess"]),
        // The command-line tool.
        .executableTarget(name: "mergeflow", dependencies: ["JSON", "Numerics", "Store", "Checkpoint", "Engine", "Ops", "Merge", "Model", "Reports", "CMalloc"]),

        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Store"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MergeTests", dependencies: ["Merge", "Checkpoint", "Numerics", "JSON", "Store"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "CModelKernels", "Checkpoint", "Numerics", "JSON"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Model", "Store"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Evaluation"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"], resources: [.copy("Fixtures")]),
        // What the engine's and the ops' tests share: a temporary cache and spec runner, fake
        // ops at the I/O edge, a JSON Schema validator. Public API of Engine, JSON, Store only.
        .target(name: "EngineTestSupport", dependencies: ["Engine", "JSON", "Store"], path: "Tests/EngineTestSupport"),
        // The generic engine on fake ops: no ML module (Store brings in Numerics' tensor type only).
        .testTarget(name: "EngineTests", dependencies: ["Engine", "JSON", "Store", "EngineTestSupport"]),
        // The built-in ops through the engine: golden digests, datasets, training, eval, report,
        // command outputs, the shipped pipelines' schema.
        .testTarget(name: "OpsTests", dependencies: ["Ops", "Engine", "EngineTestSupport", "Store", "Checkpoint", "JSON", "Model", "Datasets", "Numerics", "Merge"]),
        .testTarget(name: "MergeflowCLITests", dependencies: ["Store", "Checkpoint"]),
    ]
)
