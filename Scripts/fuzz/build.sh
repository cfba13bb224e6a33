#!/usr/bin/env bash
# Builds the libFuzzer harness for the checkpoint readers into .build/fuzz/fuzz-checkpoint.
# Tensor and ZIPFoundation become modules of their own; the Checkpoint sources and FuzzCheckpoint.swift form one
# module, so the harness reaches the internal unpickler. Usage: Scripts/fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFTC=${SWIFTC:-swiftc}
OUT=.build/fuzz
mkdir -p "$OUT"
[ -d .build/checkouts/ZIPFoundation ] || swift package resolve
ZIP=.build/checkouts/ZIPFoundation/Sources
FLAGS=(-O -g -sanitize=fuzzer,address -parse-as-library -I "$OUT" -I Sources/CBLAS -I "$ZIP/CZLib" -Xcc -D_GNU_SOURCE=1)
"$SWIFTC" "${FLAGS[@]}" -module-name Tensor -emit-module -emit-module-path "$OUT/Tensor.swiftmodule" \
    -emit-library -static -o "$OUT/libTensor.a" Sources/Tensor/*.swift
"$SWIFTC" "${FLAGS[@]}" -module-name ZIPFoundation -emit-module -emit-module-path "$OUT/ZIPFoundation.swiftmodule" \
    -emit-library -static -o "$OUT/libZIPFoundation.a" "$ZIP"/ZIPFoundation/*.swift
"$SWIFTC" "${FLAGS[@]}" -module-name Checkpoint -o "$OUT/fuzz-checkpoint" \
    Sources/Checkpoint/*.swift Scripts/fuzz/FuzzCheckpoint.swift -L "$OUT" -lTensor -lZIPFoundation -lopenblas -lz
echo "$OUT/fuzz-checkpoint"
