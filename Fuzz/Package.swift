// swift-tools-version: 6.0
import PackageDescription

// The libFuzzer target of the request parser and validator, a package of its own because only
// scripts/fuzz.sh can link it: it builds it with -sanitize=fuzzer,address, which brings
// libFuzzer's driver.
let package = Package(
    name: "cloud-worker-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "cloud-worker", path: "..")],
    targets: [
        .systemLibrary(name: "CLibFuzzer", path: "CLibFuzzer"),
        .executableTarget(
            name: "RequestFuzzer",
            dependencies: ["CLibFuzzer", .product(name: "RequestValidation", package: "cloud-worker")],
            path: "RequestFuzzer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
