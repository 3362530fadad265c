// The C API (include/darknet.h) over dn::Network<float>.
#include "darknet.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "darknet/detector.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "darknet/network.hpp"

struct dn_network {
    std::unique_ptr<dn::Network<float>> net;
    bool forwarded = false;
    bool forward_train = false;
};

namespace {

thread_local std::string g_error;

int set_error(int code, const std::string& msg) {
    g_error = msg;
    return code;
}

// Runs f, turning exceptions into status codes and dn_last_error().
template <class F>
int guard(F&& f) {
    try {
        g_error.clear();
        return f();
    } catch (const dn::Error& e) {
        return set_error(DN_ERR_INVALID, e.what());
    } catch (const std::bad_alloc&) {
        return set_error(DN_ERR_NOMEM, "out of memory");
    } catch (const std::exception& e) {
        return set_error(DN_ERR_INVALID, e.what());
    }
}

int check_net(const dn_network* net) {
    if (!net || !net->net) throw dn::Error("null network handle");
    return DN_OK;
}

dn::Layer<float>& layer_at(const dn_network* net, int i) {
    check_net(net);
    if (i == -1) return net->net->output_layer();
    if (i < 0 || i >= net->net->num_layers())
        throw dn::Error(dn::strfmt("layer index %d out of range [0, %d)", i, net->net->num_layers()));
    return *net->net->layers[i];
}

// "name" is the first parameter of that name, "name#k" the k-th (from 0; [rnn]'s three blocks
// repeat the names).
dn::Param<float> find_param(const dn_network* net, int i, const char* name) {
    dn::Layer<float>& l = layer_at(net, i);
    if (!name) throw dn::Error("null parameter name");
    std::string base = name;
    long occurrence = 0;
    const size_t hash = base.find('#');
    if (hash != std::string::npos) {
        char* end = nullptr;
        occurrence = std::strtol(base.c_str() + hash + 1, &end, 10);
        if (hash + 1 == base.size() || *end || occurrence < 0)
            throw dn::Error(dn::strfmt("parameter '%s': expected name#k with k >= 0", name));
        base.resize(hash);
    }
    for (auto& p : l.params())
        if (p.name == base && occurrence-- == 0) return p;
    std::string known;
    for (auto& p : l.params()) known += (known.empty() ? "" : ", ") + p.name;
    throw dn::Error(dn::strfmt("layer %d (%s) has no parameter '%s' (it has: %s)", i, l.type(), name,
                               known.empty() ? "none" : known.c_str()));
}

void check_size(size_t got, size_t want, const char* what) {
    if (got != want) throw dn::Error(dn::strfmt("%s: buffer holds %zu floats, expected %zu", what, got, want));
}

}  // namespace

extern "C" {

const char* dn_last_error(void) { return g_error.c_str(); }

dn_network* dn_network_create(const char* cfg_path, const char* weights_path, int batch) {
    dn_network* out = nullptr;
    int rc = guard([&]() -> int {
        if (!cfg_path) throw dn::Error("null cfg path");
        auto h = std::make_unique<dn_network>();
        h->net = dn::Network<float>::from_cfg_file(cfg_path, batch);
        if (weights_path && *weights_path) dn::load_weights(*h->net, weights_path);
        out = h.release();
        return DN_OK;
    });
    return rc == DN_OK ? out : nullptr;
}

void dn_network_free(dn_network* net) { delete net; }

int dn_network_num_layers(const dn_network* net, int* n) {
    return guard([&]() -> int {
        check_net(net);
        *n = net->net->num_layers();
        return DN_OK;
    });
}

int dn_network_input_shape(const dn_network* net, int shape[4]) {
    return guard([&]() -> int {
        check_net(net);
        shape[0] = net->net->batch;
        shape[1] = net->net->c;
        shape[2] = net->net->h;
        shape[3] = net->net->w;
        return DN_OK;
    });
}

int dn_layer_shape(const dn_network* net, int i, int shape[4]) {
    return guard([&]() -> int {
        dn::Layer<float>& l = layer_at(net, i);
        shape[0] = l.batch;
        shape[1] = l.out_c;
        shape[2] = l.out_h;
        shape[3] = l.out_w;
        return DN_OK;
    });
}

int dn_layer_type(const dn_network* net, int i, char* buf, size_t size) {
    return guard([&]() -> int {
        dn::Layer<float>& l = layer_at(net, i);
        std::snprintf(buf, size, "%s", l.type());
        return DN_OK;
    });
}

int dn_network_forward(dn_network* net, const float* x, int train, float* out, size_t out_size) {
    return guard([&]() -> int {
        check_net(net);
        if (!x) throw dn::Error("null input");
        net->net->forward(x, train != 0);
        net->forwarded = true;
        net->forward_train = train != 0;
        if (out) {
            dn::Layer<float>& l = net->net->output_layer();
            check_size(out_size, l.output.size(), "output");
            std::memcpy(out, l.output.data(), out_size * sizeof(float));
        }
        return DN_OK;
    });
}

int dn_layer_output(const dn_network* net, int i, float* out, size_t size) {
    return guard([&]() -> int {
        dn::Layer<float>& l = layer_at(net, i);
        check_size(size, l.output.size(), "layer output");
        std::memcpy(out, l.output.data(), size * sizeof(float));
        return DN_OK;
    });
}

int dn_network_backward(dn_network* net, const float* dy, size_t dy_size, float* dx, size_t dx_size) {
    return guard([&]() -> int {
        check_net(net);
        if (!net->forwarded) return set_error(DN_ERR_STATE, "backward needs a forward pass first");
        dn::Network<float>& n = *net->net;
        for (auto& l : n.layers) {
            l->ensure_delta();
            std::fill(l->delta.begin(), l->delta.end(), 0.f);
        }
        dn::Layer<float>& out = n.output_layer();
        check_size(dy_size, out.delta.size(), "dy");
        std::memcpy(out.delta.data(), dy, dy_size * sizeof(float));
        std::vector<float> din;
        if (dx) {
            check_size(dx_size, static_cast<size_t>(n.batch) * n.inputs(), "dx");
            din.assign(dx_size, 0.f);
        }
        n.backward(dx ? din.data() : nullptr);
        if (dx) std::memcpy(dx, din.data(), dx_size * sizeof(float));
        return DN_OK;
    });
}

int dn_network_zero_grad(dn_network* net) {
    return guard([&]() -> int {
        check_net(net);
        net->net->zero_grad();
        return DN_OK;
    });
}

int dn_network_update(dn_network* net, float learning_rate) {
    return guard([&]() -> int {
        check_net(net);
        if (!std::isfinite(learning_rate) || learning_rate < 0)
            return set_error(DN_ERR_INVALID, dn::strfmt("learning_rate must be finite and >= 0, got %g", learning_rate));
        net->net->update(learning_rate);
        return DN_OK;
    });
}

int dn_param_size(const dn_network* net, int i, const char* name, size_t* size) {
    return guard([&]() -> int {
        *size = find_param(net, i, name).size;
        return DN_OK;
    });
}

int dn_param_get(const dn_network* net, int i, const char* name, float* out, size_t size) {
    return guard([&]() -> int {
        dn::Param<float> p = find_param(net, i, name);
        check_size(size, p.size, name);
        std::memcpy(out, p.value, size * sizeof(float));
        return DN_OK;
    });
}

int dn_param_set(dn_network* net, int i, const char* name, const float* values, size_t size) {
    return guard([&]() -> int {
        dn::Param<float> p = find_param(net, i, name);
        check_size(size, p.size, name);
        std::memcpy(p.value, values, size * sizeof(float));
        layer_at(net, i).params_changed();
        return DN_OK;
    });
}

int dn_grad_get(const dn_network* net, int i, const char* name, float* out, size_t size) {
    return guard([&]() -> int {
        check_net(net);
        net->net->ensure_grads();
        dn::Param<float> p = find_param(net, i, name);
        if (!p.grad) throw dn::Error(dn::strfmt("parameter '%s' of layer %d is not trained (no gradient)", name, i));
        check_size(size, p.size, name);
        std::memcpy(out, p.grad, size * sizeof(float));
        return DN_OK;
    });
}

int dn_network_load_weights(dn_network* net, const char* path) {
    return guard([&]() -> int {
        check_net(net);
        dn::load_weights(*net->net, path);
        return DN_OK;
    });
}

int dn_network_save_weights(const dn_network* net, const char* path) {
    return guard([&]() -> int {
        check_net(net);
        dn::save_weights(*net->net, path);
        return DN_OK;
    });
}

int dn_load_image_input(const dn_network* net, const char* image_path, int letterbox, float* out, size_t size) {
    return guard([&]() -> int {
        check_net(net);
        const dn::Network<float>& n = *net->net;
        dn::Image im = dn::load_image(image_path, n.c);
        dn::Image sized = dn::preprocess(im, n.w, n.h, letterbox != 0);
        check_size(size, sized.data.size(), "image input");
        std::memcpy(out, sized.data.data(), size * sizeof(float));
        return DN_OK;
    });
}

int dn_detect(dn_network* net, const char* image_path, float thresh, float nms, int letterbox, dn_detection* out,
              int max, int* count) {
    return guard([&]() -> int {
        check_net(net);
        dn::Image im = dn::load_image(image_path, net->net->c);
        dn::DetectOptions opt;
        opt.thresh = thresh;
        opt.nms = nms;
        opt.letterbox = letterbox != 0;
        std::vector<dn::Detection> dets = dn::detect_image(*net->net, im, opt);
        int k = 0;
        for (const auto& d : dets)
            for (size_t j = 0; j < d.prob.size(); ++j)
                if (d.prob[j] > thresh) {
                    if (k < max) out[k] = {d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h, static_cast<int>(j), d.prob[j]};
                    ++k;
                }
        *count = k < max ? k : max;
        return DN_OK;
    });
}

int dn_set_num_threads(int n) {
    dn::set_num_threads(n);
    return DN_OK;
}

void dn_set_quiet(int quiet) { dn::set_quiet(quiet != 0); }

}  // extern "C"
