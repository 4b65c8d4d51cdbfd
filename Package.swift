// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "cloud-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cloud-worker", targets: ["CloudWorker"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
    ],
    targets: [
        // MARK: - C libraries (Debian: librabbitmq-dev, libcurl4-openssl-dev, libssl-dev)
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CRabbitMQShim", dependencies: ["CRabbitMQ"]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),

        // MARK: - Swift modules
        .target(
            name: "HTTPTransport",
            dependencies: ["CCurl", "CCurlShim", "CCrypto"]
        ),
        .target(
            name: "ObjectStore",
            dependencies: ["HTTPTransport", "CCrypto", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "JobRunner",
            dependencies: ["HTTPTransport", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "QueueConsumer",
            dependencies: ["CRabbitMQ", "CRabbitMQShim", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "CloudWorker",
            dependencies: [
                "HTTPTransport", "ObjectStore", "JobRunner", "QueueConsumer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore"], resources: [.copy("Vectors")]),
        .testTarget(name: "JobRunnerTests", dependencies: ["JobRunner"]),
        .testTarget(name: "QueueConsumerTests", dependencies: ["QueueConsumer"]),
        .testTarget(name: "CloudWorkerTests", dependencies: ["CloudWorker"]),
    ],
    swiftLanguageModes: [.v6]
)
