#!/usr/bin/env bash
# Data-parallel scaling of `cnclip train` over MPI ranks on this machine: step time and pairs/s for 1 rank and for
# N ranks (THREADS threads each, default 1), the time each step spends in collectives and its share, and the bytes
# all-reduced per step. Random-weight RN50 + RBT3 at BATCH pairs per rank (default 16) on a synthetic LMDB.
# Usage: Scripts/bench/mpi-scaling.sh [ranks=2]   (env: BATCH, STEPS, THREADS, VISION, TEXT, BTL)
# BTL is Open MPI's transport list (default self,vader,tcp: shared memory between ranks of one machine, TCP on
# loopback otherwise; BTL=self,tcp measures the TCP path a second machine would use). MPIRUN_ARGS adds mpirun
# options, e.g. "--mca mpi_yield_when_idle 1" so that a waiting rank yields its core on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks=${1:-2}
batch=${BATCH:-16}
steps=${STEPS:-5}
threads=${THREADS:-1}
vision=${VISION:-RN50}
text=${TEXT:-RBT3-chinese}
btl=${BTL:-self,vader,tcp}
cnclip=$PWD/.build/release/cnclip
[[ -x $cnclip ]] || swift build -c release --product cnclip >&2
work=${TMPDIR:-/tmp}/cnclip-mpi-scaling
rm -rf "$work" && mkdir -p "$work/data"

# Enough pairs for `steps` steps of the largest global batch, as 64×64 BMP images (pure Python, no imaging library).
python3 - "$work/data" $((batch * ranks * steps)) <<'PY'
import base64, json, random, struct, sys
directory, count = sys.argv[1], int(sys.argv[2])
random.seed(0)
def bmp(w, h, colour):
    row = bytes(colour[::-1]) * w + b"\0" * ((4 - w * 3 % 4) % 4)
    pixels = b"".join(bytes(min(255, c + random.randrange(40)) for c in row) for _ in range(h))
    return b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + struct.pack(
        "<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels
words = ["红色", "绿色", "蓝色", "黄色", "方块", "图片", "一只", "小猫"]
for split, n in (("train", count), ("valid", 2)):
    with open(f"{directory}/{split}_imgs.tsv", "w") as imgs, open(f"{directory}/{split}_texts.jsonl", "w") as texts:
        for i in range(n):
            colour = [random.randrange(200) for _ in range(3)]
            imgs.write(f"{i}\t{base64.b64encode(bmp(64, 64, colour)).decode()}\n")
            text = "".join(random.choice(words) for _ in range(4))
            texts.write(json.dumps({"text_id": i, "text": text, "image_ids": [i]}, ensure_ascii=False) + "\n")
PY
$cnclip build-lmdb --data_dir "$work/data" --splits train,valid >/dev/null

run() { # ranks per-rank-batch → prints "seconds_per_step pairs_per_s comm_s_per_step bytes_reduced_per_step"
    local n=$1 b=$2 launcher=()
    if (( n > 1 )); then
        # shellcheck disable=SC2206
        launcher=(mpirun --allow-run-as-root --oversubscribe -np "$n" --bind-to none ${MPIRUN_ARGS:-}
                  --mca btl "$btl" --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
    fi
    CNCLIP_NUM_THREADS=$threads "${launcher[@]}" "$cnclip" train --train-data "$work/data/lmdb/train" --logs none \
        --vision-model "$vision" --text-model "$text" --batch-size "$b" --max-steps "$steps" --log-interval 1 \
        --warmup 1 --init-seed 1 2>"$work/log-$n.txt" >/dev/null
    python3 - "$work/log-$n.txt" "$n" "$b" <<'PY'
import re, sys
log, n, b = open(sys.argv[1]).read(), int(sys.argv[2]), int(sys.argv[3])
times = [float(t) for t in re.findall(r"Batch Time: ([0-9.]+)s", log)][1:]   # the first step warms up
step = sorted(times)[len(times) // 2]
comm = re.search(r"Communication \(rank 0\): ([0-9.]+)s per step in collectives, (\d+) bytes all-reduced", log)
seconds, reduced = (float(comm.group(1)), int(comm.group(2))) if comm else (0.0, 0)
print(f"{step:.3f} {n * b / step:.3f} {seconds:.3f} {reduced}")
PY
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $vision + $text, batch $batch per rank, $threads thread(s) per rank, btl $btl" >&2
read -r one_step one_rate _ _ < <(run 1 "$batch")
read -r many_step many_rate comm reduced < <(run "$ranks" "$batch")
printf '1 rank:  %7.2f s/step  %6.2f pairs/s\n' "$one_step" "$one_rate"
python3 -c 'import sys; n, step, rate, one, comm, reduced = sys.argv[1:]; step, rate, one, comm = map(float, (step, rate, one, comm)); print(f"{n} ranks: {step:7.2f} s/step  {rate:6.2f} pairs/s  ({rate / one:.2f}x)  collectives {comm:.3f} s/step ({100 * comm / step:.1f}%), {int(reduced)} bytes all-reduced/step")' \
    "$ranks" "$many_step" "$many_rate" "$one_rate" "$comm" "$reduced"
