// [gru]: pjreddie's gated recurrent unit (Cho et al. 2014), six fully connected blocks unrolled
// over [net] time_steps, with an exact back-propagation through time.
#pragma once

#include <array>
#include <vector>

#include "gate_steps.hpp"
#include "recurrent_layer.hpp"
#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: output (>= 1), batch_normalize, tanh (pjreddie's: 1 squashes the candidate with tanh,
/// the default 0 with logistic, as pjreddie's does). Rows as in [rnn]: a pass of N streams x
/// time_steps rows, time-major. Input [T*N, I] -> output [T*N, O], per step t with the state h:
///   z = logistic(W_z h_{t-1} + U_z x_t),  r = logistic(W_r h_{t-1} + U_r x_t)
///   hc = squash(W_h (r h_{t-1}) + U_h x_t),  h_t = z h_{t-1} + (1 - z) hc,  y_t = h_t
/// (each block linear, with its bias or batchnorm). h_0 is zero in a training pass, and otherwise
/// the last state of the previous non-training pass (pjreddie's carries it through training
/// passes too, without a gradient).
/// Weights file: pjreddie's order, W_z, W_r, W_h (O -> O), then U_z, U_r, U_h (I -> O), each a
/// [connected]. AlexeyAB's darknet writes its input blocks first (U_z, U_r, U_h, W_z, W_r, W_h):
/// the file's size is the same, so nothing can tell the two apart.
/// Errors: output < 1, tanh not 0 or 1, a pass whose rows are not a multiple of time_steps.
template <class T>
class GruLayer : public RecurrentLayer<T, 6> {
public:
    explicit GruLayer(const BuildContext<T>& b);
    const char* type() const override { return "gru"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    /// Zeroes the state carried between non-training passes.
    void reset_state();

    enum { kWz, kWr, kWh, kUz, kUr, kUh };  ///< blocks, in file order
    using RecurrentLayer<T, 6>::gates;
    using RecurrentLayer<T, 6>::steps;
    bool use_tanh = false;  ///< the candidate's squashing: tanh, else logistic

    /// What a pass keeps for backward, on the host or the device.
    template <class Buf>
    struct Saved {
        Buf h, carry;                     ///< h_0..h_T [(T+1) N O]; the carried h_0 [N O]
        Buf z, r, s, hc;                  ///< gates, reset state r h_{t-1}, candidate of each step [T N O]
        GateBuffers<Buf, 6> gates;        ///< the blocks' outputs, inputs and statistics
        Buf dh, dh_next, ds, dzc;         ///< backward scratch [N O]
        std::array<Buf, 3> dz;            ///< dL/d(pre) of z, r, hc [N O]
    };

private:
    Saved<std::vector<T>> host_;
#ifdef DN_GPU
    Saved<DeviceBuffer<T>> dev_;
#endif
    template <class Ops>
    friend struct GruSteps;
};

}  // namespace dn
