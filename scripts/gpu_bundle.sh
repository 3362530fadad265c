#!/usr/bin/env bash
# Packs what scripts/gpu_acceptance.sh needs into one folder, for a GPU machine that has the NVIDIA
# driver, CUDA 13 and cuDNN (or PyTorch's pip copies of them) but neither our other libraries nor a
# network (the `device` tool's machines, where device time is short and nothing can be installed):
#
#   [REF_REV=<git revision>] bash scripts/gpu_bundle.sh [out=build/gpu-bundle] [train_images=12000]
#
#   bin/     darknet, libdarknet.so, test_darknet, bench_darknet: make GPU=1 CUDNN=1 built for a
#            portable x86-64 (ARCH=-march=x86-64-v3, its own object folder), stripped
#   lib/     the shared libraries they load other than glibc, the C++ runtime, CUDA and cuDNN
#            (OpenBLAS and its Fortran runtime, OpenMP, GoogleTest, Google Benchmark, ...)
#   shared/  ../shared's yolo-fastest-1.1-xl model and dog.jpg (what the GPU tests read)
#   data/fashion-mnist/  the first train_images training images and 1,000 test images (0: none)
#   bin/bench_darknet_ref  with REF_REV: the benchmark built from that revision (a git worktree), so
#            that gpu_acceptance.sh times the kernels of both on the same device (before/after)
#
# and writes <out>.tar.xz beside the folder. On the GPU machine, from the repository root:
#   tar xf build/gpu-bundle.tar.xz -C build && bash scripts/gpu_acceptance.sh --bundle build/gpu-bundle
# (the device tool: carry build/gpu-bundle.tar.xz). Prints the bundle's size.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/gpu-bundle}
NTRAIN=${2:-12000}
ARCH=-march=x86-64-v3
MK=(make -s -j"$(nproc)" GPU=1 CUDNN=1 ARCH="$ARCH")
CONFIG=$("${MK[@]}" print-bench-bin | xargs dirname)

echo "== build ($CONFIG)"
"${MK[@]}" darknet libdarknet.so "$CONFIG/test_darknet" "$CONFIG/bench_darknet"

rm -rf "$OUT" && mkdir -p "$OUT/bin" "$OUT/lib" "$OUT/shared/models/yolo-fastest-1.1" "$OUT/shared/images"
cp darknet libdarknet.so "$CONFIG/test_darknet" "$CONFIG/bench_darknet" "$OUT/bin/"
if [ -n "${REF_REV:-}" ]; then
    echo "== reference benchmark at $REF_REV"
    W=$(mktemp -d)/ref
    git worktree add -q --detach "$W" "$REF_REV"
    REF_CONFIG=$(cd "$W" && "${MK[@]}" print-bench-bin)
    (cd "$W" && "${MK[@]}" "$REF_CONFIG")
    cp "$W/$REF_CONFIG" "$OUT/bin/bench_darknet_ref"
    git rev-parse --short "$REF_REV" > "$OUT/bench_darknet_ref.rev"
    git worktree remove --force "$W"
fi
strip --strip-debug "$OUT"/bin/*
# ./darknet is shared by every flag set: relink the default build next time make runs
rm -f build/.linked-*

echo "== libraries"
# glibc, the C++ runtime and the GPU stack come from the GPU machine (its driver and CUDA must match)
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libpthread|libdl\.|librt\.|libgcc_s|libstdc\+\+|libcuda|libcudart|libcublas|libcurand|libcudnn|libnvrtc|libnvJitLink)'
for b in "$OUT"/bin/*; do ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
    while read -r name path; do
        if ! [[ $name =~ $skip ]]; then cp -L "$path" "$OUT/lib/$name"; fi
    done
ls "$OUT/lib"

echo "== ../shared (model, photo)"
SHARED=${DARKNET_SHARED:-../shared}
M=$SHARED/models/yolo-fastest-1.1
if [ -d "$M" ]; then
    cp "$M"/yolo-fastest-1.1-xl.cfg "$M"/yolo-fastest-1.1-xl.weights "$M"/coco.names "$OUT/shared/models/yolo-fastest-1.1/"
    cp "$SHARED/images/dog.jpg" "$OUT/shared/images/"
else
    echo "$SHARED not found: the bundle has no model (the detector tests will skip)"
fi

if [ "$NTRAIN" -gt 0 ]; then
    echo "== Fashion-MNIST subset ($NTRAIN training images, 1000 test images)"
    [ -f data/fashion-mnist/train.list ] || bash scripts/get_fashion_mnist.sh
    F=$OUT/data/fashion-mnist  # the same path tail as here: labels come from the paths
    mkdir -p "$F"
    cp data/fashion-mnist/labels.txt "$F/"
    for part in train:"$NTRAIN" test:1000; do
        name=${part%%:*}
        # the lists keep their lines; gpu_acceptance.sh rewrites the prefix up to data/fashion-mnist/
        head -n "${part##*:}" "data/fashion-mnist/$name.list" > "$F/$name.list"
        sed "s|^.*/data/fashion-mnist/||" "$F/$name.list" | tar cf - -C data/fashion-mnist -T - | tar xf - -C "$F"
    done
fi

tar cJf "$OUT.tar.xz" -C "$(dirname "$OUT")" "$(basename "$OUT")"
echo "== $OUT.tar.xz: $(du -h "$OUT.tar.xz" | cut -f1) (the device tool carries at most 64 MiB in all)"
