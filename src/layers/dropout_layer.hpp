// [dropout]: identity at inference; in training zeroes each value with `probability` and scales
// the rest by 1/(1-probability) (inverted dropout, as Darknet).
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

private:
    std::vector<unsigned char> keep_;  ///< mask of the last training forward
    bool last_train_ = false;
    bool frozen_ = false;
    uint64_t seed_;  ///< masks are drawn from (seed_, images seen), so resumed training repeats them
#ifdef DN_GPU
    DeviceBuffer<uint8_t> keep_gpu_;
#endif
};

}  // namespace dn
