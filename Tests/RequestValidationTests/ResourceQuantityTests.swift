import Foundation
import Testing

@testable import RequestValidation

@Suite struct ResourceQuantityTests {
    static func value(_ text: String) -> Decimal? { ResourceQuantity(text)?.value }

    @Test(arguments: [
        ("1", Decimal(1)), ("500m", Decimal(string: "0.5")!), ("1.5", Decimal(string: "1.5")!), (".5", Decimal(string: "0.5")!),
        ("5.", Decimal(5)), ("+2", Decimal(2)), ("2k", Decimal(2000)), ("1M", Decimal(1_000_000)), ("1Ki", Decimal(1024)),
        ("2Gi", Decimal(2 * 1024 * 1024 * 1024)), ("1e3", Decimal(1000)), ("1E3", Decimal(1000)), ("1e-3", Decimal(string: "0.001")!),
        ("1E", Decimal(string: "1000000000000000000")!), ("0", Decimal(0)), ("000.000", Decimal(0)), ("-1", Decimal(-1)),
        ("64Pi", Decimal(64) * Decimal(1_125_899_906_842_624)),
    ])
    func readsTheValue(_ text: String, expected: Decimal) {
        #expect(Self.value(text) == expected)
    }

    @Test(arguments: ["", "m", ".", "-", "1.2.3", "1 Gi", "1gi", "1GB", "1e", "1e+", "1Kii", "0x10", "lots", "1,5", "١", "∞"])
    func refusesWhatIsNotAQuantity(_ text: String) {
        #expect(ResourceQuantity(text) == nil)
    }

    @Test func hugeAndTinyValuesStayOrdered() throws {
        let huge = try #require(ResourceQuantity("9" + String(repeating: "9", count: 60) + "Ei"))
        let exponent = try #require(ResourceQuantity("1e999999999999"))
        let tiny = try #require(ResourceQuantity("1e-999999999999"))
        let cap = try #require(ResourceQuantity("16Gi"))
        #expect(huge > cap)
        #expect(exponent > cap)
        #expect(tiny < cap)
        #expect(tiny.value > 0)
    }

    @Test func equalValuesCompareEqualWhateverTheSpelling() {
        #expect(ResourceQuantity("1") == ResourceQuantity("1000m"))
        #expect(ResourceQuantity("1Ki") == ResourceQuantity("1024"))
        #expect(ResourceQuantity("100m")! < ResourceQuantity("0.2")!)
        #expect(ResourceQuantity("1000m")?.text == "1000m")
    }

    @Test func wholeNumbers() {
        #expect(ResourceQuantity("2")!.isInteger)
        #expect(ResourceQuantity("2000m")!.isInteger)
        #expect(!ResourceQuantity("1.5")!.isInteger)
        #expect(!ResourceQuantity("500m")!.isInteger)
    }
}
