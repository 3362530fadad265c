#!/usr/bin/env bash
# make test's runner (from the repository root):
#   scripts/run_tests.sh <test binary> <GPU=emu object folder>
# runs this build's test binary (every test; those needing a CUDA device skip without one), then
# the GPU agreement tests (tests/test_gpu_agreement.cpp) on the GPU build run on the CPU, and ends
# with the plain line "N passed, N failed[, N skipped]" over both. Exits 1 when a test failed.
set -uo pipefail
MAIN=$1
EMU=$2
L1=$(mktemp)
L2=$(mktemp)
trap 'rm -f "$L1" "$L2"' EXIT
DARKNET_BIN=$PWD/darknet DARKNET_LIB=$PWD/libdarknet.so "$MAIN" 2>&1 | tee "$L1"
rc1=${PIPESTATUS[0]}
echo "== the GPU code path on an emulated device (make GPU=emu: CUDA threads as fibers on the CPU, cuBLAS as OpenBLAS)"
DARKNET_BIN=$PWD/$EMU/darknet "$EMU/test_darknet" --gtest_filter='GpuAgreement*:*/GpuAgreement*' 2>&1 | tee "$L2"
rc2=${PIPESTATUS[0]}
summary() { grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1; }
s1=$(summary "$L1")
s2=$(summary "$L2")
if [ -z "$s1" ] || [ -z "$s2" ]; then
    echo "a test binary ended without its summary line (crashed?)"
    echo "0 passed, 1 failed"
    exit 1
fi
printf '%s\n%s\n' "$s1" "$s2" | awk -F'[ ,]+' '
    { p += $1; f += $3; if ($5 != "") s += $5 }
    END { printf "%d passed, %d failed", p, f; if (s) printf ", %d skipped", s; printf "\n"; exit f > 0 }'
rc3=$?
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$rc3" -eq 0 ]
