// [rnn]: pjreddie's vanilla recurrent layer (Elman 1990), three fully connected blocks unrolled
// over [net] time_steps, with an exact back-propagation through time.
#pragma once

#include <array>
#include <vector>

#include "recurrent_layer.hpp"
#include "darknet/layer.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys: output (>= 1), hidden (default: output; AlexeyAB's default is 1, pjreddie's has no key
/// and uses output), activation (default logistic; of all three blocks), batch_normalize,
/// shortcut, logistic (AlexeyAB's: the self block's activation becomes logistic for 1, loggy for 2).
///
/// Rows: the network's pass holds batch/subdivisions * time_steps rows ([net] time_steps multiplies
/// the pass in networks with [rnn], as in Darknet), time-major: row t * N + n is step t of stream n,
/// N = rows / time_steps. Input [T*N, I] -> output [T*N, O]; per step t, with S_0 the state:
///   I_t = f(W_i x_t + b_i),  R_t = f_s(W_s S_t + b_s)          (input and self blocks, [N, H])
///   S_{t+1} = shortcut * S_t + I_t + R_t
///   y_t = f(W_o S_{t+1} + b_o)                                 (output block, [N, O])
/// S_0 is zero in a training pass; otherwise it is the last state of the previous
/// non-training pass (text generation feeds one character a pass), as in Darknet.
/// batch_normalize=1 normalizes each block over the N rows of each step (statistics per step).
/// Weights file: the three blocks in Darknet's [connected] layout (Dense), input, self, output.
/// Errors: output / hidden < 1, a pass whose rows are not a multiple of time_steps.
template <class T>
class RnnLayer : public RecurrentLayer<T, 3> {
public:
    explicit RnnLayer(const BuildContext<T>& b);
    const char* type() const override { return "rnn"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    /// Zeroes the state carried between non-training passes (a new text).
    void reset_state();

    enum { kInput = 0, kSelf = 1, kOutput = 2 };  ///< gates: input (I -> H), self (H -> H), output (H -> O)
    using RecurrentLayer<T, 3>::gates;
    using RecurrentLayer<T, 3>::steps;
    int hidden = 0;
    bool shortcut = false;

    /// What a pass keeps for backward, on the host (std::vector) or the device (DeviceBuffer).
    template <class Buf>
    struct Saved {
        Buf state, carry;              ///< S_0 .. S_T [(T+1) N H]; the carried S_0 [N H]
        std::array<Buf, 2> y;          ///< I_t and R_t [T N H]
        std::array<Buf, 3> pre, act;   ///< each block's W x and pre-activation values (when needed)
        std::array<std::vector<Buf>, 3> mean, inv_std;  ///< batchnorm statistics of each step
        Buf dstate, dgate;             ///< backward scratch: dL/dS_t [(T+1) N H], one block's dL/dz
    };

private:
    Saved<std::vector<T>> host_;
#ifdef DN_GPU
    Saved<DeviceBuffer<T>> dev_;
#endif
    template <class Ops>
    friend struct RnnSteps;
};

}  // namespace dn
