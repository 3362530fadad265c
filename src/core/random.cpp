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

template <class T>
void fill_uniform(T* p, size_t n, float a, float b) {
    const double scale = (static_cast<double>(b) - a) / 4294967296.0;
    for (size_t i = 0; i < n; i += 2) {
        uint64_t r = g_rng();
        p[i] = static_cast<T>(a + scale * static_cast<uint32_t>(r));
        if (i + 1 < n) p[i + 1] = static_cast<T>(a + scale * static_cast<uint32_t>(r >> 32));
    }
}
template void fill_uniform<float>(float*, size_t, float, float);
template void fill_uniform<double>(double*, size_t, float, float);

int rand_int(int a, int b) {
    if (b < a) return a;
    std::uniform_int_distribution<int> d(a, b);
    return d(g_rng);
}

}  // namespace dn
