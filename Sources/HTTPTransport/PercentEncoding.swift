/// URI encoding of path segments and query values, as SigV4 defines it (and strict enough for
/// any URL): every byte but `A-Za-z0-9-_.~` becomes `%XX` (upper case).
public enum PercentEncoding {
    public static func encode(_ text: String, keepingSlash: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                result.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                result.append(byte)
            default:
                result.append(UInt8(ascii: "%"))
                result.append(hex[Int(byte >> 4)])
                result.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
