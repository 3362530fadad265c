// The library's random numbers: one seeded generator for weight initialization and the trainers,
// so a run is reproducible from its seed (default 0; `-seed N` or set_seed()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace dn {

/// Reseeds the global generator.
void set_seed(uint64_t seed);
/// The global generator (not thread-safe; loaders derive their own from next_seed()).
std::mt19937_64& global_rng();
/// A fresh seed drawn from the global generator (for per-thread generators).
uint64_t next_seed();
/// The generator of a layer's training draws (dropout masks, crop windows) for one forward pass:
/// from the layer's seed and the images seen so far, so that a resumed run draws what the
/// uninterrupted one would have, and the CPU and GPU passes draw alike.
inline std::mt19937_64 layer_draw_rng(uint64_t layer_seed, uint64_t seen) {
    return std::mt19937_64(layer_seed ^ (seen * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull));
}
/// Uniform in [a, b).
float rand_uniform(float a, float b);
/// Standard normal.
float rand_normal();
/// Fills p[0..n) with uniform values in [a, b) (weight initialization; two values per draw).
template <class T>
void fill_uniform(T* p, size_t n, float a, float b);
/// Uniform integer in [a, b].
int rand_int(int a, int b);

}  // namespace dn
