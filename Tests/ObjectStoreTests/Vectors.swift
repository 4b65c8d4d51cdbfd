import Foundation

/// Files under `Tests/ObjectStoreTests/Vectors/`, copied into the test bundle as they are.
enum Vectors {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// The URL of `Vectors/<folder>/<name>.<ext>`, or nil if there is no such file.
    static func url(_ name: String, _ ext: String, in folder: String = "") -> URL? {
        let subdirectory = folder.isEmpty ? "Vectors" : "Vectors/\(folder)"
        return Bundle.module.url(forResource: name, withExtension: ext, subdirectory: subdirectory)
    }

    static func data(_ name: String, _ ext: String, in folder: String = "") throws -> Data {
        guard let url = url(name, ext, in: folder) else {
            throw Missing(description: "no vector file Vectors/\(folder)/\(name).\(ext)")
        }
        return try Data(contentsOf: url)
    }

    static func text(_ name: String, _ ext: String, in folder: String = "") throws -> String {
        String(decoding: try data(name, ext, in: folder), as: UTF8.self)
    }
}
