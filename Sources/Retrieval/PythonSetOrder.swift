import Dataset

/// CPython 3.11's `set` of hashable values, kept to reproduce the order in which a set iterates (its hash-table
/// slot order), which the reference's evaluation prints (`", ".join(str(i) for i in missing)`).
/// Exact for ints, bools and floats; strings and None, whose hashes CPython randomises per process, get a
/// deterministic stand-in order.
struct PythonSet {
    private static let minimumSize = 8
    private static let linearProbes = 9
    private static let perturbShift = 5

    private enum Slot {
        case empty
        case dummy
        case used(PythonValue, hash: Int64)
    }

    private var table = [Slot](repeating: .empty, count: PythonSet.minimumSize)
    private var fill = 0
    private(set) var count = 0
    /// Slot of each member, for constant-time membership tests.
    private var positions: [PythonValue: Int] = [:]

    init() {}

    /// `set(values)`: one `add` per value in order.
    init(_ values: [PythonValue]) {
        for value in values { add(value) }
    }

    private var mask: Int { table.count - 1 }

    /// The members in iteration order.
    var members: [PythonValue] {
        table.compactMap { if case let .used(value, _) = $0 { return value } else { return nil } }
    }

    func contains(_ value: PythonValue) -> Bool { positions[value] != nil }

    /// `set.add` (`set_add_entry`): linear probes, then perturbed jumps; grows at 3/5 full.
    mutating func add(_ value: PythonValue) {
        let hash = value.pythonHash ?? 0
        var perturb = UInt64(bitPattern: hash)
        var index = Int(UInt64(bitPattern: hash) & UInt64(mask))
        var freeSlot: Int?
        while true {
            var probes = index + Self.linearProbes <= mask ? Self.linearProbes : 0
            var position = index
            while true {
                switch table[position] {
                case .empty:
                    if let freeSlot {
                        place(value, hash: hash, at: freeSlot)
                        count += 1
                        return
                    }
                    place(value, hash: hash, at: position)
                    fill += 1
                    count += 1
                    if fill * 5 >= mask * 3 { resize(minimumUsed: count > 50_000 ? count * 2 : count * 4) }
                    return
                case let .used(member, memberHash):
                    if memberHash == hash && member == value { return }
                case .dummy:
                    if freeSlot == nil { freeSlot = position }
                }
                if probes == 0 { break }
                probes -= 1
                position += 1
            }
            perturb >>= UInt64(Self.perturbShift)
            index = Int((UInt64(index) &* 5 &+ 1 &+ perturb) & UInt64(mask))
        }
    }

    /// `set.discard`: the slot becomes a dummy, so later members keep their places.
    mutating func discard(_ value: PythonValue) {
        guard let position = positions.removeValue(forKey: value) else { return }
        table[position] = .dummy
        count -= 1
    }

    private mutating func place(_ value: PythonValue, hash: Int64, at position: Int) {
        table[position] = .used(value, hash: hash)
        positions[value] = position
    }

    /// `set_table_resize`: a table of the smallest power of two above `minimumUsed`, members re-inserted in slot order.
    private mutating func resize(minimumUsed: Int) {
        var size = Self.minimumSize
        while size <= minimumUsed { size <<= 1 }
        let old = table
        table = [Slot](repeating: .empty, count: size)
        positions.removeAll(keepingCapacity: true)
        fill = count
        for case let .used(value, hash) in old { insertClean(value, hash: hash) }
    }

    /// `set_insert_clean`: placement without equality checks, into a table without dummies.
    private mutating func insertClean(_ value: PythonValue, hash: Int64) {
        var perturb = UInt64(bitPattern: hash)
        var index = Int(UInt64(bitPattern: hash) & UInt64(mask))
        while true {
            if case .empty = table[index] {
                place(value, hash: hash, at: index)
                return
            }
            if index + Self.linearProbes <= mask {
                for position in index + 1...index + Self.linearProbes {
                    if case .empty = table[position] {
                        place(value, hash: hash, at: position)
                        return
                    }
                }
            }
            perturb >>= UInt64(Self.perturbShift)
            index = Int((UInt64(index) &* 5 &+ 1 &+ perturb) & UInt64(mask))
        }
    }

    /// `self - other` (`set_difference`): a copy with `other`'s members discarded when `self` is more than four
    /// times larger, otherwise a new set built from `self`'s members (in slot order) missing from `other`.
    func subtracting(_ other: PythonSet) -> PythonSet {
        if count >> 2 > other.count {
            var copy = self.copy()
            for value in other.members { copy.discard(value) }
            return copy
        }
        var result = PythonSet()
        for value in members where !other.contains(value) { result.add(value) }
        return result
    }

    /// `set(self)` (`set_merge` into an empty set): the same table when no dummies, else a clean re-insertion.
    private func copy() -> PythonSet {
        var result = PythonSet()
        if (0 + count) * 5 >= result.mask * 3 { result.resize(minimumUsed: count * 2) }
        if result.mask == mask && fill == count {
            result.table = table
            result.positions = positions
            result.fill = fill
            result.count = count
            return result
        }
        result.fill = count
        result.count = count
        for case let .used(value, hash) in table { result.insertClean(value, hash: hash) }
        return result
    }
}
