// The GPU kernels' index arithmetic (kernels/gpu_index.hpp) on the host, against `/` and `%`:
// every divisor shape (1, powers of two and their neighbours, odd, large) and numerators up to
// 2^31 - 1, the whole range the kernels allow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/gpu_index.hpp"
#include "kernels/gpu_tuning.hpp"
#include "test_util.hpp"

using dn::FastDivmod;
using dn::NchwIndex;

namespace {

std::vector<uint32_t> divisors() {
    std::vector<uint32_t> d = {1, 2, 3, 5, 6, 7, 9, 13, 49, 169, 196, 255, 256, 257, 676, 3136, 12544, 43264,
                               65535, 65536, 65537, 1000003, (1u << 30) - 1, 1u << 30, (1u << 30) + 1,
                               (1u << 31) - 1, 1u << 31};
    std::mt19937 g(7);
    for (int k = 0; k < 200; ++k) d.push_back(1 + g() % 100000);
    for (int k = 0; k < 50; ++k) d.push_back(1 + g() % (1u << 31));
    return d;
}

std::vector<uint32_t> numerators(uint32_t d, std::mt19937& g) {
    const uint32_t top = (1u << 31) - 1;
    std::vector<uint32_t> n = {0, 1, d - 1, top, top - 1};
    if (d <= top) n.push_back(d);
    for (uint32_t k = 1; k < 64 && uint64_t(k) * d <= top; ++k) {  // multiples of d and their neighbours
        n.push_back(k * d - 1);
        n.push_back(k * d);
        if (k * d + 1 <= top) n.push_back(k * d + 1);
    }
    for (uint64_t k = top / d; k > 0 && k > top / d - 3; --k) n.push_back(static_cast<uint32_t>(k * d));
    for (int k = 0; k < 2000; ++k) n.push_back(g() % (1u << 31));
    for (int k = 0; k < 200; ++k) n.push_back(g() % 100000);
    return n;
}

}  // namespace

TEST(FastDivmod, EqualsIntegerDivisionOverTheKernelsRange) {
    std::mt19937 g(3);
    size_t checked = 0;
    for (uint32_t d : divisors()) {
        const FastDivmod f(d);
        for (uint32_t n : numerators(d, g)) {
            ASSERT_EQ(f.div(n), n / d) << "n=" << n << " d=" << d;
            ASSERT_EQ(f.mod(n), n % d) << "n=" << n << " d=" << d;
            ++checked;
        }
    }
    EXPECT_GT(checked, 500000u);
}

TEST(FastDivmod, SmallDivisorsExhaustivelyOverALowRange) {
    for (uint32_t d = 1; d <= 300; ++d) {
        const FastDivmod f(d);
        for (uint32_t n = 0; n < 20000; ++n) ASSERT_EQ(f.div(n), n / d) << "n=" << n << " d=" << d;
    }
}

TEST(NchwIndex, PlaneChannelAndGroupMatchTheLayout) {
    const int N = 3, C = 12, S = 7 * 5, G = 4, cpg = C / G;
    const NchwIndex ix(C, S);
    const FastDivmod fcpg(cpg);
    uint32_t i = 0;
    for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c)
            for (int s = 0; s < S; ++s, ++i) {
                ASSERT_EQ(ix.plane(i), static_cast<uint32_t>(n * C + c));
                ASSERT_EQ(ix.channel(i), static_cast<uint32_t>(c));
                ASSERT_EQ(ix.group(i, fcpg, G), static_cast<uint32_t>(n * G + c / cpg));
            }
}

// bn_stats_k / bn_dsum_k's loop over one channel, run for every (channel, part, thread) of a grid
// on the host: the walks together visit each element of the channel exactly once.
TEST(ChannelWalk, ThreadsOfAllPartsCoverEachChannelElementOnce) {
    struct Shape { int N, C, S, P; uint32_t B; };
    for (const Shape& sh : {Shape{2, 3, 36, 1, 256}, Shape{3, 4, 49, 2, 32}, Shape{5, 2, 7, 3, 32},
                            Shape{1, 3, 1000, 4, 64}, Shape{7, 5, 1, 2, 32}, Shape{4, 2, 300, 3, 256}}) {
        const size_t M = static_cast<size_t>(sh.N) * sh.S, chunk = (M + sh.P - 1) / sh.P;
        std::vector<int> seen(static_cast<size_t>(sh.N) * sh.C * sh.S, 0);
        for (int c = 0; c < sh.C; ++c)
            for (int p = 0; p < sh.P; ++p)
                for (uint32_t t = 0; t < sh.B; ++t) {
                    const size_t m0 = p * chunk, m1 = std::min(M, m0 + chunk);
                    size_t m = m0 + t;
                    dn::ChannelWalk it(m, sh.C, c, sh.S, sh.B);
                    for (; m + 3 * sh.B < m1; m += 4 * sh.B)
                        for (int k = 0; k < 4; ++k, it.next()) {
                            const size_t mk = m + k * sh.B;
                            ASSERT_EQ(it.off, (mk / sh.S * sh.C + c) * sh.S + mk % sh.S);
                            ++seen[it.off];
                        }
                    for (; m < m1; m += sh.B, it.next()) {
                        ASSERT_EQ(it.off, (m / sh.S * sh.C + c) * sh.S + m % sh.S);
                        ++seen[it.off];
                    }
                }
        for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "element " << i << " N=" << sh.N << " S=" << sh.S;
    }
}

// DN_GPU_TUNING's spec: every key, and a clear error for each kind of bad input.
TEST(GpuTuning, ParsesOverridesAndNamesBadOnes) {
    const dn::GpuTuning none = dn::parse_gpu_tuning(nullptr);
    EXPECT_EQ(none.lrn_vec, 0);
    EXPECT_EQ(none.lrn_run, 0);
    EXPECT_EQ(none.norm_chunk, 0);
    EXPECT_EQ(none.elem_units, 0);
    const dn::GpuTuning t = dn::parse_gpu_tuning("lrn_vec=2,lrn_run=16,norm_chunk=16384,elem_units=1");
    EXPECT_EQ(t.lrn_vec, 2);
    EXPECT_EQ(t.lrn_run, 16);
    EXPECT_EQ(t.norm_chunk, 16384);
    EXPECT_EQ(t.elem_units, 1);
    auto err = [](const char* spec) { return dn::test::error_of([&] { dn::parse_gpu_tuning(spec); }); };
    EXPECT_NE(err("lrn_width=4").find("unknown key 'lrn_width'"), std::string::npos);
    EXPECT_NE(err("lrn_vec=3").find("must be 1, 2 or 4"), std::string::npos);
    EXPECT_NE(err("lrn_run=x").find("lrn_run='x' is not a count"), std::string::npos);
    EXPECT_NE(err("lrn_run").find("is not a count"), std::string::npos);
    EXPECT_NE(err("norm_chunk=8").find("norm_chunk=8 must be >= 32"), std::string::npos);
    EXPECT_NE(err("elem_units=2").find("elem_units=2 must be 1 or 4"), std::string::npos);
}
