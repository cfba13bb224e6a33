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
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // The CPU's instruction-set features (CPUID), and the fix of OpenBLAS's core type for the executable.
        .target(name: "CPUFeatures"),
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
                                               "Retrieval"]),

        // Datasets in the reference's formats, and retrieval over features.
        .target(name: "Dataset", dependencies: ["CLMDB"]),
        .target(name: "Retrieval", dependencies: ["Dataset", "Tensor", "Layers", "Models", "Imaging", "Tokenizer"],
                resources: [.copy("Resources/zeroshot_templates.json")]),

        // int8 / bf16 (and fp32 where faster) Linear layers through oneDNN: `--precision`.
        .target(name: "Quantized", dependencies: ["CDNNL", "CPUFeatures", "Tensor", "Layers", "Models", "Checkpoint",
                                                "Imaging", "Tokenizer"]),

        // The demo's data preparation (Fashion-MNIST → the reference's dataset format) and report.
        .target(name: "Demo", dependencies: ["CPNG", "CCairo"]),

        .executableTarget(name: "cnclip", dependencies: [
            "Tensor", "Checkpoint", "Tokenizer", "Imaging", "Models", "Dataset", "Retrieval", "Training", "Demo",
            "Quantized", "OpenBLASCoreType",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests: fixtures made by Scripts/fixtures from the reference, read through TestSupport.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Tensor", "TestSupport"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "TestSupport"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Tensor", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensor", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "Layers", "Tensor", "Checkpoint", "Dataset",
                                                        "TestSupport"]),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "Imaging", "TestSupport"]),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "TestSupport"]),
        .testTarget(name: "QuantizedTests", dependencies: ["Quantized", "Models", "Layers", "Tensor", "Checkpoint",
                                                         "TestSupport"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Dataset", "Models", "Tensor", "Tokenizer", "TestSupport"]),
    ]
)
