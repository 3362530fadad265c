#include "darknet/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>

#include "darknet/error.hpp"

namespace dn {

template <class T>
void randomize_params(Network<T>& net, uint64_t seed) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<double> gamma(0.5, 1.5), beta(-1, 1), rm(-0.5, 0.5), rv(0.5, 2.0);
    std::bernoulli_distribution sign(0.5);
    for (auto& l : net.layers) {
        for (auto& p : l->params()) {
            for (size_t i = 0; i < p.size; ++i) {
                if (p.name == "scales") p.value[i] = static_cast<T>(sign(g) ? gamma(g) : -gamma(g));
                else if (p.name == "biases") p.value[i] = static_cast<T>(beta(g));
                else if (p.name == "rolling_mean") p.value[i] = static_cast<T>(rm(g));
                else if (p.name == "rolling_variance") p.value[i] = static_cast<T>(rv(g));
                else if (p.name == "weights" && std::string(l->type()) == "shortcut")  // distinct, off relu's kink
                    p.value[i] = static_cast<T>(sign(g) ? gamma(g) : -gamma(g));
            }
        }
        l->params_changed();
    }
}

template <class A, class B>
void copy_params(Network<A>& from, Network<B>& to) {
    if (from.num_layers() != to.num_layers()) fail("copy_params: networks differ in depth");
    for (int i = 0; i < from.num_layers(); ++i) {
        auto pa = from.layers[i]->params();
        auto pb = to.layers[i]->params();
        if (pa.size() != pb.size()) fail("copy_params: layer %d differs", i);
        for (size_t k = 0; k < pa.size(); ++k)
            for (size_t j = 0; j < pa[k].size; ++j) pb[k].value[j] = static_cast<B>(pa[k].value[j]);
        to.layers[i]->params_changed();
    }
}

namespace {

// The distinct tensors layer i reads (-1 = the network input).
template <class T>
std::vector<int> sources(const Network<T>& net, int i) {
    std::vector<int> r = net.layers[i]->reads();
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    return r;
}

template <class T>
T* source_data(Network<T>& net, int r) {
    return r < 0 ? const_cast<T*>(net.last_input()) : net.layers[r]->output.data();
}

template <class T>
size_t source_size(const Network<T>& net, int r) {
    return r < 0 ? static_cast<size_t>(net.batch) * net.inputs() : net.layers[r]->output.size();
}

std::string source_name(int r, int i) {
    if (r < 0) return "input";
    if (r == i - 1) return "input";
    return strfmt("input[layer %d]", r);
}

std::vector<double> upstream(size_t n, uint64_t seed) {
    std::mt19937_64 g(seed * 7919 + 17);
    std::normal_distribution<double> d(0, 1);
    std::vector<double> w(n);
    for (auto& v : w) v = d(g);
    return w;
}

std::vector<size_t> sample(size_t n, size_t max, uint64_t seed) {
    std::vector<size_t> idx;
    if (n <= max) {
        for (size_t i = 0; i < n; ++i) idx.push_back(i);
        return idx;
    }
    std::set<size_t> s = {0, n - 1};
    std::mt19937_64 g(seed * 31 + n);
    std::uniform_int_distribution<size_t> u(0, n - 1);
    while (s.size() < max) s.insert(u(g));
    return std::vector<size_t>(s.begin(), s.end());
}

template <class T>
bool is_loss_mode(const Network<T>& net, int i) {
    return net.train && net.truth && net.layers[i]->has_loss && i == net.num_layers() - 1;
}

// Analytic gradients of layer i: w.r.t. each source tensor and each trainable parameter.
template <class T>
void analytic(Network<T>& net, int i, const std::vector<int>& srcs, const std::vector<double>& w,
              std::vector<std::vector<double>>& g_in, std::vector<std::vector<double>>& g_par,
              std::vector<std::string>& par_names) {
    Layer<T>& l = *net.layers[i];
    net.ensure_grads();
    for (auto& p : l.params())
        if (p.grad) std::fill(p.grad, p.grad + p.size, T(0));
    std::vector<T> xdelta;
    for (int r : srcs) {
        if (r < 0) {
            xdelta.assign(source_size(net, r), T(0));
        } else {
            net.layers[r]->ensure_delta();
            std::fill(net.layers[r]->delta.begin(), net.layers[r]->delta.end(), T(0));
        }
    }
    const bool loss = is_loss_mode(net, i);
    net.forward_layer(i);
    l.ensure_delta();
    if (!loss)
        for (size_t k = 0; k < l.delta.size(); ++k) l.delta[k] = static_cast<T>(w[k]);
    net.backward_layer(i, xdelta.empty() ? nullptr : xdelta.data());
    g_in.clear();
    for (int r : srcs) {
        const T* d = r < 0 ? xdelta.data() : net.layers[r]->delta.data();
        g_in.emplace_back(d, d + source_size(net, r));
    }
    g_par.clear();
    par_names.clear();
    for (auto& p : l.params()) {
        if (!p.grad) continue;
        g_par.emplace_back(p.grad, p.grad + p.size);
        par_names.push_back(p.name);
    }
}

// sum(w * y) with Neumaier's compensated summation: a plain running sum over thousands of outputs
// rounds at ~1e-16 of its partial sums, which after dividing by 2h would swamp a 1e-6 check.
double layer_loss(Network<double>& net, int i, const std::vector<double>& w) {
    net.forward_layer(i);
    Layer<double>& l = *net.layers[i];
    if (is_loss_mode(net, i)) return l.cost;
    // a loss layer inside the network (a [yolo] head before the last one) adds its own cost to the
    // upstream term; its backward adds both gradients
    double s = net.train && net.truth && l.has_loss ? l.cost : 0, c = 0;
    for (size_t k = 0; k < l.output.size(); ++k) {
        const double v = w[k] * l.output[k];
        const double t = s + v;
        c += std::fabs(s) >= std::fabs(v) ? (s - t) + v : (v - t) + s;
        s = t;
    }
    return s + c;
}

// Derivative of the layer loss w.r.t. *v by central differences with Richardson extrapolation:
// D(h) = (L(v+h) - L(v-h)) / 2h has error h^2 L'''(v)/6 + O(h^4), so (4 D(h/2) - D(h)) / 3
// cancels the h^2 term and a step of 1e-4 keeps both truncation and rounding (L's noise / h) far
// below 1e-6, also for inputs around 1e4. When D(h) and D(h/2) disagree (or the one-sided
// differences do, by 5% of the larger), the step shrinks 16-fold, twice: strong curvature (a zero-variance channel, where
// the scale is sqrt(eps)) then converges, while a kink (ReLU, max) inside [v-h, v+h] either moves
// out of the interval or keeps the estimates apart; elements still disagreeing are skipped as kinks.
double numeric(Network<double>& net, int i, const std::vector<double>& w, double* v, bool param, double base,
               const GradcheckOptions& opt, bool* kink) {
    const double v0 = *v;
    auto at = [&](double x, double* moved) {
        *v = x;
        *moved = *v - v0;  // the step actually taken
        if (param) net.layers[i]->params_changed();
        return layer_loss(net, i, w);
    };
    double d = 0;
    *kink = true;
    for (double h = opt.step; h >= opt.step / 300 && *kink; h /= 16) {
        double dp1, dm1, dp2, dm2;
        const double lp1 = at(v0 + h, &dp1), lm1 = at(v0 - h, &dm1);
        const double lp2 = at(v0 + h / 2, &dp2), lm2 = at(v0 - h / 2, &dm2);
        const double d1 = (lp1 - lm1) / (dp1 - dm1), d2 = (lp2 - lm2) / (dp2 - dm2);
        d = d2 + (d2 - d1) / 3;
        const double left = (base - lm2) / -dm2, right = (lp2 - base) / dp2;
        const double scale = std::max(1.0, std::fabs(d));
        // one-sided slopes 5% apart (relative to the larger, floored at 1e-3: a tie in a max
        // between values whose slopes are ~1e-3 must not hide under an absolute threshold of 1)
        *kink = std::fabs(d1 - d2) > opt.kink * scale ||
                std::fabs(left - right) > 0.05 * std::max({std::fabs(left), std::fabs(right), 1e-3});
    }
    *v = v0;
    if (param) net.layers[i]->params_changed();
    return d;
}

void compare(TensorCheck& t, const std::vector<double>& a, size_t k, double n) {
    const double err = std::fabs(a[k] - n) / std::max({std::fabs(a[k]), std::fabs(n), 1.0});
    ++t.checked;
    if (t.worst < 0 || err > t.max_err) {
        t.max_err = err;
        t.worst = static_cast<long>(k);
        t.analytic = a[k];
        t.numeric = n;
    }
}

// Shared by the float64 and float32 checks: analytic gradients come from `anet` (either `dnet` or
// a float network with the same values), numeric ones from `dnet`.
template <class TA>
LayerCheck run_check(Network<double>& dnet, Network<TA>& anet, int i, const GradcheckOptions& opt) {
    if (i < 0 || i >= dnet.num_layers()) fail("gradcheck: layer %d out of range", i);
    if (dnet.inference_only()) fail("gradcheck: the network was optimized for inference");
    LayerCheck rep;
    rep.index = i;
    rep.type = dnet.layers[i]->type();
    rep.loss_mode = is_loss_mode(dnet, i);
    for (auto& l : dnet.layers) l->freeze_randomness(true);
    for (auto& l : anet.layers) l->freeze_randomness(true);
    const std::vector<int> srcs = sources(dnet, i);
    dnet.forward_layer(i);  // dropout draws its mask here (then frozen)
    anet.forward_layer(i);
    const std::vector<double> w = upstream(dnet.layers[i]->output.size(), opt.seed + i);
    std::vector<std::vector<double>> g_in, g_par;
    std::vector<std::string> names;
    analytic(anet, i, srcs, w, g_in, g_par, names);
    const double base = layer_loss(dnet, i, w);
    for (size_t s = 0; s < srcs.size(); ++s) {
        TensorCheck t;
        t.name = source_name(srcs[s], i);
        double* data = source_data(dnet, srcs[s]);
        t.size = source_size(dnet, srcs[s]);
        for (size_t k : sample(t.size, opt.max_checks, opt.seed + s)) {
            bool kink;
            double n = numeric(dnet, i, w, data + k, false, base, opt, &kink);
            if (kink) {
                ++t.kinks;
                continue;
            }
            compare(t, g_in[s], k, n);
        }
        rep.tensors.push_back(t);
    }
    size_t pi = 0;
    for (auto& p : dnet.layers[i]->params()) {
        if (!p.grad) continue;
        TensorCheck t;
        t.name = p.name;
        t.size = p.size;
        for (size_t k : sample(p.size, opt.max_checks, opt.seed + 100 + pi)) {
            bool kink;
            double n = numeric(dnet, i, w, p.value + k, true, base, opt, &kink);
            if (kink) {
                ++t.kinks;
                continue;
            }
            compare(t, g_par[pi], k, n);
        }
        rep.tensors.push_back(t);
        ++pi;
    }
    for (auto& l : dnet.layers) l->freeze_randomness(false);
    for (auto& l : anet.layers) l->freeze_randomness(false);
    rep.max_err = 0;
    for (const auto& t : rep.tensors) rep.max_err = std::max(rep.max_err, t.max_err);
    rep.pass = rep.max_err <= opt.tol;
    return rep;
}

}  // namespace

std::pair<std::vector<double>, std::vector<double>> prepare_gradcheck(Network<double>& net, const GradcheckOptions& opt) {
    if (opt.randomize) randomize_params(net, opt.seed);
    std::mt19937_64 g(opt.seed * 104729 + 3);
    std::normal_distribution<double> d(0, 1);
    std::vector<double> x(static_cast<size_t>(net.batch) * net.inputs());
    for (auto& v : x) v = d(g);
    std::vector<double> truth;
    Layer<double>& last = *net.layers.back();
    if (last.has_loss) {
        truth.resize(static_cast<size_t>(net.batch) * last.truth_size());
        for (int b = 0; b < net.batch; ++b) last.random_truth(g, truth.data() + static_cast<size_t>(b) * last.truth_size());
    }
    for (auto& l : net.layers) l->freeze_randomness(false);
    net.forward(x.data(), opt.train, truth.empty() ? nullptr : truth.data());
    return {std::move(x), std::move(truth)};
}

LayerCheck gradcheck_layer(Network<double>& net, int i, const GradcheckOptions& opt) { return run_check(net, net, i, opt); }

LayerCheck gradcheck_layer_f32(Network<double>& dnet, Network<float>& fnet, int i, const GradcheckOptions& opt) {
    // the double network checks at exactly the float network's values
    copy_params(fnet, dnet);
    for (int r : sources(dnet, i)) {
        const float* f = r < 0 ? fnet.last_input() : fnet.layers[r]->output.data();
        double* d = source_data(dnet, r);
        for (size_t k = 0; k < source_size(dnet, r); ++k) d[k] = f[k];
    }
    return run_check(dnet, fnet, i, opt);
}

double check_accumulation(Network<double>& net, int i, const GradcheckOptions& opt) {
    const std::vector<int> srcs = sources(net, i);
    for (auto& l : net.layers) l->freeze_randomness(true);
    net.forward_layer(i);
    const std::vector<double> w = upstream(net.layers[i]->output.size(), opt.seed + i);
    std::vector<std::vector<double>> g_in, g_par;
    std::vector<std::string> names;
    analytic(net, i, srcs, w, g_in, g_par, names);
    // again, with a pattern already in every buffer the backward pass writes to
    auto pattern = [](size_t k) { return 0.5 + std::sin(0.7 * static_cast<double>(k)); };
    Layer<double>& l = *net.layers[i];
    std::vector<double> xdelta;
    for (int r : srcs) {
        if (r < 0) xdelta.resize(source_size(net, r));
        double* d = r < 0 ? xdelta.data() : net.layers[r]->delta.data();
        for (size_t k = 0; k < source_size(net, r); ++k) d[k] = pattern(k);
    }
    for (auto& p : l.params())
        if (p.grad)
            for (size_t k = 0; k < p.size; ++k) p.grad[k] = pattern(k + 3);
    net.forward_layer(i);
    if (!is_loss_mode(net, i))
        for (size_t k = 0; k < l.delta.size(); ++k) l.delta[k] = w[k];
    net.backward_layer(i, xdelta.empty() ? nullptr : xdelta.data());
    double dev = 0;
    for (size_t s = 0; s < srcs.size(); ++s) {
        const double* d = srcs[s] < 0 ? xdelta.data() : net.layers[srcs[s]]->delta.data();
        for (size_t k = 0; k < g_in[s].size(); ++k) {
            double want = pattern(k) + g_in[s][k];
            dev = std::max(dev, std::fabs(d[k] - want) / std::max(1.0, std::fabs(want)));
        }
    }
    size_t pi = 0;
    for (auto& p : l.params()) {
        if (!p.grad) continue;
        for (size_t k = 0; k < p.size; ++k) {
            double want = pattern(k + 3) + g_par[pi][k];
            dev = std::max(dev, std::fabs(p.grad[k] - want) / std::max(1.0, std::fabs(want)));
        }
        ++pi;
    }
    for (auto& q : net.layers) q->freeze_randomness(false);
    return dev;
}

template void randomize_params<float>(Network<float>&, uint64_t);
template void randomize_params<double>(Network<double>&, uint64_t);
template void copy_params<float, double>(Network<float>&, Network<double>&);
template void copy_params<double, float>(Network<double>&, Network<float>&);
template void copy_params<double, double>(Network<double>&, Network<double>&);
template void copy_params<float, float>(Network<float>&, Network<float>&);

}  // namespace dn
