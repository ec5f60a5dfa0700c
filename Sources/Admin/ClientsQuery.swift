import Foundation
import XDS

/// The filters and page of a `/clients` request: `?node=…&group=…&status=nacked|stale|synced&limit=…&offset=…`.
struct ClientsQuery: Equatable {
    static let defaultLimit = 100
    static let maxLimit = 1000

    var node: String?
    var group: String?
    var status: StreamStatus?
    var limit = ClientsQuery.defaultLimit
    var offset = 0

    /// Parses the query string (without `?`). A bad value or an unknown key is an error naming it; a limit above
    /// `maxLimit` is lowered to it (the response says which limit applied).
    static func parse(_ query: Substring) -> Result<ClientsQuery, QueryError> {
        var result = ClientsQuery()
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard
                let value = String(parts.count > 1 ? parts[1] : "").replacingOccurrences(of: "+", with: " ")
                    .removingPercentEncoding
            else {
                return .failure(QueryError("\(key): bad percent-encoding"))
            }
            switch key {
            case "node": result.node = value
            case "group": result.group = value
            case "status":
                guard let status = StreamStatus(rawValue: value) else {
                    return .failure(QueryError("status must be one of nacked, stale, synced"))
                }
                result.status = status
            case "limit":
                guard let limit = Int(value), limit >= 1 else {
                    return .failure(QueryError("limit must be a whole number from 1 to \(maxLimit)"))
                }
                result.limit = min(limit, maxLimit)
            case "offset":
                guard let offset = Int(value), offset >= 0 else {
                    return .failure(QueryError("offset must be a whole number, 0 or more"))
                }
                result.offset = offset
            default:
                return .failure(
                    QueryError("unknown parameter \(key.prefix(64)); known: node, group, status, limit, offset"))
            }
        }
        return .success(result)
    }
}

struct QueryError: Error, Equatable {
    let message: String
    init(_ message: String) { self.message = message }
}
