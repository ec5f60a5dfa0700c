import Config
import Protobuf

/// Response compression: one `compressor` filter per algorithm in the connection manager, the first algorithm
/// preferred when a client weighs several alike, and a per-route `disabled` for each on routes that turn it off.
enum CompressionBuilder {
    static func filterName(_ algorithm: Compression.Algorithm) -> String {
        "envoy.filters.http.compressor.\(algorithm.rawValue)"
    }

    static func httpFilters(_ compression: Compression) -> [ProtoValue] {
        compression.algorithms.enumerated().map { index, algorithm in
            var common: [String: ProtoValue] = ["min_content_length": .uint32Value(UInt32(compression.minSize))]
            if !compression.contentTypes.isEmpty {
                common["content_type"] = .list(compression.contentTypes.map(ProtoValue.string))
            }
            var compressor: [String: ProtoValue] = [
                "compressor_library": message(
                    "envoy.config.core.v3.TypedExtensionConfig",
                    [
                        "name": .string("envoy.compression.\(algorithm.rawValue).compressor"),
                        "typed_config": library(algorithm),
                    ]),
                "response_direction_config": message(
                    "envoy.extensions.filters.http.compressor.v3.Compressor.ResponseDirectionConfig",
                    [
                        "common_config": message(
                            "envoy.extensions.filters.http.compressor.v3.Compressor.CommonDirectionConfig", common)
                    ]),
            ]
            if index == 0 { compressor["choose_first"] = .bool(true) }
            return chainFilter(
                filterName(algorithm), any("envoy.extensions.filters.http.compressor.v3.Compressor", compressor))
        }
    }

    /// Each library at its own defaults, which favour speed (gzip level 6 and brotli quality 3 would be written
    /// out here if they were not Envoy's defaults already).
    private static func library(_ algorithm: Compression.Algorithm) -> ProtoValue {
        switch algorithm {
        case .gzip: any("envoy.extensions.compression.gzip.compressor.v3.Gzip")
        case .brotli: any("envoy.extensions.compression.brotli.compressor.v3.Brotli")
        case .zstd: any("envoy.extensions.compression.zstd.compressor.v3.Zstd")
        }
    }

    /// The per-route configuration that turns every compressor of the listener off.
    static func disabled(_ compression: Compression) -> [String: ProtoValue] {
        let off = ProtoValue.any(
            ProtoMessage("envoy.extensions.filters.http.compressor.v3.CompressorPerRoute", ["disabled": .bool(true)]))
        return Dictionary(uniqueKeysWithValues: compression.algorithms.map { (filterName($0), off) })
    }
}
