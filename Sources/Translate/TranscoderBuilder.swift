import Config
import Protobuf

/// gRPC-JSON transcoding: Envoy's `grpc_json_transcoder` filter sits in the connection manager disabled, and each
/// route with `grpc_json` carries its own configuration (descriptors, services), which turns it on there.
enum TranscoderBuilder {
    static let filterName = "envoy.filters.http.grpc_json_transcoder"

    /// The first `grpc_json` of the listener whose descriptors are known: the disabled filter still needs a valid
    /// configuration of its own, which no request ever uses.
    static func first(_ http: HTTPListener, _ descriptors: [String: [UInt8]]) -> GRPCJSON? {
        // Searched in place: most listeners have no `grpc_json` route, and copying every route to find none was the
        // cost (with 10,000 routes, a third of building the listener).
        for host in http.hosts {
            if let index = host.routes.firstIndex(where: {
                $0.grpcJSON.map { descriptors[$0.descriptors] != nil } ?? false
            }) {
                return host.routes[index].grpcJSON
            }
        }
        return nil
    }

    static func httpFilter(_ transcoding: GRPCJSON, _ descriptors: [String: [UInt8]]) -> ProtoValue {
        chainFilter(filterName, .any(config(transcoding, descriptors)), disabled: true)
    }

    static func perRoute(_ transcoding: GRPCJSON, _ descriptors: [String: [UInt8]]) -> [String: ProtoValue] {
        [filterName: .any(config(transcoding, descriptors))]
    }

    /// Methods without `google.api.http` annotations answer `POST /package.Service/Method` (auto mapping); a gRPC
    /// error becomes an HTTP status with a JSON body; fields at their default values are printed, so a client
    /// reading JSON sees every field.
    private static func config(_ transcoding: GRPCJSON, _ descriptors: [String: [UInt8]]) -> ProtoMessage {
        ProtoMessage(
            "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            [
                "proto_descriptor_bin": .bytes(descriptors[transcoding.descriptors] ?? []),
                "services": .list(transcoding.services.map(ProtoValue.string)),
                "auto_mapping": .bool(true),
                "convert_grpc_status": .bool(true),
                "print_options": message(
                    "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder.PrintOptions",
                    ["always_print_primitive_fields": .bool(true)]),
            ])
    }
}
