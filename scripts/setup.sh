#!/usr/bin/env bash
# Installs the Debian packages darknet needs, skipping those already installed.
#   scripts/setup.sh            build, test and training dependencies (OPENCV=1: also libopencv-dev)
#   (python3-torch: the tests and benchmarks compare layers with PyTorch; dataset-fashion-mnist:
#    the training tests and the demo train on it)
set -euo pipefail

pkgs=(g++ make libopenblas-dev libopenblas-openmp-dev libstb-dev libgtest-dev libbenchmark-dev
      python3 python3-numpy python3-opencv python3-torch dataset-fashion-mnist)
# OPENCV=1 builds (make test OPENCV=1): OpenCV's headers and libraries (video for detector demo)
[ "${OPENCV:-0}" = 1 ] && pkgs+=(libopencv-dev)
for arg in "$@"; do
    case "$arg" in
        --train) ;;  # kept for compatibility: the dataset is always installed
        --quiet) ;;
        *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "setup: apt-get update failed; trying the install with the cached lists" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
