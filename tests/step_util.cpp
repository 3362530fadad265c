// Shared by the CPU and GPU tests of the per-layer training keys (stopbackward, learning_rate,
// dont_update, burnin_update):
// train_steps (test_util.hpp).
#include <random>

#include "darknet/random.hpp"
#include "test_util.hpp"

namespace dn::test {

namespace {
TrainedArrays trained_arrays(Network<float>& net, bool gpu) {
    if (gpu) net.pull_params();
    TrainedArrays r;
    for (auto& l : net.layers) {
        r.emplace_back();
        for (auto& p : l->params())
            if (p.grad) r.back().insert(r.back().end(), p.value, p.value + p.size);
    }
    return r;
}
}  // namespace

std::string keyed_net(const std::string& conv2_keys, const std::string& connected_keys, bool adam) {
    return std::string("[net]\nbatch=2\nwidth=5\nheight=4\nchannels=2\nmomentum=0.9\ndecay=0.001\n") +
           (adam ? "adam=1\n" : "") +
           "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
           "[convolutional]\nfilters=3\nsize=1\nactivation=leaky\n" + conv2_keys +
           "[connected]\noutput=4\nactivation=linear\n" + connected_keys + "[cost]\n";
}

std::vector<TrainedArrays> train_steps(const std::string& cfg, int steps, bool gpu) {
    set_seed(1);
    auto net = net_from<float>(cfg);
    net->ensure_grads();
    if (gpu) net->use_gpu(0);
    std::vector<TrainedArrays> out{trained_arrays(*net, gpu)};
    const size_t n_in = static_cast<size_t>(net->batch) * net->inputs();
    const size_t n_truth = static_cast<size_t>(net->batch) * net->layers.back()->truth_size();
    std::vector<float> x(n_in), t(n_truth);
    for (int s = 0; s < steps; ++s) {
        std::mt19937_64 g(static_cast<uint64_t>(s) + 11);
        std::normal_distribution<float> nd(0, 1);
        for (auto& v : x) v = nd(g);
        for (size_t i = 0; i < n_truth; ++i) t[i] = 0.5f * x[i % n_in] - 0.3f * x[(i * 7 + 3) % n_in];
        if (gpu) {
            net->forward_gpu(x.data(), true, t.data());
            net->backward_gpu();
        } else {
            net->forward(x.data(), true, t.data());
            net->backward();
        }
        // the step's images are counted before it updates, as the trainer does
        net->header.seen += static_cast<uint64_t>(net->batch) * net->cfg.subdivisions;
        if (gpu)
            net->update_gpu(0.1f);
        else
            net->update(0.1f);
        out.push_back(trained_arrays(*net, gpu));
    }
    return out;
}

}  // namespace dn::test
