#include "darknet/random.hpp"

namespace dn {

namespace {
std::mt19937_64 g_rng(0);
}

void set_seed(uint64_t seed) { g_rng.seed(seed); }
std::mt19937_64& global_rng() { return g_rng; }
uint64_t next_seed() { return g_rng(); }

float rand_uniform(float a, float b) {
    std::uniform_real_distribution<float> d(a, b);
    return d(g_rng);
}

float rand_normal() {
    std::normal_distribution<float> d(0.f, 1.f);
    return d(g_rng);
}

int rand_int(int a, int b) {
    if (b < a) return a;
    std::uniform_int_distribution<int> d(a, b);
    return d(g_rng);
}

}  // namespace dn
