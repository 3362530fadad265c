// The emulation itself (tests/cuda_emu.hpp): its run orders expose a kernel whose result depends on
// the order of blocks, or of a block's threads between barriers (a race on a device), and a
// barrier still orders what it must in either order; shared memory starts each block as NaN; a
// shuffle that reads a lane which has exited (undefined on a device), and a launch a device
// refuses, stop the program.
#if !defined(DN_GPU) || defined(DN_GPU_EMU)
#include "cuda_emu.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

// Restores the order the test started with (DN_EMU_ORDER's, when make test runs them reversed).
struct OrderScope {
    dn_emu::Order saved = dn_emu::order();
    explicit OrderScope(dn_emu::Order o) { dn_emu::set_order(o); }
    ~OrderScope() { dn_emu::set_order(saved); }
};

// Racy on a device: block b reads what block b - 1 writes in the same launch.
__global__ void chain_blocks_k(int* out) {
    if (threadIdx.x != 0) return;
    const unsigned b = blockIdx.y * gridDim.x + blockIdx.x;
    out[b] = (b > 0 ? out[b - 1] : 0) + 1;
}

// Racy on a device: thread t reads thread t - 1's shared value with no barrier between.
__global__ void chain_threads_k(int* out) {
    DN_SHARED(int, s, 64);
    const unsigned t = threadIdx.x;
    s[t] = 0;
    __syncthreads();
    s[t] = (t > 0 ? s[t - 1] : 0) + 1;
    out[t] = s[t];
}

// Correct: the same chain with a barrier between the write and the neighbour's read.
__global__ void neighbour_after_barrier_k(int* out) {
    DN_SHARED(int, s, 64);
    const unsigned t = threadIdx.x;
    s[t] = static_cast<int>(t) + 1;
    __syncthreads();
    out[t] = s[t] + (t > 0 ? s[t - 1] : 0);
}

// Wrong on a device: only block 0 writes the shared value that every block reads.
__global__ void shared_from_block0_k(float* out) {
    DN_SHARED(float, v, 1);
    if (blockIdx.x == 0 && threadIdx.x == 0) v[0] = 5.f;
    __syncthreads();
    if (threadIdx.x == 0) out[blockIdx.x] = v[0];
}

// Lanes 8.. of the warp exit before the others' shuffle: lane 7 reads lane 8 (undefined on a device).
__global__ void shuffle_from_exited_lane_k(float* out) {
    const unsigned t = threadIdx.x;
    if (t >= 8) return;
    out[t] = __shfl_down_sync(0xffffffffu, 1.f, 1);
}

// The whole warp shuffles, then lanes leave: defined, lane 31 keeps its own value (31 + 1 >= 32).
__global__ void shuffle_whole_warp_k(float* out) {
    const unsigned t = threadIdx.x;
    out[t] = __shfl_down_sync(0xffffffffu, static_cast<float>(t), 1);
}

std::vector<int> run_blocks(dn_emu::Order o) {
    OrderScope scope(o);
    std::vector<int> out(6, 0);
    DN_LAUNCH(dim3(3, 2), 32, chain_blocks_k)(out.data());
    return out;
}

std::vector<int> run_threads(dn_emu::Order o, void (*kernel)(int*)) {
    OrderScope scope(o);
    std::vector<int> out(64, 0);
    DN_LAUNCH(1, 64, kernel)(out.data());
    return out;
}

TEST(GpuEmuRuntime, ReverseOrderExposesABlockReadingAnotherBlocksWrite) {
    EXPECT_EQ(run_blocks(dn_emu::Order::Forward), (std::vector<int>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(run_blocks(dn_emu::Order::Reverse), (std::vector<int>{1, 1, 1, 1, 1, 1}));
}

TEST(GpuEmuRuntime, ReverseOrderExposesAThreadReadingAnotherThreadsWriteWithoutABarrier) {
    const std::vector<int> fwd = run_threads(dn_emu::Order::Forward, chain_threads_k);
    const std::vector<int> rev = run_threads(dn_emu::Order::Reverse, chain_threads_k);
    EXPECT_EQ(fwd[63], 64);
    EXPECT_EQ(rev[63], 1);
}

TEST(GpuEmuRuntime, ABarrierOrdersNeighboursInBothOrders) {
    for (dn_emu::Order o : {dn_emu::Order::Forward, dn_emu::Order::Reverse}) {
        const std::vector<int> out = run_threads(o, neighbour_after_barrier_k);
        for (int t = 0; t < 64; ++t) EXPECT_EQ(out[t], 2 * t + 1) << "thread " << t;
    }
}

TEST(GpuEmuRuntime, SharedMemoryStartsEachBlockAsNaN) {
    for (dn_emu::Order o : {dn_emu::Order::Forward, dn_emu::Order::Reverse}) {
        OrderScope scope(o);
        std::vector<float> out(3, 0.f);
        DN_LAUNCH(3, 32, shared_from_block0_k)(out.data());
        EXPECT_EQ(out[0], 5.f);
        EXPECT_TRUE(std::isnan(out[1]) && std::isnan(out[2])) << out[1] << " " << out[2];
    }
}

TEST(GpuEmuRuntime, AShuffleReadingAnExitedLaneStops) {
    std::vector<float> out(32, 0.f);
    DN_LAUNCH(1, 32, shuffle_whole_warp_k)(out.data());
    for (int t = 0; t < 32; ++t) EXPECT_EQ(out[t], t < 31 ? t + 1 : 31) << "lane " << t;
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(DN_LAUNCH(1, 32, shuffle_from_exited_lane_k)(out.data()), "reads lane 8 of its warp.*has exited");
    EXPECT_DEATH(DN_LAUNCH(1, 8, shuffle_whole_warp_k)(out.data()), "reads lane 8 of its warp.*does not exist");
}

TEST(GpuEmuRuntime, ALaunchADeviceRefusesStops) {
    std::vector<float> out(32, 0.f);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(DN_LAUNCH(0, 32, shuffle_whole_warp_k)(out.data()), "grid \\(0,1,1\\).*InvalidConfiguration");
    EXPECT_DEATH(DN_LAUNCH(1, 2048, shuffle_whole_warp_k)(out.data()), "blocks of \\(2048,1,1\\)");
    EXPECT_DEATH(DN_LAUNCH(dim3(1, 65536), 32, shuffle_whole_warp_k)(out.data()), "grid \\(1,65536,1\\)");
}

}  // namespace
#endif
