#!/usr/bin/env bash
# make test's runner (from the repository root):
#   scripts/run_tests.sh <test binary> <GPU=emu object folder>
# runs this build's test binary (every test; those needing a CUDA device skip without one), then
# the GPU agreement tests (tests/test_gpu_agreement.cpp) on the GPU build run on the CPU, then
# both emulated runs again with DN_EMU_ORDER=reverse (blocks last first, a block's threads from the
# last one down: a kernel whose answer depends on the order of blocks or of threads between
# barriers, a race on a device, fails in one of the two orders; tests/cuda_emu.hpp). Ends with
# the plain line "N passed, N failed[, N skipped]" over all four runs. Exits 1 when a test failed.
set -uo pipefail
MAIN=$1
EMU=$2
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
RC=0
# run LOG COMMAND...: runs the test binary command, its output to the terminal and LOG.
run() {
    local log=$LOGS/$1
    shift
    "$@" 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || RC=1
}
AGREE='GpuAgreement*:*/GpuAgreement*'
run 1 env DARKNET_BIN="$PWD/darknet" DARKNET_LIB="$PWD/libdarknet.so" "$MAIN"
echo "== the GPU code path on an emulated device (make GPU=emu: CUDA threads as fibers on the CPU, cuBLAS as OpenBLAS)"
run 2 env DARKNET_BIN="$PWD/$EMU/darknet" "$EMU/test_darknet" --gtest_filter="$AGREE"
echo "== the emulated kernels and the emulated GPU code path again, blocks and threads in reverse order (DN_EMU_ORDER=reverse)"
run 3 env DN_EMU_ORDER=reverse "$MAIN" --gtest_filter='*GpuEmu*'
run 4 env DN_EMU_ORDER=reverse DARKNET_BIN="$PWD/$EMU/darknet" "$EMU/test_darknet" --gtest_filter="$AGREE"
sums=()
for i in 1 2 3 4; do
    s=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOGS/$i" | tail -1)
    if [ -z "$s" ]; then
        echo "a test binary ended without its summary line (crashed?)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    sums+=("$s")
done
printf '%s\n' "${sums[@]}" | awk -F'[ ,]+' '
    { p += $1; f += $3; if ($5 != "") s += $5 }
    END { printf "%d passed, %d failed", p, f; if (s) printf ", %d skipped", s; printf "\n"; exit f > 0 }' || RC=1
exit $RC
