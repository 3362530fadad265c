#!/usr/bin/env bash
# Machine instructions per channel step of the LRN register-window kernels (src/kernels/lrn.cu),
# without a GPU: builds the file for sm_90 with DN_LRN_AHEAD=4 and =12 (channels per unrolled loop
# iteration) and divides the difference in kernel size (scripts/cubin_sizes.py) by the 8 extra
# steps (sizes come in units of 8 instructions: +-1 per step). One step is one channel of V
# positions, so "per element" = per step / V. The backward's
# loop exists twice (compiled for dx written and for dx added); the script counts one copy by
# building with the accumulate branch's test made constant (what one call executes).
#
#   bash scripts/lrn_step_instructions.sh [size=5]
set -euo pipefail
cd "$(dirname "$0")/.."
SZ=${1:-5}
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
grep -q '                if (accumulate) {' src/kernels/lrn.cu || { echo "lrn.cu: accumulate test not found"; exit 1; }
sed 's/                if (accumulate) {/                if (false) {/' src/kernels/lrn.cu > "$T/lrn.cu"
for A in 4 12; do
    "$NVCC" -std=c++17 -O3 -arch=sm_90 -Iinclude -Isrc -Isrc/kernels -DDN_GPU -DDN_LRN_AHEAD=$A -cubin "$T/lrn.cu" -o "$T/$A.cubin"
    python3 scripts/cubin_sizes.py "$T/$A.cubin" "lrn_(fwd|bwd)_kILi${SZ}E" > "$T/$A.txt"
done
echo "LRN size $SZ, sm_90: instructions per channel step (kernel sizes at 4 and 12 channels per iteration)"
paste "$T/4.txt" "$T/12.txt" | awk '{
    k = $2; dir = (k ~ /lrn_fwd/) ? "forward" : "backward";
    match(k, /ELi[0-9]ELNS0_6LrnPowE[0-9]/); v = substr(k, RSTART + 3, 1); p = substr(k, RSTART + RLENGTH - 1, 1);
    pw = (p == 0) ? "beta 3/4" : "other beta";
    printf "%-9s V=%s %-11s %5d %5d   per step %6.1f   per element %5.1f\n", dir, v, pw, $1, $3, ($3 - $1) / 8, ($3 - $1) / 8 / v }'
