// [lstm]: pjreddie's long short-term memory layer (Hochreiter & Schmidhuber 1997, forget gate of
// Gers et al. 2000), eight fully connected blocks unrolled over [net] time_steps, with an exact
// back-propagation through time.
#pragma once

#include <array>
#include <vector>

#include "gate_steps.hpp"
#include "recurrent_layer.hpp"
#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: output (>= 1), batch_normalize. Rows as in [rnn]: a pass of N streams x time_steps rows,
/// time-major. Input [T*N, I] -> output [T*N, O], per step t with the state (h, c):
///   z_q = W_q h_{t-1} + U_q x_t  (q = i, f, o, g; each block linear, with its bias or batchnorm)
///   i, f, o = logistic(z), g = tanh(z_g),  c_t = f c_{t-1} + i g,  h_t = o tanh(c_t),  y_t = h_t.
/// (h_0, c_0) is zero in a training pass, and otherwise the last state of the previous
/// non-training pass (pjreddie's carries it through training passes too, without a gradient).
/// Weights file: pjreddie's order, W_i, W_f, W_o, W_g (O -> O), then U_i, U_f, U_o, U_g (I -> O),
/// each a [connected]. AlexeyAB's darknet writes them as W_f, W_i, W_g, W_o, U_f, U_i, U_g, U_o:
/// its files are not this layout (their sizes are the same, so nothing can tell them apart).
template <class T>
class LstmLayer : public RecurrentLayer<T, 8> {
public:
    explicit LstmLayer(const BuildContext<T>& b);
    const char* type() const override { return "lstm"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    /// Zeroes the state carried between non-training passes.
    void reset_state();

    enum { kWi, kWf, kWo, kWg, kUi, kUf, kUo, kUg };  ///< gates, in file order
    using RecurrentLayer<T, 8>::gates;
    using RecurrentLayer<T, 8>::steps;

    /// What a pass keeps for backward, on the host or the device.
    template <class Buf>
    struct Saved {
        Buf h, c, carry_h, carry_c;              ///< h_0..h_T, c_0..c_T [(T+1) N O]; the carried h_0, c_0
        std::array<Buf, 4> act;                  ///< i, f, o, g of each step [T N O]
        GateBuffers<Buf, 8> gates;               ///< the blocks' outputs, inputs and statistics
        Buf dh, dh_next, dc_next, dc_prev, dzc;  ///< backward scratch [N O]
        std::array<Buf, 4> dz;
    };

private:
    Saved<std::vector<T>> host_;
#ifdef DN_GPU
    Saved<DeviceBuffer<T>> dev_;
#endif
    template <class Ops>
    friend struct LstmSteps;
};

}  // namespace dn
