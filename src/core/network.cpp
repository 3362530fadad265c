#include "darknet/network.hpp"

#include <algorithm>
#include <climits>
#include <new>
#include <stdexcept>
#include <vector>
#include <cmath>
#include <cstdio>

#include "darknet/error.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

extern "C" void openblas_set_num_threads(int num_threads);
extern "C" int openblas_get_num_threads(void);

namespace dn {

namespace {

LrPolicy parse_policy(const CfgSection& s) {
    std::string p = s.get_str("policy", "constant");
    if (p == "constant") return LrPolicy::Constant;
    if (p == "step") return LrPolicy::Step;
    if (p == "steps") return LrPolicy::Steps;
    if (p == "exp") return LrPolicy::Exp;
    if (p == "poly") return LrPolicy::Poly;
    if (p == "sig") return LrPolicy::Sig;
    if (p == "random") return LrPolicy::Random;
    if (p == "sgdr") return LrPolicy::Sgdr;
    if (p == "cosine") return LrPolicy::Cosine;
    s.error("policy", "unknown policy '" + p + "' (constant, step, steps, exp, poly, sig, random, sgdr, cosine)");
}

NetConfig parse_net_section(const CfgSection& s) {
    NetConfig n;
    n.where = strfmt("%s:%d", s.file.c_str(), s.line);
    n.batch = s.get_int_min("batch", 1, 1);
    n.subdivisions = s.get_int_min("subdivisions", 1, 1);
    if (n.batch % n.subdivisions != 0 && n.batch >= n.subdivisions)
        warn("%s: batch=%d is not a multiple of subdivisions=%d; each pass holds %d images",
             s.where("subdivisions").c_str(), n.batch, n.subdivisions, n.batch / n.subdivisions);
    if (n.subdivisions > n.batch) s.error("subdivisions", strfmt("must not exceed batch=%d", n.batch));
    n.time_steps = s.get_int_min("time_steps", 1, 1);
    n.width = s.get_int_min("width", 0, 0);
    n.height = s.get_int_min("height", 0, 0);
    n.channels = s.get_int_min("channels", 0, 0);
    const double whc = static_cast<double>(n.width) * n.height * n.channels;
    if (whc > INT_MAX)
        s.error_section(strfmt("width x height x channels = %d x %d x %d = %.4g values an image; at most 2^31 - 1",
                               n.width, n.height, n.channels, whc));
    n.inputs = s.get_int_min("inputs", n.width * n.height * n.channels, 0);
    if (n.inputs <= 0)
        s.error_section("needs width, height and channels (or inputs) greater than 0");
    if (n.width == 0 && n.height == 0 && n.channels == 0) {  // 1-D network: inputs x 1 x 1
        n.channels = n.inputs;
        n.width = n.height = 1;
    } else if (n.width <= 0 || n.height <= 0 || n.channels <= 0) {
        s.error_section("width, height and channels must all be greater than 0");
    }
    n.momentum = s.get_float("momentum", 0.9f);
    n.decay = s.get_float("decay", 0.0001f);
    n.learning_rate = s.get_float("learning_rate", 0.001f);
    n.learning_rate_min = s.get_float("learning_rate_min", 0.00001f);
    n.burn_in = s.get_int_min("burn_in", 0, 0);
    n.power = s.get_float("power", 4);
    n.max_batches = s.get_int_min("max_batches", 0, 0);
    n.policy = parse_policy(s);
    n.steps = s.get_ints("steps");
    n.scales = s.get_floats("scales");
    n.step = s.get_int_min("step", 1, 1);
    n.gamma = s.get_float("gamma", 1);
    if (n.policy == LrPolicy::Step) n.gamma = s.get_float("scale", n.gamma);
    n.sgdr_cycle = s.get_int_min("sgdr_cycle", n.max_batches > 0 ? n.max_batches : 1000, 1);
    n.sgdr_mult = s.get_float("sgdr_mult", 2);
    if (n.policy == LrPolicy::Steps) {
        if (n.steps.empty() || n.scales.empty())
            s.error_section("policy=steps needs both steps= and scales=");
        if (n.steps.size() != n.scales.size())
            s.error("scales", strfmt("has %zu values but steps= has %zu", n.scales.size(), n.steps.size()));
    }
    n.angle = s.get_float("angle", 0);
    n.saturation = s.get_float("saturation", 1);
    n.exposure = s.get_float("exposure", 1);
    n.hue = s.get_float("hue", 0);
    n.aspect = s.get_float("aspect", 1);
    n.jitter = s.get_float("jitter", 0);
    n.flip = s.get_int("flip", 1);
    n.mosaic = s.get_int("mosaic", 0);
    n.letter_box = s.get_int("letter_box", 0);
    n.max_crop = s.get_int("max_crop", 0);
    n.min_crop = s.get_int("min_crop", 0);
    n.blur = s.get_int("blur", 0);
    n.mixup = s.get_int("mixup", 0);
    n.cutmix = s.get_int("cutmix", 0);
    n.track = s.get_int("track", 0);
    n.label_smooth_eps = s.get_float("label_smooth_eps", 0);
    n.max_chart_loss = s.get_float("max_chart_loss", 0);
    if (!(n.max_chart_loss >= 0)) s.error("max_chart_loss", strfmt("must be >= 0, got %g", n.max_chart_loss));
    n.mosaic_bound = s.get_int("mosaic_bound", 0);
    if (!(n.label_smooth_eps >= 0 && n.label_smooth_eps < 1))
        s.error("label_smooth_eps", strfmt("must be in [0, 1), got %g", n.label_smooth_eps));
    n.resize_step = s.get_int("resize_step", 32);
    if (n.resize_step < 1) s.error("resize_step", "must be >= 1");
    n.ema_alpha = s.get_float("ema_alpha", 0);
    if (!(n.ema_alpha >= 0 && n.ema_alpha < 1)) s.error("ema_alpha", strfmt("must be in [0, 1), got %g", n.ema_alpha));
    n.adam = s.get_int("adam", 0) != 0;
    if (n.adam) {  // Darknet reads these only with adam=1
        n.B1 = s.get_float("B1", 0.9f);
        n.B2 = s.get_float("B2", 0.999f);
        n.eps = s.get_float("eps", 1e-6f);
        if (!(n.B1 >= 0 && n.B1 < 1)) s.error("B1", strfmt("must be in [0, 1), got %g", n.B1));
        if (!(n.B2 >= 0 && n.B2 < 1)) s.error("B2", strfmt("must be in [0, 1), got %g", n.B2));
        if (!(n.eps > 0)) s.error("eps", strfmt("must be > 0, got %g", n.eps));
    }
    return n;
}

}  // namespace

template <class T>
std::unique_ptr<Network<T>> Network<T>::from_cfg(const Cfg& cfg, int batch_override) {
    if (cfg.sections.empty()) fail("%s: the cfg has no sections", cfg.path.c_str());
    const CfgSection& first = cfg.sections[0];
    if (first.name != "net" && first.name != "network")
        fail("%s:%d: the first section must be [net], found [%s]", first.file.c_str(), first.line,
             first.name.c_str());
    auto net = std::make_unique<Network<T>>();
    net->cfg = parse_net_section(first);
    net->batch = batch_override > 0 ? batch_override : std::max(1, net->cfg.batch / net->cfg.subdivisions);
    // Darknet's time_steps: a pass of a recurrent network holds that many rows per image (one per
    // step, time-major). Other networks read the key and leave the pass alone (Darknet multiplies
    // their pass too, for AlexeyAB's track=1 sequential loading, which is not implemented here).
    const bool recurrent = std::any_of(cfg.sections.begin(), cfg.sections.end(), [](const CfgSection& s) {
        return s.name == "rnn" || s.name == "lstm" || s.name == "gru";
    });
    if (recurrent) {
        const long long rows = static_cast<long long>(net->batch) * net->cfg.time_steps;
        if (rows > INT_MAX)
            first.error("time_steps", strfmt("makes a pass of %d x %d = %lld rows; at most 2^31 - 1 = 2147483647",
                                             net->batch, net->cfg.time_steps, rows));
        net->batch = static_cast<int>(rows);
    }
    net->w = net->cfg.width;
    net->h = net->cfg.height;
    net->c = net->cfg.channels;
    int w = net->w, h = net->h, c = net->c;
    for (size_t i = 1; i < cfg.sections.size(); ++i) {
        const CfgSection& s = cfg.sections[i];
        if (s.name == "net" || s.name == "network")
            s.error_section("[net] may appear only once, as the first section");
        LayerFactory<T> make = find_layer_factory<T>(s.name);
        if (!make) {
            std::string known;
            for (const auto& n : known_layer_names()) known += (known.empty() ? "" : ", ") + n;
            fail("%s:%d: unknown section [%s]; known sections: %s", s.file.c_str(), s.line,
                 s.name.c_str(), known.c_str());
        }
        BuildContext<T> ctx{s, net->cfg, static_cast<int>(net->layers.size()), net->batch, w, h, c, net->layers};
        // A cfg's huge filters or output can ask for more than the machine has: say which section.
        const auto out_of_memory = [&] {
            s.error_section(strfmt("out of memory building this layer (layer %d, input %dx%dx%d)",
                                   static_cast<int>(net->layers.size()), w, h, c));
        };
        std::unique_ptr<Layer<T>> l;
        try {
            l = make(ctx);
        } catch (const std::bad_alloc&) {
            out_of_memory();
        } catch (const std::length_error&) {  // a std::vector asked for more than it can hold
            out_of_memory();
        }
        l->index = static_cast<int>(net->layers.size());
        l->batch = net->batch;
        l->where = strfmt("%s:%d", s.file.c_str(), s.line);
        l->stopbackward = s.get_int_min("stopbackward", 0, 0);
        // AlexeyAB's train_only_bn=1: this layer and the earlier ones take no optimizer step while
        // their batchnorm statistics follow the data: what stopbackward=1 does here
        if (s.get_int("train_only_bn", 0) != 0) l->stopbackward = 1;
        l->dont_update = s.get_int_min("dont_update", 0, 0);
        l->burnin_update = s.get_int_min("burnin_update", 0, 0);
        l->dontload = s.get_int("dontload", 0) != 0;
        l->dontsave = s.get_int("dontsave", 0) != 0;
        l->learning_rate_scale = s.get_float("learning_rate", 1);
        if (!(l->learning_rate_scale >= 0))
            s.error("learning_rate", strfmt("scales this layer's learning rate: must be >= 0, got %g", l->learning_rate_scale));
        if (l->outputs() <= 0) s.error_section("this layer produces an empty output");
        w = l->out_w;
        h = l->out_h;
        c = l->out_c;
        net->layers.push_back(std::move(l));
    }
    if (net->layers.empty()) fail("%s: the cfg has a [net] section but no layers", cfg.path.c_str());
    warn_unused(cfg);
    return net;
}

template <class T>
std::unique_ptr<Network<T>> Network<T>::from_cfg_file(const std::string& path, int batch_override) {
    return from_cfg(parse_cfg_file(path), batch_override);
}

template <class T>
T* Network<T>::workspace(size_t n) {
    if (workspace_.size() < n) workspace_.resize(n);
    return workspace_.data();
}

template <class T>
const T* Network<T>::forward(const T* x, bool train_, const T* truth_) {
    if (train_ && planned_) fail("this network was optimized for inference; it cannot run a training pass");
    train = train_;
    truth = truth_;
    input0_ = x;
    if (profile) layer_ms.resize(layers.size(), 0.0);
    for (int i = 0; i < num_layers(); ++i) {
        const double t0 = profile ? now_seconds() : 0;
        forward_layer(i);
        if (profile) layer_ms[i] += (now_seconds() - t0) * 1e3;
    }
    return output();
}

template <class T>
void Network<T>::forward_layer(int i) {
    current = i;
    input = i == 0 ? input0_ : layers[i - 1]->output.data();
    delta = nullptr;
    Layer<T>& l = *layers[i];
    const size_t n_out = static_cast<size_t>(l.batch) * l.outputs();
    if (l.output.size() != n_out) l.output.assign(n_out, T(0));
    if (train) {
        l.ensure_delta();
        std::fill(l.delta.begin(), l.delta.end(), T(0));
    }
    l.forward(*this);
}

template <class T>
void Network<T>::ensure_grads() {
    for (auto& l : layers) l->alloc_grads();
}

template <class T>
void Network<T>::backward(T* input_delta) {
    ensure_grads();
    frozen_ = frozen_upto(current_batch());
    for (int i = num_layers() - 1; i > frozen_; --i) backward_layer(i, input_delta);
}

template <class T>
int Network<T>::frozen_upto(int64_t iteration) const {
    int last = -1;
    for (const auto& l : layers)
        if (l->stopbackward == 1 || l->stopbackward > iteration) last = l->index;
    return last;
}

template <class T>
void Network<T>::backward_layer(int i, T* input_delta) {
    current = i;
    Layer<T>& l = *layers[i];
    if (i == 0) {
        input = input0_;
        delta = input_delta;
    } else {
        Layer<T>& prev = *layers[i - 1];
        prev.ensure_delta();
        input = prev.output.data();
        delta = prev.delta.data();
    }
    l.ensure_delta();
    l.backward(*this);
}

template <class T>
UpdateArgs Network<T>::update_args(float learning_rate) const {
    UpdateArgs a;
    a.learning_rate = learning_rate;
    a.momentum = cfg.momentum;
    a.decay = cfg.decay;
    a.batch = batch * cfg.subdivisions;
    a.adam = cfg.adam;
    a.B1 = cfg.B1, a.B2 = cfg.B2, a.eps = cfg.eps;
    return a;
}

template <class T>
std::vector<std::pair<Layer<T>*, UpdateArgs>> Network<T>::update_plan(float learning_rate) const {
    const UpdateArgs a = update_args(learning_rate);
    const int frozen = frozen_ >= -1 ? frozen_ : frozen_upto(current_batch());
    std::vector<std::pair<Layer<T>*, UpdateArgs>> plan;
    for (const auto& l : layers) {
        if (l->index <= frozen || update_held(*l)) continue;
        UpdateArgs la = a;
        la.learning_rate = a.learning_rate * l->learning_rate_scale;
        plan.emplace_back(l.get(), la);
    }
    return plan;
}

template <class T>
bool Network<T>::update_held(const Layer<T>& l) const {
    const int64_t it = current_batch();
    return (l.dont_update > 0 && it <= l.dont_update) ||
           (l.burnin_update > 0 && static_cast<int64_t>(l.burnin_update) * cfg.burn_in > it);
}

template <class T>
void Network<T>::update(float learning_rate) {
    ensure_grads();
    for (auto& l : layers)
        if (update_held(*l))
            for (auto& p : l->params())
                if (p.grad) std::fill(p.grad, p.grad + p.size, T(0));
    for (auto& [l, a] : update_plan(learning_rate)) l->update(a);
}

template <class T>
void Network<T>::clear_training_state() {
    zero_grad();
    for (auto& l : layers) {
        l->adam.clear();
        l->ema.clear();
    }
}

template <class T>
void Network<T>::zero_grad() {
    ensure_grads();
    for (auto& l : layers)
        for (auto& p : l->params())
            if (p.grad) std::fill(p.grad, p.grad + p.size, T(0));
}

template <class T>
int64_t Network<T>::current_batch() const {
    return static_cast<int64_t>(header.seen / static_cast<uint64_t>(batch * cfg.subdivisions));
}

template <class T>
float Network<T>::current_rate() const {
    const NetConfig& n = cfg;
    double b = static_cast<double>(current_batch());
    if (b < n.burn_in) return static_cast<float>(n.learning_rate * std::pow(b / n.burn_in, n.power));
    switch (n.policy) {
        case LrPolicy::Constant: return n.learning_rate;
        case LrPolicy::Step: return static_cast<float>(n.learning_rate * std::pow(n.gamma, std::floor(b / n.step)));
        case LrPolicy::Steps: {
            double rate = n.learning_rate;
            for (size_t i = 0; i < n.steps.size(); ++i) {
                if (n.steps[i] > b) break;
                rate *= n.scales[i];
            }
            return static_cast<float>(rate);
        }
        case LrPolicy::Exp: return static_cast<float>(n.learning_rate * std::pow(n.gamma, b));
        case LrPolicy::Poly:
            if (n.max_batches <= 0) return n.learning_rate;
            return static_cast<float>(n.learning_rate * std::pow(std::max(0.0, 1 - b / n.max_batches), n.power));
        case LrPolicy::Sig: return static_cast<float>(n.learning_rate / (1 + std::exp(n.gamma * (b - n.step))));
        case LrPolicy::Random: return n.learning_rate;
        case LrPolicy::Cosine:
        case LrPolicy::Sgdr: {
            double start = 0, cycle = n.policy == LrPolicy::Cosine && n.max_batches > 0 ? n.max_batches : n.sgdr_cycle;
            while (start + cycle < b) {
                start += cycle;
                cycle *= n.sgdr_mult;
            }
            return static_cast<float>(n.learning_rate_min + 0.5 * (n.learning_rate - n.learning_rate_min) *
                                                                (1 + std::cos((b - start) * M_PI / cycle)));
        }
    }
    return n.learning_rate;
}

template <class T>
double Network<T>::total_cost() const {
    double s = 0;
    for (const auto& l : layers)
        if (l->has_loss) s += l->cost;
    return s;
}

template <class T>
Layer<T>& Network<T>::output_layer() const {
    int i = num_layers() - 1;
    while (i > 0 && std::string(layers[i]->type()) == "cost") --i;
    return *layers[i];
}

template <class T>
const T* Network<T>::output() const { return output_layer().output.data(); }

template <class T>
int Network<T>::outputs() const { return output_layer().outputs(); }

template <class T>
Layer<T>& Network<T>::layer(int i) const {
    if (i < 0 || i >= num_layers()) fail("layer index %d out of range (the network has %d layers)", i, num_layers());
    return *layers[i];
}

template <class T>
std::vector<Detection> Network<T>::get_detections(int im_w, int im_h, float thresh, bool letterbox, int b) const {
    if (b < 0 || b >= batch) fail("get_detections: image %d of a batch of %d", b, batch);
    std::vector<Detection> dets;
    for (const auto& l : layers) l->get_detections(im_w, im_h, w, h, thresh, letterbox, dets, b);
    return dets;
}

template <class T>
void Network<T>::resize(int new_w, int new_h) {
    w = new_w;
    h = new_h;
    int cw = new_w, ch = new_h;
    if (planned_) fail("this network was optimized for inference; it cannot be resized");
    for (auto& l : layers) {
        l->resize(*this, cw, ch);
        l->output.clear();
        if (!l->delta.empty()) l->delta.assign(static_cast<size_t>(l->batch) * l->outputs(), T(0));
        cw = l->out_w;
        ch = l->out_h;
    }
}

template <class T>
double Network<T>::flops() const {
    double f = 0;
    for (const auto& l : layers) f += l->flops();
    return f;
}

template <class T>
void Network<T>::print_summary() const {
    if (is_quiet()) return;
    std::fprintf(stderr, "   layer   filters  size/strd(dil)      input                output\n");
    for (const auto& l : layers) {
        std::fprintf(stderr, "%4d %s\n", l->index, l->describe().c_str());
    }
    std::fprintf(stderr, "Total BFLOPS %.3f\n", flops() / 1e9);
}

// Inference memory plan. last[i] = index of the last layer reading output i (the end of the pass
// for the output layer and detection heads, read after forward()). Walking the layers in order,
// each output takes the best-fitting slot whose previous owner is no longer read (or grows the
// largest free one, or opens a new one); identity layers (dropout) share their input's slot.
// Slots are then laid out in one arena.
template <class T>
size_t Network<T>::optimize_for_inference() {
    set_inference_fusion(true);
    const int n = num_layers();
    std::vector<int> last(n, -1);
    for (int i = 0; i < n; ++i)
        for (int r : layers[i]->reads())
            if (r >= 0) last[r] = std::max(last[r], i);
    int cls;
    NmsKind kind;
    float beta;
    for (int i = 0; i < n; ++i)
        if (layers[i]->detection_head(&cls, &kind, &beta)) last[i] = n;
    last[n - 1] = n;
    for (int i = n - 1; i >= 0; --i)
        if (&output_layer() == layers[i].get()) last[i] = n;
    struct Slot {
        size_t size;
        int busy_until;
    };
    std::vector<Slot> slots;
    std::vector<int> slot_of(n, -1);
    for (int i = 0; i < n; ++i) {
        if (i > 0 && layers[i]->identity_at_inference() && layers[i]->outputs() == layers[i - 1]->outputs()) {
            slot_of[i] = slot_of[i - 1];
            slots[slot_of[i]].busy_until = std::max(slots[slot_of[i]].busy_until, last[i]);
            continue;
        }
        const size_t need = static_cast<size_t>(batch) * layers[i]->outputs();
        int best = -1, largest = -1;
        for (int k = 0; k < static_cast<int>(slots.size()); ++k) {
            if (slots[k].busy_until >= i) continue;  // still read by layer i or later
            if (slots[k].size >= need && (best < 0 || slots[k].size < slots[best].size)) best = k;
            if (largest < 0 || slots[k].size > slots[largest].size) largest = k;
        }
        if (best < 0 && largest >= 0) {
            best = largest;
            slots[best].size = need;
        }
        if (best < 0) {
            slots.push_back({need, -1});
            best = static_cast<int>(slots.size()) - 1;
        }
        slots[best].busy_until = std::max(last[i], i);
        slot_of[i] = best;
    }
    std::vector<size_t> offset(slots.size());
    size_t total = 0;
    for (size_t k = 0; k < slots.size(); ++k) {
        offset[k] = total;
        total += (slots[k].size + 15) / 16 * 16;  // 64-byte aligned slots
    }
    arena_.assign(total, T(0));
    for (int i = 0; i < n; ++i) {
        layers[i]->output.view(arena_.data() + offset[slot_of[i]], static_cast<size_t>(batch) * layers[i]->outputs());
        layers[i]->delta.clear();
    }
    planned_ = true;
    return total * sizeof(T);
}

template <class T>
void Network<T>::set_inference_fusion(bool on) {
    fuse_inference = on;
    for (auto& l : layers) l->params_changed();
}

template class Network<float>;
template class Network<double>;

void set_num_threads(int n) {
    if (n <= 0) return;
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int get_num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return openblas_get_num_threads();
#endif
}

}  // namespace dn
