// [dropout]: identity at inference; in training zeroes each value with `probability` and scales
// the rest by 1/(1-probability) (inverted dropout, as Darknet), or with dropblock=1 zeroes square
// blocks (AlexeyAB's DropBlock, Ghiasi et al. 2018).
#pragma once

#include <cstdint>
#include <vector>

#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

template <class T>
class DropoutLayer : public Layer<T> {
public:
    explicit DropoutLayer(const BuildContext<T>& b);
    const char* type() const override { return "dropout"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    bool identity_at_inference() const override { return true; }
    void freeze_randomness(bool on) override { frozen_ = on; }

    float probability = 0.5f;
    /// AlexeyAB's DropBlock: dropblock=1, block side dropblock_size_abs (7) pixels or
    /// dropblock_size_rel (0: unused) of the input's sides. Over the first 85% of max_batches the
    /// drop rate and the block side grow linearly from 0 (his schedule): at iteration t,
    /// m = min(1, t / (0.85 max_batches)), rate p m, side max(1, min(w, h, side m)). Each position
    /// of each plane starts a side x side block (clipped to the plane) with probability
    /// rate / side^2, as his; the values in blocks are zeroed and each image's others scaled by
    /// its values / its kept values (his scale counts blocks, overlaps twice).
    bool dropblock = false;
    int dropblock_size_abs = 7;
    float dropblock_size_rel = 0;

private:
    /// DropBlock's mask and per-image scales for this forward (mask_ holds keep * scale).
    void draw_blocks(const Network<T>& net);
    std::vector<unsigned char> keep_;  ///< mask of the last training forward
    std::vector<T> mask_;              ///< dropblock: keep * the image's scale
    bool last_train_ = false;
    bool frozen_ = false;
    uint64_t seed_;  ///< masks are drawn from (seed_, images seen), so resumed training repeats them
#ifdef DN_GPU
    DeviceBuffer<uint8_t> keep_gpu_;
    DeviceBuffer<T> mask_gpu_;
#endif
};

}  // namespace dn
