// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks (ordo-one/benchmark) of the worker's per-event work: reading watch
// events, signing S3 requests, validating requests. A package of its own, so that the root
// package (which CI builds) does not depend on the benchmark tool. Run: bench/micro/run.sh
let package = Package(
    name: "micro-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "cloud-worker", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Micro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "JobRunner", package: "cloud-worker"),
                .product(name: "ObjectStore", package: "cloud-worker"),
                .product(name: "RequestValidation", package: "cloud-worker"),
            ],
            path: "Benchmarks/Micro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
