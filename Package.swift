// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "cloud-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cloud-worker", targets: ["CloudWorker"]),
        .library(name: "ObjectStore", targets: ["ObjectStore", "HTTPTransport"]),
        .library(name: "JobRunner", targets: ["JobRunner"]),
        .library(name: "QueueConsumer", targets: ["QueueConsumer"]),
        // Also what the fuzz target (Fuzz/) builds against.
        .library(name: "RequestValidation", targets: ["RequestValidation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
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
        // glibc's malloc.h, for the heap gauge.
        .systemLibrary(name: "CMalloc"),
        .target(name: "CRabbitMQShim", dependencies: ["CRabbitMQ"]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),

        // MARK: - Swift modules
        .target(name: "Backoff"),
        .target(
            name: "HTTPTransport",
            dependencies: ["CCurl", "CCurlShim", "CCrypto"]
        ),
        .target(
            name: "ObjectStore",
            dependencies: [
                "Backoff", "HTTPTransport", "CCrypto", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "JobRunner",
            dependencies: [
                "Backoff", "HTTPTransport", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "QueueConsumer",
            dependencies: ["Backoff", "CRabbitMQ", "CRabbitMQShim", .product(name: "Logging", package: "swift-log")]
        ),
        // Pure: no I/O and no dependency, so that it can be fuzzed on its own.
        .target(name: "RequestValidation"),
        .executableTarget(
            name: "CloudWorker",
            dependencies: [
                "Backoff", "CMalloc", "HTTPTransport", "ObjectStore", "JobRunner", "QueueConsumer", "RequestValidation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "BackoffTests", dependencies: ["Backoff"]),
        .testTarget(
            name: "HTTPTransportTests",
            dependencies: [
                "HTTPTransport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(name: "ObjectStoreTests", dependencies: ["Backoff", "ObjectStore"], resources: [.copy("Vectors")]),
        .testTarget(
            name: "JobRunnerTests", dependencies: ["Backoff", "JobRunner", "ObjectStore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "QueueConsumerTests", dependencies: ["QueueConsumer"]),
        .testTarget(name: "CloudWorkerTests", dependencies: ["Backoff", "CloudWorker"]),
        .testTarget(name: "RequestValidationTests", dependencies: ["RequestValidation"]),
    ],
    swiftLanguageModes: [.v6]
)
