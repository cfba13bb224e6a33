// libFuzzer entry point for the checkpoint readers. Compiled into the Checkpoint module itself by build.sh,
// so it can drive the internal unpickler directly. The first input byte picks the target:
//   0: a whole `.pt` file (ZIP container, CRC check, pickle, storages)
//   1: a bare pickle (restricted unpickler, storages synthesised from their claimed size, capped)
//   2: a `.safetensors` file
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Data(bytes: pointer + 1, count: size - 1)
    switch pointer[0] % 3 {
    case 0:
        if let value = try? TorchSerialization.read(body, path: "fuzz.pt") { touch(value) }
    case 1:
        var reader = PickleReader(bytes: [UInt8](body), path: "fuzz.pkl") { dtype, _, count in
            StoredStorage(dtype: dtype, bytes: Data(count: min(count, 1 << 12) * dtype.byteSize))
        }
        if let value = try? reader.read() { touch(value) }
    default:
        if let (stateDict, _) = try? SafeTensors.read(body, path: "fuzz.safetensors") {
            touch(stateDict.pickleValue)
        }
    }
    return 0
}

/// Materialises every tensor and re-serialises the value, as loading and `cnclip convert` would.
private func touch(_ value: PickleValue) {
    _ = value.mappingTensors { tensor in
        if tensor.count <= 1 << 16 { _ = tensor.tensor() }
        return tensor
    }
    _ = try? Checkpoint(pickleValue: value, path: "fuzz")
    var writer = PickleWriter()
    writer.write(value)
    writer.finish()
}
