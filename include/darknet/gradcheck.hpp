// Gradient checking: analytic backward passes against central finite differences in float64.
// One checker, used by the tests (tests/gradcheck.hpp) and by `darknet gradcheck <cfg>`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "darknet/network.hpp"

namespace dn {

struct GradcheckOptions {
    bool train = true;         ///< training-mode forward (batch statistics; dropout masks frozen)
    size_t max_checks = 200;   ///< elements per tensor; larger tensors are sampled (first, last, random)
    double step = 1e-4;        ///< h of the central differences at h and h/2 (Richardson-extrapolated)
    double tol = 1e-6;         ///< pass when |a - n| / max(|a|, |n|, 1) <= tol everywhere
    double kink = 5e-7;        ///< skip elements where D(h) and D(h/2) differ by more (relative): kinks;
                               ///< an undetected kink errs by about that much, so keep it under tol
    uint64_t seed = 1;         ///< upstream gradient w, sampling, labels
    bool randomize = true;     ///< random gamma (never 1), beta and rolling statistics first
};

/// Result for one tensor (the layer's input(s), or one parameter buffer).
struct TensorCheck {
    std::string name;          ///< "input", "input[route 3]", "weights", "scales", ...
    size_t size = 0, checked = 0, kinks = 0;
    double max_err = 0;        ///< max relative error over the checked elements
    long worst = -1;           ///< index of the worst element
    double analytic = 0, numeric = 0;  ///< its two values
};

struct LayerCheck {
    int index = 0;
    std::string type;
    bool loss_mode = false;    ///< checked its own loss (a loss layer ending the network)
    std::vector<TensorCheck> tensors;
    double max_err = 0;
    bool pass = false;
};

/// Sets random gamma (+-U(.5, 1.5)), beta (U(-1, 1)), rolling_mean (U(-.5, .5)) and
/// rolling_variance (U(.5, 2)) in every layer; weights keep their random initialization.
template <class T>
void randomize_params(Network<T>& net, uint64_t seed);

/// Random network input N(0,1) and, when the last layer has a loss, random labels; runs one
/// forward pass in the options' mode so that every layer holds its inputs. Returns {x, truth}.
std::pair<std::vector<double>, std::vector<double>> prepare_gradcheck(Network<double>& net, const GradcheckOptions& opt);

/// Checks layer i of a prepared network (prepare_gradcheck, or your own forward pass): the
/// gradient w.r.t. every input tensor the layer reads and every trainable parameter, for
/// L = sum(w * y) with fixed random w, or the layer's own loss when it is a loss layer ending the
/// network and opt.train is set.
LayerCheck gradcheck_layer(Network<double>& net, int i, const GradcheckOptions& opt);

/// float32 check of layer i: `fnet` (same cfg and parameters as `dnet`) computes the analytic
/// gradients in float; they are compared with the float64 numeric gradients of `dnet` taken at the
/// same (float) input values. Use opt.tol ~ 1e-2.
LayerCheck gradcheck_layer_f32(Network<double>& dnet, Network<float>& fnet, int i, const GradcheckOptions& opt);

/// Accumulation contract of layer i: pre-fills dL/d(input) and the parameter gradients with a
/// pattern P, runs backward, and returns max |result - (P + gradient)| relative to max(1, |.|).
/// 0 means the layer adds; a layer that overwrites gives a value of the order of P.
double check_accumulation(Network<double>& net, int i, const GradcheckOptions& opt);

/// Copies all parameter values from one network to another of the same cfg.
template <class A, class B>
void copy_params(Network<A>& from, Network<B>& to);

}  // namespace dn
