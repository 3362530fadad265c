// The optimizer steps of Layer::update: Adam against Kingma & Ba's Algorithm 1 written out here in
// float64, Adam's state through checkpoints, and the [net] keys. (SGD is checked by the training
// tests and, with Adam, against torch.optim by tests/test_python.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "darknet/random.hpp"
#include "darknet/trainer.hpp"
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

// stopbackward=1 on layer 1: layers 0 and 1 never change (no backward, no step: not even the
// decay), layer 2 trains. stopbackward=3: the same for iterations 0..2, then all layers train.
TEST(Optimizer, StopbackwardFreezesTheLayersUpToIt) {
    const std::vector<TrainedArrays> free = train_steps(keyed_net("", ""), 4);
    const std::vector<TrainedArrays> stop = train_steps(keyed_net("stopbackward=1\n", ""), 4);
    for (int s = 1; s <= 4; ++s) {
        EXPECT_EQ(stop[s][0], stop[0][0]) << "step " << s;
        EXPECT_EQ(stop[s][1], stop[0][1]) << "step " << s;
        EXPECT_NE(stop[s][2], stop[s - 1][2]) << "step " << s;
        EXPECT_NE(free[s][0], free[s - 1][0]) << "step " << s << " (no stopbackward)";
    }
    const std::vector<TrainedArrays> until = train_steps(keyed_net("stopbackward=3\n", ""), 5);
    for (int s = 1; s <= 3; ++s) EXPECT_EQ(until[s][0], until[0][0]) << "iteration " << s - 1;
    EXPECT_NE(until[4][0], until[3][0]) << "iteration 3 trains layer 0";
    EXPECT_NE(until[5][1], until[4][1]) << "iteration 4 trains layer 1";
    // the layers after the frozen ones see the same network as without freezing at first
    EXPECT_EQ(stop[1][2], free[1][2]);
    // AlexeyAB's train_only_bn=1 on layer 1 is the same freeze
    EXPECT_EQ(train_steps(keyed_net("train_only_bn=1\n", ""), 4), stop);

    // Through the trainer (subdivisions=2, `seen` counted before each step): stopbackward=3
    // freezes iterations 0..2, their steps included; iteration 3 trains layer 0.
    std::string cfg = keyed_net("stopbackward=3\n", "");
    cfg.replace(cfg.find("batch=2\n"), 8, "batch=4\nsubdivisions=2\nmax_batches=4\nlearning_rate=0.1\n");
    set_seed(1);
    auto net = net_from<float>(cfg);
    net->ensure_grads();
    std::vector<std::vector<float>> layer0;  // after each iteration
    auto weights0 = [&] {
        std::vector<float> w;
        for (auto& p : net->layers[0]->params())
            if (p.grad) w.insert(w.end(), p.value, p.value + p.size);
        return w;
    };
    layer0.push_back(weights0());
    TrainOptions opt;
    opt.backup_dir = make_temp_dir();
    opt.base = "stop";
    opt.chart_path = "";
    opt.quiet = true;
    opt.eval_every = 1;
    opt.evaluate = [&](int64_t) {
        layer0.push_back(weights0());
        return -1.0;
    };
    const BatchLoader load = [&](int64_t it, int pass, float* X, float* truth) {
        std::mt19937_64 g(static_cast<uint64_t>(it) * 3 + pass);
        std::normal_distribution<float> nd(0, 1);
        for (int i = 0; i < net->batch * net->inputs(); ++i) X[i] = nd(g);
        for (int i = 0; i < net->batch * 4; ++i) truth[i] = nd(g);
    };
    train(*net, load, 4, opt);
    ASSERT_EQ(layer0.size(), 5u);
    for (int it = 1; it <= 3; ++it) EXPECT_EQ(layer0[it], layer0[0]) << "after iteration " << it - 1;
    EXPECT_NE(layer0[4], layer0[3]) << "iteration 3";
}

// dont_update=2 on the second convolution: its steps at iterations 1 and 2 (the step's images
// counted, as in AlexeyAB's update_network_gpu) are held and its gradients dropped, while the
// first convolution, behind it, trains from the first step (back-propagation goes through it);
// its first step afterwards is the step from that iteration's gradient alone. burnin_update=1
// with burn_in=3 on the [connected] layer holds it while the iteration is below 3.
TEST(Optimizer, DontUpdateAndBurninUpdateHoldTheLayersSteps) {
    std::string cfg = keyed_net("dont_update=2\n", "burnin_update=1\n");
    cfg.replace(cfg.find("batch=2\n"), 8, "batch=2\nburn_in=3\n");
    const std::vector<TrainedArrays> free = train_steps(keyed_net("", ""), 4);
    const std::vector<TrainedArrays> held = train_steps(cfg, 4);
    for (int s = 1; s <= 4; ++s) EXPECT_NE(held[s][0], held[s - 1][0]) << "layer 0 trains at step " << s;
    EXPECT_EQ(held[1][0], free[1][0]) << "the held layers still pass the gradient back";
    for (int s = 1; s <= 2; ++s) {
        EXPECT_EQ(held[s][1], held[0][1]) << "dont_update holds step " << s;
        EXPECT_EQ(held[s][2], held[0][2]) << "burnin_update holds step " << s;
    }
    EXPECT_NE(held[3][1], held[2][1]);
    EXPECT_NE(held[3][2], held[2][2]);
    // the held steps' gradients are dropped: after a held step the gradient (SGD's momentum)
    // buffers of layers 1 and 2 are zero, so their first step is from that iteration's gradient
    // alone; layer 0 keeps its momentum
    set_seed(1);
    auto net = net_from<float>(cfg);
    net->ensure_grads();
    std::vector<float> x(static_cast<size_t>(net->batch) * net->inputs(), 0.5f), t(static_cast<size_t>(net->batch) * 4, 1.f);
    net->forward(x.data(), true, t.data());
    net->backward();
    net->header.seen += static_cast<uint64_t>(net->batch);
    net->update(0.1f);
    for (int l : {1, 2})
        for (auto& p : net->layers[l]->params()) {
            if (!p.grad) continue;
            for (size_t i = 0; i < p.size; ++i) {
                ASSERT_EQ(p.grad[i], 0.f) << "layer " << l << " " << p.name << " kept its gradient";
            }
        }
    bool moved = false;
    for (auto& p : net->layers[0]->params())
        if (p.grad)
            for (size_t i = 0; i < p.size; ++i) moved = moved || p.grad[i] != 0.f;
    EXPECT_TRUE(moved) << "layer 0's momentum is kept";
    // negative values are errors naming the key
    try {
        net_from<float>(keyed_net("dont_update=-1\n", ""));
        ADD_FAILURE() << "dont_update=-1 was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("dont_update"), std::string::npos) << e.what();
    }
}

// learning_rate on a layer scales its steps: one SGD step (and one Adam step) of the [connected]
// layer with learning_rate=0.25 moves it a quarter as far, the other layers as far as without.
TEST(Optimizer, LayerLearningRateScalesItsSteps) {
    for (bool adam : {false, true}) {
        const std::vector<TrainedArrays> a = train_steps(keyed_net("", "", adam), 1);
        const std::vector<TrainedArrays> b = train_steps(keyed_net("", "learning_rate=0.25\n", adam), 1);
        ASSERT_EQ(a[0], b[0]);
        EXPECT_EQ(a[1][0], b[1][0]) << "adam " << adam;
        double worst = 0, moved = 0;
        for (size_t i = 0; i < a[1][2].size(); ++i) {
            const double da = a[1][2][i] - a[0][2][i], db = b[1][2][i] - b[0][2][i];
            worst = std::max(worst, std::fabs(db - 0.25 * da));
            moved = std::max(moved, std::fabs(da));
        }
        EXPECT_GT(moved, 1e-4) << "adam " << adam;
        EXPECT_LE(worst, 1e-4 * moved) << "adam " << adam;
    }
    const std::string e = error_of([&] { net_from<float>(keyed_net("", "learning_rate=-1\n")); });
    EXPECT_NE(e.find("[connected] key 'learning_rate': scales this layer's learning rate: must be >= 0, got -1"),
              std::string::npos) << e;
}

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


// ema_step against AlexeyAB's schedule computed here in float64: nothing before max_batches/2;
// there the average starts as the weights; ema = alpha ema + (1 - alpha) w after each step to
// max_batches - 1000, where the weights become the average; nothing after. Arrays without a
// gradient (rolling statistics) are left alone.
TEST(Optimizer, EmaFollowsAlexeyABsSchedule) {
    auto net = net_from<float>(kEmaNet);
    net->ensure_grads();
    std::mt19937_64 rng(9);
    std::normal_distribution<float> nd(0, 1);
    auto ps = net->layers[0]->params();
    std::vector<std::vector<double>> want(ps.size());
    std::vector<float> rolling;
    const double a = 0.9f;
    for (int64_t it = 1; it <= 2040; ++it) {
        for (auto& p : ps) {
            for (size_t i = 0; i < p.size; ++i) p.value[i] = nd(rng);  // "the optimizer's step"
            if (p.name == "rolling_mean") rolling.assign(p.value, p.value + p.size);
        }
        const EmaAction e = ema_step(*net, it, 2040);
        if (it < 1020 || it > 1040) {
            ASSERT_EQ(e, EmaAction::None) << it;
            ASSERT_EQ(net->layers[0]->ema.empty(), it < 1020) << it;
            continue;
        }
        ASSERT_EQ(e, it == 1020 ? EmaAction::Started : it == 1040 ? EmaAction::Applied : EmaAction::Updated) << it;
        for (size_t k = 0; k < ps.size(); ++k) {
            if (!ps[k].grad) continue;
            if (it == 1020) want[k].assign(ps[k].value, ps[k].value + ps[k].size);
            for (size_t i = 0; i < ps[k].size && it < 1040; ++i) want[k][i] = a * want[k][i] + (1 - a) * ps[k].value[i];
        }
        for (size_t k = 0; k < ps.size(); ++k) {
            const std::vector<float>& got = net->layers[0]->ema[k];
            ASSERT_EQ(got.size(), ps[k].grad ? ps[k].size : 0u) << ps[k].name;
            for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[k][i], 1e-5) << ps[k].name << " at " << it;
            if (it == 1040 && ps[k].grad) {
                for (size_t i = 0; i < ps[k].size; ++i) ASSERT_EQ(ps[k].value[i], got[i]) << ps[k].name << ": not applied";
            }
            if (ps[k].name == "rolling_mean") {
                for (size_t i = 0; i < ps[k].size; ++i) ASSERT_EQ(ps[k].value[i], rolling[i]) << "rolling_mean averaged";
            }
        }
    }
    // a run under 1999 iterations has no window
    for (int64_t it : {499, 999, 1500}) EXPECT_FALSE(ema_due(net->cfg, it, 1998)) << it;
    auto plain = net_from<float>("[net]\nbatch=4\ninputs=5\n[connected]\noutput=3\n");
    EXPECT_FALSE(ema_due(plain->cfg, 1030, 2040));
}


// Training with ema_alpha (train()): stopped inside the averaging window (Ctrl-C near iteration
// 1030) and resumed from _last.weights, it has, right after the apply step (1040) and at the end,
// the state of the uninterrupted run byte for byte: the checkpoint carries the average (trailer
// record kind 4). Resumed without it, or trained without ema_alpha, the weights after 1040 differ.
TEST(Optimizer, EmaGoesThroughCheckpointsAndResumesExactly) {
    const std::string dir = make_temp_dir();
    const EmaRun whole = train_ema(kEmaNet, dir + "/a", -1, "");
    ASSERT_FALSE(whole.at_apply.empty());
    train_ema(kEmaNet, dir + "/b", 1030, "");
    ASSERT_TRUE(file_exists(dir + "/b/ema_last.weights"));
    {
        auto probe = net_from<float>(kEmaNet);
        load_weights(*probe, dir + "/b/ema_last.weights");
        // the loader raised SIGINT while it prefetched iteration 1030's data: the trainer stops
        // after that iteration or the one before, whichever it was computing
        ASSERT_GE(probe->current_batch(), 1030);
        ASSERT_LE(probe->current_batch(), 1031);
        ASSERT_FALSE(probe->layers[0]->ema.empty()) << "the checkpoint has no moving average";
    }
    // (each resumed run writes into a folder of its own: the interrupted run's checkpoint stays)
    const EmaRun resumed = train_ema(kEmaNet, dir + "/r", -1, dir + "/b/ema_last.weights");
    EXPECT_TRUE(resumed.at_apply == whole.at_apply) << "resumed run differs after the apply step";
    EXPECT_TRUE(resumed.final == whole.final) << "resumed run differs at the end";
    const EmaRun dropped = train_ema(kEmaNet, dir + "/c", -1, dir + "/b/ema_last.weights", true);
    ASSERT_FALSE(dropped.at_apply.empty()) << "the run from the checkpoint did not reach the apply step";
    EXPECT_FALSE(dropped.at_apply == whole.at_apply) << "the checkpoint's moving average made no difference";
    std::string no_ema = kEmaNet;
    no_ema.replace(no_ema.find("ema_alpha=0.9\n"), 14, "");
    EXPECT_FALSE(train_ema(no_ema, dir + "/d", -1, "").at_apply == whole.at_apply) << "ema_alpha made no difference";
    // ema_alpha is checked
    std::string bad = kEmaNet;
    bad.replace(bad.find("ema_alpha=0.9"), 13, "ema_alpha=1.0");
    const std::string e = error_of([&] { net_from<float>(bad); });
    EXPECT_NE(e.find("t.cfg:9: [net] key 'ema_alpha': must be in [0, 1), got 1"), std::string::npos) << e;
}
