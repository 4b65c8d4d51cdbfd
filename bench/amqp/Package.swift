// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "amqp-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "cloud-worker", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
    ],
    targets: [
        .executableTarget(
            name: "AMQPBench",
            dependencies: [
                .product(name: "QueueConsumer", package: "cloud-worker"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
