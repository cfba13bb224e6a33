/// How `print(tensor)` shows a 1-D int64 tensor: `tensor([ 0, 10])` with values right-aligned to the widest shown,
/// lines wrapped at 80 columns, and only the first and last 3 values around ` ...` past 1000 values.
public func torchRepr(int64Vector values: [Int]) -> String {
    if values.isEmpty { return "tensor([], dtype=torch.int64)" }
    let summarize = values.count > 1000
    let shown = summarize ? Array(values.prefix(3) + values.suffix(3)) : values
    let width = shown.map { String($0).count }.max() ?? 1
    var items = shown.map { String(repeating: " ", count: width - String($0).count) + String($0) }
    if summarize { items.insert(" ...", at: 3) }
    let indent = "tensor(".count
    let perLine = max(1, (80 - indent) / (width + 2))
    let lines = stride(from: 0, to: items.count, by: perLine).map { items[$0..<min($0 + perLine, items.count)].joined(separator: ", ") }
    return "tensor([" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "])"
}
