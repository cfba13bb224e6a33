#!/usr/bin/env bash
# Sharded `cnclip index add` over MPI ranks on this machine: images/s of 1 rank and of N ranks (THREADS threads each,
# default 1) indexing the same folder of IMAGES new SIZE×SIZE BMP files (default 48 of 64×64; large ones make reading
# and resizing count, as photos do) with a random-weight VISION tower (default ViT-B-16), each configuration run ROUNDS
# times (default 2), alternating, best of each reported.
# Usage: Scripts/bench/mpi-index.sh [ranks=2]   (env: IMAGES, SIZE, ROUNDS, THREADS, VISION, TEXT, BATCH)
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks=${1:-2}
images=${IMAGES:-48}
size=${SIZE:-64}
rounds=${ROUNDS:-2}
threads=${THREADS:-1}
vision=${VISION:-ViT-B-16}
text=${TEXT:-RoBERTa-wwm-ext-base-chinese}
batch=${BATCH:-8}
cnclip=$PWD/.build/release/cnclip
[[ -x $cnclip ]] || swift build -c release --product cnclip >&2
work=${TMPDIR:-/tmp}/cnclip-mpi-index
rm -rf "$work" && mkdir -p "$work/images"

python3 - "$work/images" "$images" "$size" <<'PY'
import random, struct, sys
directory, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(0)
for i in range(count):
    w = h = size
    colour = [random.randrange(200) for _ in range(3)]
    row = bytes(colour[::-1]) * w
    noise = [bytes(min(255, c + random.randrange(40)) for c in row) for _ in range(8)]
    pixels = b"".join(noise[y % 8] for y in range(h))
    with open(f"{directory}/{i:05d}.bmp", "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + struct.pack(
            "<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)
PY
"$cnclip" bench serve-gallery --vision-model "$vision" --text-model "$text" --rows 1 --index "$work/unused" \
    --checkpoint-out "$work/random.safetensors" >/dev/null 2>&1

run() { # ranks → prints "images/s seconds" of one fresh `index add`, the whole command (model loading included)
    local n=$1 launcher=()
    (( n > 1 )) && launcher=(mpirun --allow-run-as-root --oversubscribe -np "$n" --bind-to none
                             --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
    rm -rf "$work/index"
    local start end
    start=$(date +%s.%N)
    CNCLIP_NUM_THREADS=$threads "${launcher[@]}" "$cnclip" index add --index "$work/index" --batch-size "$batch" \
        --vision-model "$vision" --text-model "$text" --resume "$work/random.safetensors" "$work/images" \
        >"$work/out-$n.json" 2>"$work/err-$n.txt"
    end=$(date +%s.%N)
    python3 -c 'import sys; n, s, e = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f"{n / (e - s):.3f} {e - s:.2f}")' \
        "$images" "$start" "$end"
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $vision, $images images of ${size}×$size, batch $batch, $threads thread(s) per rank" >&2
best_one=0 best_many=0
for _ in $(seq "$rounds"); do
    read -r rate seconds < <(run 1);        echo "1 rank:   $seconds s, $rate images/s (model load included)" >&2
    best_one=$(python3 -c "print(max($best_one, $rate))")
    read -r rate seconds < <(run "$ranks"); echo "$ranks ranks: $seconds s, $rate images/s, shares $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["shares"])' "$work/out-$ranks.json")" >&2
    best_many=$(python3 -c "print(max($best_many, $rate))")
done
python3 -c 'import sys; n, a, b = sys.argv[1:]; print(f"1 rank {float(a):.3f} images/s, {n} ranks {float(b):.3f} images/s: {float(b) / float(a):.2f}x (whole command, model loading included)")' \
    "$ranks" "$best_one" "$best_many"
