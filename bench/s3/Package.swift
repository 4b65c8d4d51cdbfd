// swift-tools-version: 6.0
// The S3 upload benchmark (`run.sh`): a package of its own, so that the worker's package does not
// build it. It uses ObjectStore from the worker's package, which must export it as a library.
import PackageDescription

let package = Package(
    name: "s3-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "cloud-worker", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
    ],
    targets: [
        .executableTarget(
            name: "S3Bench",
            dependencies: [
                .product(name: "ObjectStore", package: "cloud-worker"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
