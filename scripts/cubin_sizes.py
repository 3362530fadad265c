#!/usr/bin/env python3
"""Machine-code size of each kernel in a CUDA cubin, for reading kernels without a GPU or a
disassembler (this machine's CUDA has nvcc and ptxas but no cuobjdump/nvdisasm).

    scripts/cubin_sizes.py FILE.cubin [REGEX]

prints, per kernel whose mangled name matches REGEX, its instruction count: the size of its
.text.<kernel> section / 16 bytes (sm_70 and later encode every instruction in 16 bytes). The
count is of the whole kernel (prologue, every unrolled or unswitched copy of its loops, slow
paths), not of what one thread executes; differences between two builds that change one thing
(e.g. the unroll depth: scripts/lrn_step_instructions.sh) isolate a loop body.
Build a cubin with: nvcc -std=c++17 -O3 -arch=sm_90 -Iinclude -Isrc -DDN_GPU -cubin F.cu -o F.cubin
"""
import re
import struct
import sys


def text_sections(path):
    b = open(path, 'rb').read()
    if b[:4] != b'\x7fELF' or b[4] != 2:
        sys.exit(f'{path}: not a 64-bit ELF file (a cubin from nvcc -cubin)')
    shoff, = struct.unpack_from('<Q', b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', b, 0x3A)
    hdrs = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize) for i in range(shnum)]
    names_off = hdrs[shstrndx][4]

    def name(o):
        end = b.index(b'\0', names_off + o)
        return b[names_off + o:end].decode()

    for h in hdrs:
        n = name(h[0])
        if n.startswith('.text.'):
            yield n[len('.text.'):], h[5]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    pat = re.compile(sys.argv[2] if len(sys.argv) > 2 else '.')
    for kernel, size in sorted(text_sections(sys.argv[1])):
        if pat.search(kernel):
            print(f'{size // 16:7d}  {kernel}')


if __name__ == '__main__':
    main()
