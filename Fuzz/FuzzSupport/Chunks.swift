/// Splits `bytes` into `pieces` consecutive reads at points derived from `seed`, so one fuzz input also decides how
/// the bytes arrive: a parser must give the same outcome however a peer's bytes are cut.
public func chunks(of bytes: [UInt8], pieces: Int, seed: Int) -> [ArraySlice<UInt8>] {
    var result: [ArraySlice<UInt8>] = []
    var from = 0
    for piece in 1..<max(pieces, 1) {
        let remaining = bytes.count - from
        guard remaining > 1 else { break }
        let cut = from + 1 + (seed &* 7 &+ piece &* 13) % (remaining - 1)
        result.append(bytes[from..<cut])
        from = cut
    }
    result.append(bytes[from...])
    return result
}
