// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cnclip-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cnclip", targets: ["cnclip"]),
        .library(name: "CNClip", targets: ["Tensor", "Layers", "Checkpoint", "Tokenizer", "Imaging", "Models"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries from Debian (see Makefile `deps`).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CWebP", path: "Sources/CWebP", providers: [.apt(["libwebp-dev"])]),
        .systemLibrary(name: "CGIF", path: "Sources/CGIF", providers: [.apt(["libgif-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", providers: [.apt(["libssl-dev"])]),
        // Debian's libfaiss-dev ships the C API's headers but not its library: a small C shim over the C++ API.
        .target(name: "CFaiss", path: "Sources/CFaiss", cxxSettings: [.headerSearchPath("omp")],
                linkerSettings: [.linkedLibrary("faiss"), .linkedLibrary("gomp"), .linkedLibrary("blas"),
                                 .linkedLibrary("lapack"), .linkedLibrary("stdc++")]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "mpi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // The CPU's instruction-set features (CPUID), and the fix of OpenBLAS's core type for the executable.
        .target(name: "CPUFeatures"),
        // int8 products for few activation rows (AVX2), under Quantized.
        .target(name: "CInt8Kernels"),
        .target(name: "OpenBLASCoreType", dependencies: ["CPUFeatures", "CBLAS"]),

        // The engine and the model inputs.
        .target(name: "Tensor", dependencies: ["CBLAS"]),
        .target(name: "Checkpoint", dependencies: [
            "Tensor", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .target(name: "Tokenizer", resources: [.copy("Resources/vocab.txt")]),
        .target(name: "Imaging", dependencies: ["Tensor", "CJPEG", "CPNG", "CWebP", "CGIF"]),

        // Layers with forward and backward side by side, and the towers built from them.
        .target(name: "Layers", dependencies: ["Tensor"]),
        .target(name: "Models", dependencies: ["Tensor", "Layers", "Checkpoint", "Tokenizer", "Imaging"],
                resources: [.copy("Resources/model_configs")]),

        // One training step: backward passes, contrastive loss, AdamW, schedule.
        .target(name: "Training", dependencies: ["Models", "Layers", "Tensor", "Checkpoint", "Dataset", "Imaging", "Tokenizer",
                                               "Retrieval", "Distributed", "CPUFeatures"]),

        // The process group of an mpirun launch (the only target that calls MPI), or a group of one.
        .target(name: "Distributed", dependencies: ["CMPI"]),

        // Datasets in the reference's formats, and retrieval over features.
        .target(name: "Dataset", dependencies: ["CLMDB"]),
        .target(name: "Retrieval", dependencies: ["Dataset", "Tensor", "Layers", "Models", "Imaging", "Tokenizer", "Distributed"],
                resources: [.copy("Resources/zeroshot_templates.json")]),

        // The on-disk image index: SQLite metadata, the row-aligned feature file, exact and faiss search.
        .target(name: "SearchIndex", dependencies: ["Retrieval", "Distributed", "Models", "Imaging", "Tensor", "Dataset", "CFaiss", "COpenSSL",
                                                  .product(name: "GRDB", package: "GRDB.swift")]),
        // int8 / bf16 (and fp32 where faster) Linear layers through oneDNN: `--precision`.
        .target(name: "Quantized", dependencies: ["CDNNL", "CInt8Kernels", "CPUFeatures", "Tensor", "Layers", "Models", "Checkpoint",
                                                "Imaging", "Tokenizer"]),

        // The demo's data preparation (Fashion-MNIST → the reference's dataset format) and report.
        .target(name: "Demo", dependencies: ["CPNG", "CCairo"]),

        // ONNX export: the generated ONNX protobuf messages (see Sources/ONNXProto/README.md) and the graph writer.
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["README.md"]),
        .target(name: "ONNXExport", dependencies: ["ONNXProto", "Models", "Tensor"]),
        // The search service: HTTP routes, request batching, compatible surfaces, metrics, the web page.
        .target(name: "SearchService", dependencies: [
            "SearchIndex", "Models", "Imaging", "Tokenizer", "Tensor", "CJPEG",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MultipartKit", package: "multipart-kit"),
        ], resources: [.copy("Resources/openapi.json"), .copy("Resources/web")]),

        .executableTarget(name: "cnclip", dependencies: [
            "Tensor", "Checkpoint", "Tokenizer", "Imaging", "Models", "Dataset", "Retrieval", "Training", "Demo",
            "SearchService",
            "SearchIndex", "ONNXExport", "Distributed",
            "Quantized", "OpenBLASCoreType",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests: fixtures made by Scripts/fixtures from the reference, read through TestSupport.
        .target(name: "TestSupport", dependencies: ["Dataset"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Tensor", "TestSupport"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Tensor", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensor", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Layers", "Tensor", "Checkpoint", "Dataset",
                                                        "TestSupport", "CPUFeatures"]),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "Imaging", "TestSupport"]),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "TestSupport"]),
        .testTarget(name: "SearchServiceTests", dependencies: ["SearchService", "SearchIndex", "Models", "Imaging", "Tensor", "Tokenizer",
                                                            "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "SearchIndex", "Checkpoint", "Dataset", "Tensor", "TestSupport"]),
        .testTarget(name: "SearchIndexTests", dependencies: ["SearchIndex", "Retrieval", "Models", "Tensor", "Dataset", "Imaging", "Tokenizer",
                                                           "TestSupport"]),
        .testTarget(name: "HuggingFaceTests", dependencies: ["Models", "Checkpoint", "Imaging", "Tokenizer", "Tensor",
                                                           "TestSupport"]),
        .testTarget(name: "ONNXExportTests", dependencies: ["ONNXExport", "ONNXProto", "Models", "Tensor", "TestSupport"]),
        .testTarget(name: "QuantizedTests", dependencies: ["Quantized", "Models", "Layers", "Tensor", "Checkpoint",
                                                         "Imaging", "Tokenizer", "TestSupport"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Dataset", "Models", "Tensor", "Tokenizer", "TestSupport"]),
    ]
)
