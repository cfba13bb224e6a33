#!/usr/bin/env bash
# Builds and runs the libFuzzer harness for the image decoders (JPEG, PNG, WebP, GIF, BMP) with AddressSanitizer.
# Usage: Scripts/fuzz/fuzz_imaging.sh [seconds=120] [extra libFuzzer flags...]
# Corpus: a scratch copy of Tests/Fixtures/imaging/images and bad/ under .build/fuzz/imaging-corpus; crashes land in
# .build/fuzz/ as crash-* files (reproduce with: .build/fuzz/fuzz_imaging <crash-file>).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-120}"
shift || true
out=.build/fuzz
mkdir -p "$out/imaging-corpus"
cp -n Tests/Fixtures/imaging/images/* Tests/Fixtures/imaging/bad/* "$out/imaging-corpus/" 2>/dev/null || true
# The harness joins the Imaging sources as one module; ImagePreprocessor.swift (the only file needing Tensor) stays out.
sources=$(ls Sources/Imaging/*.swift | grep -v ImagePreprocessor.swift)
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name ImagingFuzz \
    -I Sources/CJPEG -I Sources/CPNG -I Sources/CWebP -I Sources/CGIF \
    $sources Scripts/fuzz/fuzz_imaging.swift -o "$out/fuzz_imaging"
"$out/fuzz_imaging" "$out/imaging-corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=3072 \
    -timeout=10 -artifact_prefix="$out/" "$@"
