#include "dropout_layer.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "darknet/network.hpp"
#include "darknet/random.hpp"
#include "layers/layer_util.hpp"

namespace dn {

template <class T>
DropoutLayer<T>::DropoutLayer(const BuildContext<T>& b) : seed_(next_seed()) {
    const CfgSection& s = b.section;
    probability = s.get_float("probability", 0.5f);
    if (probability < 0 || probability >= 1) s.error("probability", "must be in [0, 1)");
    dropblock = s.get_int("dropblock", 0) != 0;
    if (dropblock) {
        dropblock_size_abs = s.get_int_min("dropblock_size_abs", 7, 1);
        dropblock_size_rel = s.get_float("dropblock_size_rel", 0);
        if (!(dropblock_size_rel >= 0 && dropblock_size_rel <= 1))
            s.error("dropblock_size_rel", strfmt("must be in [0, 1], got %g", dropblock_size_rel));
    }
    set_shape(*this, b, b.w, b.h, b.c);
}

template <class T>
void DropoutLayer<T>::draw_blocks(const Network<T>& net) {
    const int W = this->w, H = this->h, C = this->c;
    const double t = static_cast<double>(net.current_batch()), end = 0.85 * net.cfg.max_batches;
    const double m = end > 0 && t < end ? t / end : 1.0;
    int bw = static_cast<int>(dropblock_size_abs * m), bh = bw;
    if (dropblock_size_rel > 0) bw = static_cast<int>(dropblock_size_rel * W * m), bh = static_cast<int>(dropblock_size_rel * H * m);
    bw = std::min(W, std::max(1, bw));
    bh = std::min(H, std::max(1, bh));
    const int side = std::min(bw, bh);
    const double start = probability * m / (static_cast<double>(side) * side);
    const size_t plane = static_cast<size_t>(W) * H, per = plane * C;
    const size_t n = static_cast<size_t>(this->batch) * per;  // GPU runs have no host output
    keep_.assign(n, 1);
    std::mt19937_64 rng = layer_draw_rng(seed_, net.header.seen);
    std::uniform_real_distribution<double> u(0, 1);
    for (size_t p = 0; p < static_cast<size_t>(this->batch) * C; ++p)
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                if (!(u(rng) < start)) continue;
                for (int yy = y; yy < std::min(H, y + side); ++yy)
                    std::fill_n(keep_.begin() + p * plane + static_cast<size_t>(yy) * W + x, std::min(W, x + side) - x, 0);
            }
    mask_.resize(n);
    for (int b = 0; b < this->batch; ++b) {
        size_t kept = 0;
        for (size_t i = 0; i < per; ++i) kept += keep_[b * per + i];
        const T scale = kept ? static_cast<T>(static_cast<double>(per) / kept) : T(0);
        for (size_t i = 0; i < per; ++i) mask_[b * per + i] = keep_[b * per + i] ? scale : T(0);
    }
}

template <class T>
void DropoutLayer<T>::resize(Network<T>&, int new_w, int new_h) {
    this->w = this->out_w = new_w;
    this->h = this->out_h = new_h;
}

template <class T>
void DropoutLayer<T>::forward(Network<T>& net) {
    const size_t n = this->output.size();
    last_train_ = net.train;
    if (!net.train || probability == 0) {
        if (this->output.data() != net.input) std::memcpy(this->output.data(), net.input, n * sizeof(T));
        last_train_ = false;
        return;
    }
    if (dropblock) {
        if (!(frozen_ && mask_.size() == n)) draw_blocks(net);
        for (size_t i = 0; i < n; ++i) this->output[i] = net.input[i] * mask_[i];
        return;
    }
    const bool draw = !(frozen_ && keep_.size() == n);
    keep_.resize(n);
    std::mt19937_64 rng = layer_draw_rng(seed_, net.header.seen);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    const T scale = static_cast<T>(1.0 / (1.0 - probability));
    for (size_t i = 0; i < n; ++i) {
        if (draw) keep_[i] = u(rng) >= probability;
        this->output[i] = keep_[i] ? net.input[i] * scale : T(0);
    }
}

// Backward: y_i = m_i * x_i / (1-p) with the mask m fixed by the forward pass (identity in eval):
//   dL/dx_i += m_i * dL/dy_i / (1-p);  with dropblock y_i = M_i x_i (M = keep * the image's scale,
// fixed by the forward pass), dL/dx_i += M_i dL/dy_i.
template <class T>
void DropoutLayer<T>::backward(Network<T>& net) {
    if (!net.delta) return;
    const size_t n = this->output.size();
    if (!last_train_) {
        for (size_t i = 0; i < n; ++i) net.delta[i] += this->delta[i];
        return;
    }
    if (dropblock) {
        for (size_t i = 0; i < n; ++i) net.delta[i] += this->delta[i] * mask_[i];
        return;
    }
    const T scale = static_cast<T>(1.0 / (1.0 - probability));
    for (size_t i = 0; i < n; ++i)
        if (keep_[i]) net.delta[i] += this->delta[i] * scale;
}

template <class T>
std::string DropoutLayer<T>::describe() const {
    return strfmt(dropblock ? "dropblock    p = %.3f   " : "dropout      p = %.3f   ", probability) + shape_str(*this);
}

DN_REGISTER_LAYER(DropoutLayer, "dropout")

}  // namespace dn
