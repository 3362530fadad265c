// The runtime of tests/cuda_emu.hpp (CPU builds and GPU=emu).
#if !defined(DN_GPU) || defined(DN_GPU_EMU)
#include "cuda_emu.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#if !defined(__x86_64__) || defined(DN_EMU_UCONTEXT)
#include <ucontext.h>
#endif

namespace dn_emu {

thread_local Index3 thread_idx, block_idx;
thread_local dim3 block_dim, grid_dim;

namespace {

// Each CUDA thread of a block is a fiber of the calling OS thread; a scheduler runs every runnable
// fiber until it finishes or waits at a barrier, then opens the block barrier once all of the
// block's live fibers wait at it, and each warp barrier once all of that warp's do. On x86-64 a
// switch saves the callee-saved registers and swaps stacks (about 100x cheaper than swapcontext,
// which makes a system call); elsewhere, or with -DDN_EMU_UCONTEXT, it is swapcontext.
#if defined(__x86_64__) && !defined(DN_EMU_UCONTEXT)
extern "C" void dn_emu_switch(void** save_sp, void* to_sp);
asm(R"(
    .text
    .globl dn_emu_switch
    .type dn_emu_switch, @function
dn_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size dn_emu_switch, .-dn_emu_switch
)");
struct Context {
    void* sp = nullptr;
};
void switch_to(Context& save, Context& to) { dn_emu_switch(&save.sp, to.sp); }
void make_context(Context& c, std::vector<char>& stack, void (*entry)()) {
    // The frame dn_emu_switch pops: six registers, then the return address `entry`; entry then
    // starts with rsp = 8 mod 16, as after a call.
    auto top = reinterpret_cast<uintptr_t>(stack.data() + stack.size()) & ~uintptr_t(15);
    auto* frame = reinterpret_cast<void**>(top - 8 * sizeof(void*));
    for (int i = 0; i < 6; ++i) frame[i] = nullptr;
    frame[6] = reinterpret_cast<void*>(entry);
    frame[7] = nullptr;
    c.sp = frame;
}
#else
struct Context {
    ucontext_t uc;
};
void switch_to(Context& save, Context& to) { swapcontext(&save.uc, &to.uc); }
void make_context(Context& c, std::vector<char>& stack, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack.data();
    c.uc.uc_stack.ss_size = stack.size();
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}
#endif

enum Wait { kNone, kBlock, kWarp };

struct Fiber {
    Context ctx;
    std::vector<char>* stack = nullptr;  // from a pool that only grows (blocks of other sizes reuse it)
    Index3 idx;
    Wait wait = kNone;
    bool done = false;
};

// The shared memory of the running block: the DN_SHARED declarations it has reached, each an
// area of `arena` (reset when a block starts).
struct SharedArea {
    const void* key;
    size_t offset;
};
constexpr size_t kSharedBytes = 48 << 10;

struct Block {
    Context sched;
    std::vector<Fiber> fibers;
    std::vector<double> lanes;  // shuffle slots, one per thread
    std::vector<SharedArea> shared;
    size_t shared_used = 0;
    alignas(64) unsigned char arena[kSharedBytes];
    const std::function<void()>* body = nullptr;
    unsigned current = 0;
};
Block* blk = nullptr;

[[noreturn]] void fiber_main() {
    (*blk->body)();
    Fiber& f = blk->fibers[blk->current];
    f.done = true;
    switch_to(f.ctx, blk->sched);
    std::abort();  // a finished fiber is never resumed
}

void wait_at(Wait w) {
    Fiber& f = blk->fibers[blk->current];
    f.wait = w;
    switch_to(f.ctx, blk->sched);
}

Order initial_order() {
    const char* e = std::getenv("DN_EMU_ORDER");
    if (!e || !*e || std::strcmp(e, "forward") == 0) return Order::Forward;
    if (std::strcmp(e, "reverse") == 0) return Order::Reverse;
    std::fprintf(stderr, "cuda_emu: DN_EMU_ORDER=%s: expected forward or reverse\n", e);
    std::abort();
}
Order current_order = initial_order();

// Runs the fibers of one block to the end.
void run_block() {
    const unsigned B = static_cast<unsigned>(blk->fibers.size());
    const bool rev = current_order == Order::Reverse;
    blk->shared.clear();
    blk->shared_used = 0;
    for (Fiber& f : blk->fibers) {
        f.done = false;
        f.wait = kNone;
        make_context(f.ctx, *f.stack, fiber_main);
    }
    for (;;) {
        for (unsigned i = 0; i < B; ++i) {
            const unsigned t = rev ? B - 1 - i : i;
            Fiber& f = blk->fibers[t];
            if (f.done || f.wait != kNone) continue;
            blk->current = t;
            thread_idx = f.idx;
            switch_to(blk->sched, f.ctx);
        }
        // Every live fiber now waits at a barrier: open the block barrier if all wait there, and
        // each warp barrier that all of its warp's live fibers wait at.
        unsigned alive = 0, at_block = 0;
        for (const Fiber& f : blk->fibers) {
            if (f.done) continue;
            ++alive;
            at_block += f.wait == kBlock;
        }
        if (!alive) return;
        bool opened = false;
        if (at_block == alive) {
            for (Fiber& f : blk->fibers) f.wait = kNone;
            opened = true;
        }
        for (unsigned w = 0; !opened && w * 32 < B; ++w) {
            const unsigned t1 = std::min(B, w * 32 + 32);
            bool all = true, any = false;
            for (unsigned t = w * 32; t < t1; ++t) {
                if (blk->fibers[t].done) continue;
                any = true;
                all = all && blk->fibers[t].wait == kWarp;
            }
            if (!any || !all) continue;
            for (unsigned t = w * 32; t < t1; ++t) blk->fibers[t].wait = kNone;
        }
        for (const Fiber& f : blk->fibers) opened = opened || (!f.done && f.wait == kNone);
        if (!opened) {
            std::fprintf(stderr, "cuda_emu: deadlock: block (%u,%u,%u) waits at a barrier some threads never reach\n",
                         block_idx.x, block_idx.y, block_idx.z);
            std::abort();
        }
    }
}

}  // namespace

Order order() { return current_order; }
void set_order(Order o) { current_order = o; }

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
    const unsigned long long threads = 1ull * block.x * block.y * block.z;
    // A device's limits (compute capability 9.0); a launch outside them fails there with
    // cudaErrorInvalidConfiguration, an empty grid too.
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 ||
        grid.z == 0 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
        std::fprintf(stderr,
                     "cuda_emu: launch of grid (%u,%u,%u) and blocks of (%u,%u,%u) threads: a device refuses it "
                     "(cudaErrorInvalidConfiguration)\n",
                     grid.x, grid.y, grid.z, block.x, block.y, block.z);
        std::abort();
    }
    const unsigned B = static_cast<unsigned>(threads);
    static Block b;  // fibers and their stacks, reused across launches
    static std::vector<std::unique_ptr<std::vector<char>>> stacks;
    while (stacks.size() < B) stacks.push_back(std::make_unique<std::vector<char>>(64 << 10));
    if (b.fibers.size() != B) {
        b.fibers = std::vector<Fiber>(B);
        for (unsigned t = 0; t < B; ++t) b.fibers[t].stack = stacks[t].get();
    }
    for (unsigned t = 0; t < B; ++t) b.fibers[t].idx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
    b.lanes.assign(B, 0.0);
    b.body = &body;
    blk = &b;
    block_dim = block;
    grid_dim = grid;
    const size_t nb = static_cast<size_t>(grid.x) * grid.y * grid.z;
    for (size_t i = 0; i < nb; ++i) {
        const size_t l = current_order == Order::Reverse ? nb - 1 - i : i;  // x fastest, then y, z
        block_idx = {static_cast<unsigned>(l % grid.x), static_cast<unsigned>(l / grid.x % grid.y),
                     static_cast<unsigned>(l / (static_cast<size_t>(grid.x) * grid.y))};
        run_block();
    }
    blk = nullptr;
}

void syncthreads() { wait_at(kBlock); }

void* shared_slot(const void* key, size_t bytes, size_t align) {
    for (const SharedArea& a : blk->shared)
        if (a.key == key) return blk->arena + a.offset;
    const size_t offset = (blk->shared_used + align - 1) / align * align;
    if (offset + bytes > kSharedBytes) {
        std::fprintf(stderr, "cuda_emu: block (%u,%u,%u) declares over %zu bytes of shared memory\n", block_idx.x,
                     block_idx.y, block_idx.z, kSharedBytes);
        std::abort();
    }
    std::memset(blk->arena + offset, 0xff, bytes);
    blk->shared.push_back({key, offset});
    blk->shared_used = offset + bytes;
    return blk->arena + offset;
}

// Both shuffles: this thread reads the slot of lane `from` of its warp (its own value when
// from >= 32, past the warp's end, as on a device). A lane that does not exist (a block of
// B % 32 != 0 threads) or has exited has no value to give: on a device the result is undefined
// (PTX shfl.sync), so the emulation stops.
static double exchange(double v, unsigned from) {
    const unsigned t = blk->current, base = t - t % 32;
    blk->lanes[t] = v;
    wait_at(kWarp);
    double r = v;
    if (from < 32) {
        const unsigned src = base + from;
        if (src >= blk->lanes.size() || blk->fibers[src].done) {
            std::fprintf(stderr,
                         "cuda_emu: block (%u,%u,%u) thread %u reads lane %u of its warp in a shuffle, but that "
                         "thread %s: the value is undefined on a device\n",
                         block_idx.x, block_idx.y, block_idx.z, t, from,
                         src >= blk->lanes.size() ? "does not exist" : "has exited");
            std::abort();
        }
        r = blk->lanes[src];
    }
    wait_at(kWarp);  // every lane has read before any writes again
    return r;
}

double shfl_down_slot(double v, int o) { return exchange(v, blk->current % 32 + static_cast<unsigned>(o)); }

double shfl_slot(double v, int src) { return exchange(v, static_cast<unsigned>(src)); }

}  // namespace dn_emu

#ifndef DN_GPU  // GPU=emu: src/core/cuda.cpp's, on the emulated cudaMalloc
namespace dn {

// Every call hands the area back as NaN (all bits set), so that a kernel reading a partial result
// no block wrote this launch fails its test instead of finding a zero or the last launch's value.
float* gpu_scratch(size_t n) {
    static std::vector<float> s;
    if (s.size() < n) s.resize(n);
    std::memset(s.data(), 0xff, n * sizeof(float));
    return s.data();
}

}  // namespace dn
#endif
#endif  // !DN_GPU || DN_GPU_EMU
