// The optimizer steps of Layer::update: Adam against Kingma & Ba's Algorithm 1 written out here in
// float64, Adam's state through checkpoints, and the [net] keys. (SGD is checked by the training
// tests and, with Adam, against torch.optim by tests/test_python.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "darknet/weights.hpp"
#include "test_util.hpp"

using namespace dn;
using namespace dn::test;

namespace {

const char* kAdamNet =
    "[net]\nbatch=6\nsubdivisions=2\ninputs=7\ndecay=0.01\nadam=1\nB1=0.8\nB2=0.95\neps=0.001\n"
    "[connected]\noutput=4\nbatch_normalize=1\nactivation=leaky\n";

// Random values into every array of layer 0, and random gradients of magnitudes from 1e-4 to 10
// (so that eps = 1e-3 matters for some and not for others).
template <class T>
void randomize(Network<T>& net, std::mt19937_64& rng, bool values) {
    std::normal_distribution<double> nd(0, 1);
    std::uniform_real_distribution<double> mag(-4, 1);
    net.ensure_grads();
    for (auto& p : net.layers[0]->params()) {
        for (size_t i = 0; values && i < p.size; ++i) p.value[i] = static_cast<T>(p.name == "rolling_variance" ? 1 + nd(rng) * nd(rng) : nd(rng));
        for (size_t i = 0; p.grad && i < p.size; ++i) p.grad[i] = static_cast<T>(nd(rng) * std::pow(10.0, mag(rng)));
    }
}

}  // namespace

// Five Adam steps of a [connected] batch_normalize=1 layer (weights, biases, scales trained;
// rolling statistics not) equal Algorithm 1 of Kingma & Ba (2015) computed here, with Darknet's
// conventions: decay * batch * w added to the gradient of every trained array, the rate not
// divided by the batch, the gradient zeroed after the step.
TEST(Optimizer, AdamFollowsKingmaAndBaAlgorithm1) {
    auto net = net_from<double>(kAdamNet);
    // the cfg's values as the network holds them (float); batch * subdivisions = 6
    const double lr = 0.03f, b1 = 0.8f, b2 = 0.95f, eps = 1e-3f, decay = 0.01f * 6.0;
    std::mt19937_64 rng(5);
    randomize(*net, rng, true);
    auto ps = net->layers[0]->params();
    std::vector<std::vector<double>> w, m, v;
    for (auto& p : ps) {
        w.emplace_back(p.value, p.value + p.size);
        m.emplace_back(p.size, 0.0);
        v.emplace_back(p.size, 0.0);
    }
    for (int t = 1; t <= 5; ++t) {
        if (t > 1) randomize(*net, rng, false);
        ps = net->layers[0]->params();
        for (size_t k = 0; k < ps.size(); ++k) {
            if (!ps[k].grad) continue;
            for (size_t i = 0; i < ps[k].size; ++i) {
                const double g = ps[k].grad[i] + decay * w[k][i];
                m[k][i] = b1 * m[k][i] + (1 - b1) * g;
                v[k][i] = b2 * v[k][i] + (1 - b2) * g * g;
                const double mhat = m[k][i] / (1 - std::pow(b1, t)), vhat = v[k][i] / (1 - std::pow(b2, t));
                w[k][i] -= lr * mhat / (std::sqrt(vhat) + eps);
            }
        }
        net->update(static_cast<float>(lr));
        ps = net->layers[0]->params();
        for (size_t k = 0; k < ps.size(); ++k) {
            for (size_t i = 0; i < ps[k].size; ++i) {
                ASSERT_NEAR(ps[k].value[i], w[k][i], 1e-12 * std::max(1.0, std::abs(w[k][i])))
                    << ps[k].name << "[" << i << "] after step " << t;
                if (ps[k].grad) {
                    ASSERT_EQ(ps[k].grad[i], 0.0) << ps[k].name << ": the gradient is zeroed";
                }
            }
        }
    }
    EXPECT_EQ(net->layers[0]->adam.t, 5);
}

// A checkpoint carries Adam's moments and step count: a network loaded from it takes the same
// next steps, bit for bit, as the one that saved it. The other optimizer's state is skipped: an
// Adam checkpoint resumed with SGD starts SGD's momentum at zero, and the reverse starts Adam's
// moments at zero.
TEST(Optimizer, AdamStateGoesThroughCheckpoints) {
    auto a = net_from<float>(kAdamNet);
    std::mt19937_64 rng(7);
    randomize(*a, rng, true);
    for (int t = 0; t < 3; ++t) {
        randomize(*a, rng, false);
        a->update(0.01f);
    }
    const std::vector<char> ckpt = weights_bytes(*a, -1, true);
    auto b = net_from<float>(kAdamNet);
    load_weights_bytes(*b, ckpt, "ckpt");
    EXPECT_EQ(b->layers[0]->adam.t, 3);
    std::mt19937_64 ra(11), rb(11);
    for (int t = 0; t < 2; ++t) {
        randomize(*a, ra, false);
        randomize(*b, rb, false);
        a->update(0.01f);
        b->update(0.01f);
    }
    auto pa = a->layers[0]->params(), pb = b->layers[0]->params();
    for (size_t k = 0; k < pa.size(); ++k)
        for (size_t i = 0; i < pa[k].size; ++i)
            ASSERT_EQ(pa[k].value[i], pb[k].value[i]) << pa[k].name << "[" << i << "]: resumed steps differ";
    // the same file without the moments (a plain save) resumes from zero moments: different steps
    auto c = net_from<float>(kAdamNet);
    load_weights_bytes(*c, weights_bytes(*a, -1, false), "plain");
    EXPECT_TRUE(c->layers[0]->adam.empty());

    std::string sgd_cfg = kAdamNet;
    sgd_cfg.replace(sgd_cfg.find("adam=1\nB1=0.8\nB2=0.95\neps=0.001\n"), 32, "momentum=0.9\n");
    auto s = net_from<float>(sgd_cfg);
    load_weights_bytes(*s, ckpt, "adam ckpt");
    for (auto& p : s->layers[0]->params())
        for (size_t i = 0; p.grad && i < p.size; ++i) ASSERT_EQ(p.grad[i], 0.f) << p.name << ": SGD momentum from Adam";
    EXPECT_TRUE(s->layers[0]->adam.empty());
    std::mt19937_64 rs(3);
    randomize(*s, rs, false);
    s->update(0.01f);  // momentum now nonzero
    auto d = net_from<float>(kAdamNet);
    load_weights_bytes(*d, weights_bytes(*s, -1, true), "sgd ckpt");
    EXPECT_TRUE(d->layers[0]->adam.empty()) << "Adam moments from an SGD checkpoint";
    for (auto& p : d->layers[0]->params())
        for (size_t i = 0; p.grad && i < p.size; ++i) ASSERT_EQ(p.grad[i], 0.f) << p.name << ": SGD momentum in Adam";
}

// A truncated Adam record is an error naming what was being read and the byte offset.
TEST(Optimizer, TruncatedAdamStateIsAnError) {
    auto a = net_from<float>(kAdamNet);
    std::mt19937_64 rng(2);
    randomize(*a, rng, true);
    a->update(0.01f);
    std::vector<char> ckpt = weights_bytes(*a, -1, true);
    ckpt.resize(ckpt.size() - 8);
    auto b = net_from<float>(kAdamNet);
    const std::string e = error_of([&] { load_weights_bytes(*b, ckpt, "short.weights"); });
    EXPECT_NE(e.find("short.weights"), std::string::npos) << e;
    EXPECT_NE(e.find("Adam second moment"), std::string::npos) << e;
    EXPECT_NE(e.find("byte offset"), std::string::npos) << e;
    // an SGD cfg skips the Adam record; a record longer than the file is an error there too
    // (before 2026-12-02 the skip ran past the end of the file)
    std::string sgd_cfg = kAdamNet;
    sgd_cfg.replace(sgd_cfg.find("adam=1\n"), 7, "");
    auto s = net_from<float>(sgd_cfg);
    const std::string es = error_of([&] { load_weights_bytes(*s, ckpt, "short.weights"); });
    EXPECT_NE(es.find("short.weights' is truncated: 'trailer record' needs"), std::string::npos) << es;
}

TEST(Optimizer, AdamKeysAreChecked) {
    const auto err = [](const std::string& keys) {
        return error_of([&] { net_from<float>("[net]\nbatch=1\ninputs=3\nadam=1\n" + keys + "[connected]\noutput=2\n"); });
    };
    EXPECT_EQ(err(""), "");
    auto n = net_from<float>("[net]\nbatch=1\ninputs=3\nadam=1\n[connected]\noutput=2\n");
    EXPECT_TRUE(n->cfg.adam);
    EXPECT_FLOAT_EQ(n->cfg.B1, 0.9f);
    EXPECT_FLOAT_EQ(n->cfg.B2, 0.999f);
    EXPECT_FLOAT_EQ(n->cfg.eps, 1e-6f);
    std::string e = err("B1=1\n");
    EXPECT_NE(e.find("t.cfg:5"), std::string::npos) << e;  // the line of B1=
    EXPECT_NE(e.find("B1"), std::string::npos) << e;
    EXPECT_NE(e.find("[0, 1)"), std::string::npos) << e;
    EXPECT_NE(err("B2=-0.1\n").find("B2"), std::string::npos);
    e = err("eps=0\n");
    EXPECT_NE(e.find("eps"), std::string::npos) << e;
    EXPECT_NE(e.find("must be > 0"), std::string::npos) << e;
}
