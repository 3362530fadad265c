// pjreddie's [rnn], [lstm] and [gru] against their equations worked here by hand, the state a non-training pass
// carries to the next, [net] time_steps, and the Darknet weights layout. Gradients against finite
// differences: tests/test_backward.cpp; the GPU against the CPU: tests/test_gpu_agreement.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "darknet/network.hpp"
#include "darknet/weights.hpp"
#include "gradcheck.hpp"
#include "layers/gru_layer.hpp"
#include "layers/lstm_layer.hpp"
#include "layers/rnn_layer.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::error_of;
using dn::test::net_cfg;
using dn::test::net_from;

namespace {

// One input, one hidden unit, one output, linear blocks: W_i = a, b_i = p, W_s = c, b_s = q,
// W_o = d, b_o = r, set through params() (biases, weights of input, self, output).
void set_scalars(Network<double>& net, double a, double p, double c, double q, double d, double r) {
    auto ps = net.layers[0]->params();
    ASSERT_EQ(ps.size(), 6u);
    const double v[6] = {p, a, q, c, r, d};
    for (int k = 0; k < 6; ++k) {
        ASSERT_EQ(ps[k].size, 1u);
        ps[k].value[0] = v[k];
    }
}

const char* kScalarRnn = "[rnn]\noutput=1\nhidden=1\nactivation=linear\n";

// A gated layer ([lstm], [gru]: `layers`, 3 outputs, 2 inputs, 2 streams): three one-step
// non-training passes give one three-step pass's outputs, and after reset_state() the three-step
// pass gives its first outputs again.
template <class L>
void expect_passes_carry(const std::string& layers, int param_seed, int input_seed) {
    auto three = net_from<double>(net_cfg(2, 2, 1, 1) + "time_steps=3\n" + layers);
    auto one = net_from<double>(net_cfg(2, 2, 1, 1) + "time_steps=1\n" + layers);
    randomize_params(*three, param_seed);
    copy_params(*three, *one);
    const std::vector<double> x = dn::test::make_input(6, 2, 1, 1, 0.3, 1, -1, input_seed);
    const double* y3 = three->forward(x.data(), false);
    const std::vector<double> want(y3, y3 + 18);
    for (int t = 0; t < 3; ++t) {
        const double* y = one->forward(x.data() + t * 4, false);
        for (int i = 0; i < 6; ++i) EXPECT_NEAR(y[i], want[t * 6 + i], 1e-13) << "step " << t << " value " << i;
    }
    dynamic_cast<L&>(*three->layers[0]).reset_state();
    y3 = three->forward(x.data(), false);
    for (int i = 0; i < 18; ++i) EXPECT_EQ(y3[i], want[i]) << i;
}

// A gated layer's weights file (section `name`, batch-normalized, 3 inputs, 2 outputs): K blocks
// laid out as [connected] layers, the K/2 state blocks (output -> output) first; each value v of
// block q written as 1000 (q + 1) + v lands in that block's arrays, and saving writes it back.
template <class L, int K>
void expect_block_layout(const std::string& name) {
    const int I = 3, O = 2;
    auto net = net_from<float>("[net]\ninputs=3\ntime_steps=2\n[" + name + "]\noutput=2\nbatch_normalize=1\n");
    std::vector<char> bytes = weights_bytes(*net);
    const size_t header = 20, w_block = O + O * O + 3 * O, u_block = O + I * O + 3 * O;
    ASSERT_EQ(bytes.size(), header + 4 * (K / 2 * w_block + K / 2 * u_block));
    size_t off = header;
    for (int q = 0; q < K; ++q)
        for (size_t v = 0; v < (q < K / 2 ? w_block : u_block); ++v, off += 4) {
            float f = 1000.f * (q + 1) + v;
            std::memcpy(bytes.data() + off, &f, 4);
        }
    load_weights_bytes(*net, bytes, "t.weights");
    auto& l = dynamic_cast<L&>(*net->layers[0]);
    for (int q = 0; q < K; ++q) {
        const Dense<float>& d = l.gates[q];
        EXPECT_EQ(d.inputs, q < K / 2 ? O : I) << q;
        const float base = 1000.f * (q + 1);
        EXPECT_EQ(d.biases[0], base) << q;
        EXPECT_EQ(d.weights[0], base + O) << q;
        EXPECT_EQ(d.bn.rolling_variance[O - 1], base + O + d.weights.size() + 3 * O - 1) << q;
    }
    EXPECT_TRUE(weights_bytes(*net) == bytes);
}

}  // namespace

// S_0 = 0, I_t = a x_t + p, R_t = c S_t + q, S_{t+1} = [shortcut] S_t + I_t + R_t, y_t = d S_{t+1} + r.
TEST(Rnn, StepsByHand) {
    for (int shortcut : {0, 1}) {
        SCOPED_TRACE(shortcut);
        auto net = net_from<double>(net_cfg(1, 1, 1, 1) + "time_steps=3\n" + kScalarRnn + "shortcut=" +
                                    std::to_string(shortcut) + "\n");
        ASSERT_EQ(net->batch, 3) << "a pass holds batch * time_steps rows";
        const double a = 0.5, p = 0.1, c = -0.7, q = 0.3, d = 2, r = -0.25;
        set_scalars(*net, a, p, c, q, d, r);
        const std::vector<double> x = {1, -2, 0.5};
        const double* y = net->forward(x.data(), true);
        double S = 0;
        for (int t = 0; t < 3; ++t) {
            S = (shortcut ? S : 0) + (a * x[t] + p) + (c * S + q);
            EXPECT_NEAR(y[t], d * S + r, 1e-15) << "step " << t;
        }
    }
}

// Two streams (batch=2): row t * 2 + n is step t of stream n, each with its own state.
TEST(Rnn, RowsAreTimeMajorStreams) {
    auto net = net_from<double>(net_cfg(2, 1, 1, 1) + "time_steps=2\n" + kScalarRnn);
    ASSERT_EQ(net->batch, 4);
    const double a = 1.5, p = 0, c = 0.5, q = 0, d = 1, r = 0;
    set_scalars(*net, a, p, c, q, d, r);
    const std::vector<double> x = {1, 10, 2, 20};  // t0: streams 1, 10; t1: 2, 20
    const double* y = net->forward(x.data(), true);
    for (int n = 0; n < 2; ++n) {
        const double s1 = a * x[n], s2 = a * x[2 + n] + c * s1;
        EXPECT_NEAR(y[n], s1, 1e-14) << n;
        EXPECT_NEAR(y[2 + n], s2, 1e-14) << n;
    }
}

// Non-training passes carry the last state into the next pass (Darknet's text generation feeds a
// character a pass): three one-step passes give the outputs of one three-step pass. A training
// pass starts from zero, and reset_state() forgets the carried state.
TEST(Rnn, NonTrainingPassesCarryTheState) {
    const std::string layers = "[rnn]\noutput=3\nhidden=4\nbatch_normalize=1\nshortcut=1\nactivation=leaky\n";
    auto three = net_from<double>(net_cfg(2, 2, 1, 1) + "time_steps=3\n" + layers);
    auto one = net_from<double>(net_cfg(2, 2, 1, 1) + "time_steps=1\n" + layers);
    randomize_params(*three, 7);
    copy_params(*three, *one);
    const std::vector<double> x = dn::test::make_input(6, 2, 1, 1, 0.3, 1, -1, 9);
    const double* y3 = three->forward(x.data(), false);
    const std::vector<double> want(y3, y3 + 18);
    for (int t = 0; t < 3; ++t) {
        const double* y = one->forward(x.data() + t * 4, false);
        for (int i = 0; i < 6; ++i) EXPECT_NEAR(y[i], want[t * 6 + i], 1e-13) << "step " << t << " value " << i;
    }
    // the second pass starts from the first one's last state: it differs
    y3 = three->forward(x.data(), false);
    double moved = 0;
    for (int i = 0; i < 18; ++i) moved = std::max(moved, std::fabs(y3[i] - want[i]));
    EXPECT_GT(moved, 1e-6);
    // reset_state: the next pass is the first one again
    dynamic_cast<RnnLayer<double>&>(*three->layers[0]).reset_state();
    y3 = three->forward(x.data(), false);
    for (int i = 0; i < 18; ++i) EXPECT_EQ(y3[i], want[i]) << i;
    // a training pass ignores the carried state: the same as a fresh network's
    three->forward(x.data(), false);
    auto fresh = net_from<double>(net_cfg(2, 2, 1, 1) + "time_steps=3\n" + layers);
    copy_params(*three, *fresh);
    const double* yt = three->forward(x.data(), true);
    const std::vector<double> trained(yt, yt + 18);
    const double* yf = fresh->forward(x.data(), true);
    for (int i = 0; i < 18; ++i) EXPECT_EQ(trained[i], yf[i]) << i;
}

// [net] time_steps multiplies the pass of a network with [rnn] (batch/subdivisions * time_steps
// rows, as in Darknet) and leaves other networks' alone; a pass past int's range is an error.
TEST(Rnn, TimeStepsSetThePassRows) {
    EXPECT_EQ(net_from<float>("[net]\nbatch=8\nsubdivisions=2\ninputs=3\ntime_steps=5\n" + std::string(kScalarRnn))->batch, 20);
    EXPECT_EQ(net_from<float>("[net]\nbatch=8\nsubdivisions=2\ninputs=3\ntime_steps=5\n[connected]\noutput=2\n")->batch, 4);
    EXPECT_EQ(net_from<float>("[net]\nbatch=8\ninputs=3\ntime_steps=5\n" + std::string(kScalarRnn), 1)->batch, 5);
    const std::string e = error_of([] {
        net_from<float>("[net]\nbatch=4\ninputs=3\ntime_steps=1073741824\n" + std::string(kScalarRnn));
    });
    EXPECT_NE(e.find("t.cfg:4: [net] key 'time_steps'"), std::string::npos) << e;
    EXPECT_NE(e.find("4294967296 rows"), std::string::npos) << e;
    EXPECT_NE(error_of([] { net_from<float>("[net]\ninputs=3\n[rnn]\noutput=2\nlogistic=3\n"); }).find("key 'logistic'"),
              std::string::npos);
}

// Darknet's file layout: the input, self and output blocks, each as a [connected] (biases,
// weights, then scales, rolling_mean, rolling_variance with batch_normalize).
TEST(Rnn, WeightsAreThreeConnectedBlocksInDarknetsOrder) {
    const int I = 3, H = 4, O = 2;
    auto net = net_from<float>("[net]\ninputs=3\ntime_steps=2\n[rnn]\noutput=2\nhidden=4\nbatch_normalize=1\n");
    std::vector<char> bytes = weights_bytes(*net);
    const size_t header = 20;
    const size_t block[3] = {size_t(H + I * H + 3 * H), size_t(H + H * H + 3 * H), size_t(O + H * O + 3 * O)};
    ASSERT_EQ(bytes.size(), header + 4 * (block[0] + block[1] + block[2]));
    // value v of block g at 1000 * (g + 1) + v, then read back into each block's arrays
    size_t off = header;
    for (int g = 0; g < 3; ++g)
        for (size_t v = 0; v < block[g]; ++v, off += 4) {
            float f = 1000.f * (g + 1) + v;
            std::memcpy(bytes.data() + off, &f, 4);
        }
    load_weights_bytes(*net, bytes, "t.weights");
    auto& rnn = dynamic_cast<RnnLayer<float>&>(*net->layers[0]);
    for (int g = 0; g < 3; ++g) {
        const Dense<float>& d = rnn.gates[g];
        const float base = 1000.f * (g + 1);
        const size_t nb = d.outputs, nw = static_cast<size_t>(d.inputs) * d.outputs;
        EXPECT_EQ(d.biases[0], base) << g;
        EXPECT_EQ(d.weights[0], base + nb) << g;
        EXPECT_EQ(d.weights[nw - 1], base + nb + nw - 1) << g;
        EXPECT_EQ(d.bn.scales[0], base + nb + nw) << g;
        EXPECT_EQ(d.bn.rolling_mean[0], base + 2 * nb + nw) << g;
        EXPECT_EQ(d.bn.rolling_variance[nb - 1], base + 4 * nb + nw - 1) << g;
    }
    EXPECT_TRUE(weights_bytes(*net) == bytes) << "saving writes what was read";
}

// [lstm] on scalars: each gate's pre-activation is the sum of its state block (W_q h + b) and its
// input block (U_q x + b'); c = f c + i g, h = o tanh(c), from a zero state.
TEST(Lstm, StepsByHand) {
    auto net = net_from<double>(net_cfg(1, 1, 1, 1) + "time_steps=3\n[lstm]\noutput=1\n");
    ASSERT_EQ(net->batch, 3);
    auto ps = net->layers[0]->params();
    ASSERT_EQ(ps.size(), 16u);
    double b[8], w[8];  // blocks W_i, W_f, W_o, W_g, U_i, U_f, U_o, U_g
    for (int q = 0; q < 8; ++q) {
        b[q] = 0.1 * (q - 3);
        w[q] = 0.3 + 0.2 * q * (q % 2 ? -1 : 1);
        ps[2 * q].value[0] = b[q];
        ps[2 * q + 1].value[0] = w[q];
    }
    const std::vector<double> x = {0.7, -1.2, 2.0};
    const double* y = net->forward(x.data(), true);
    auto sig = [](double z) { return 1 / (1 + std::exp(-z)); };
    double h = 0, c = 0;
    for (int t = 0; t < 3; ++t) {
        auto z = [&](int q) { return w[q] * h + b[q] + w[q + 4] * x[t] + b[q + 4]; };
        const double i = sig(z(0)), f = sig(z(1)), o = sig(z(2)), g = std::tanh(z(3));
        c = f * c + i * g;
        h = o * std::tanh(c);
        EXPECT_NEAR(y[t], h, 1e-15) << "step " << t;
    }
}

// As [rnn]: three one-step non-training passes give one three-step pass's outputs (h and c carry).
TEST(Lstm, NonTrainingPassesCarryTheState) {
    expect_passes_carry<LstmLayer<double>>("[lstm]\noutput=3\nbatch_normalize=1\n", 5, 8);
}

// pjreddie's file layout: W_i, W_f, W_o, W_g (output -> output), U_i, U_f, U_o, U_g (inputs ->
// output), each a [connected].
TEST(Lstm, WeightsAreEightConnectedBlocksInPjreddiesOrder) { expect_block_layout<LstmLayer<float>, 8>("lstm"); }

// [gru] on scalars, with the logistic candidate (pjreddie's default) and tanh=1: z and r from
// their state (W h + b) and input (U x + b') blocks, hc = squash(W_h (r h) + b_h + U_h x + b'_h),
// h = z h + (1 - z) hc, from a zero state.
TEST(Gru, StepsByHand) {
    for (int use_tanh : {0, 1}) {
        SCOPED_TRACE(use_tanh);
        auto net = net_from<double>(net_cfg(1, 1, 1, 1) + "time_steps=4\n[gru]\noutput=1\ntanh=" +
                                    std::to_string(use_tanh) + "\n");
        auto ps = net->layers[0]->params();
        ASSERT_EQ(ps.size(), 12u);
        double b[6], w[6];  // blocks W_z, W_r, W_h, U_z, U_r, U_h
        for (int q = 0; q < 6; ++q) {
            b[q] = 0.15 * (q - 2);
            w[q] = 0.4 + 0.3 * q * (q % 2 ? -1 : 1);
            ps[2 * q].value[0] = b[q];
            ps[2 * q + 1].value[0] = w[q];
        }
        const std::vector<double> x = {0.7, -1.2, 2.0, 0.3};
        const double* y = net->forward(x.data(), true);
        auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
        double h = 0;
        for (int t = 0; t < 4; ++t) {
            const double z = sig(w[0] * h + b[0] + w[3] * x[t] + b[3]);
            const double r = sig(w[1] * h + b[1] + w[4] * x[t] + b[4]);
            const double pre = w[2] * (r * h) + b[2] + w[5] * x[t] + b[5];
            const double hc = use_tanh ? std::tanh(pre) : sig(pre);
            h = z * h + (1 - z) * hc;
            EXPECT_NEAR(y[t], h, 1e-15) << "step " << t;
        }
    }
    EXPECT_NE(error_of([] { net_from<float>("[net]\ninputs=3\n[gru]\noutput=2\ntanh=2\n"); }).find("key 'tanh'"),
              std::string::npos);
}

// As [rnn]: three one-step non-training passes give one three-step pass's outputs; reset_state()
// forgets the carried state.
TEST(Gru, NonTrainingPassesCarryTheState) {
    expect_passes_carry<GruLayer<double>>("[gru]\noutput=3\nbatch_normalize=1\ntanh=1\n", 6, 4);
}

// pjreddie's file layout: W_z, W_r, W_h (output -> output), then U_z, U_r, U_h (inputs -> output),
// each a [connected].
TEST(Gru, WeightsAreSixConnectedBlocksInPjreddiesOrder) { expect_block_layout<GruLayer<float>, 6>("gru"); }

// `darknet rnn train` learns a small vocabulary's text with an [rnn], an [lstm] and a [gru] (the
// loss per byte falls from ln 128), then `rnn generate` writes only words of it and `rnn valid`
// measures far fewer bits per byte than the untrained network's log2(128) = 7.
class RnnCli : public testing::TestWithParam<const char*> {};

TEST_P(RnnCli, TrainGenerateValid) {
    const std::string dir = dn::test::make_temp_dir();
    std::mt19937_64 g(1);
    const std::vector<std::string> words = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran"};
    std::string text;
    for (int i = 0; i < 2000; ++i) text += words[g() % words.size()] + " ";
    dn::test::write_text(dir + "/t.txt", text);
    dn::test::write_text(dir + "/c.cfg",
                         "[net]\ninputs=128\nbatch=8\ntime_steps=8\nmomentum=0.9\ndecay=0.0005\nmax_batches=200\n"
                         "learning_rate=0.1\n" + std::string(GetParam()) +
                         "[connected]\noutput=128\nactivation=linear\n[softmax]\n");
    int rc = 0;
    const std::string log = dn::test::run("cd " + dir + " && " + dn::test::darknet_bin() +
                                              " rnn train c.cfg -file t.txt -chart '' -srand 2",
                                          &rc);
    ASSERT_EQ(rc, 0) << log;
    const std::vector<double> l = dn::test::losses(log);
    ASSERT_EQ(l.size(), 200u) << log;
    EXPECT_NEAR(l[0], std::log(128.0), 0.6);
    EXPECT_LT(l.back(), 1.2) << log;
    const std::string weights = dir + "/backup/c_final.weights";
    const std::string out = dn::test::run(dn::test::darknet_bin() + " rnn generate " + dir + "/c.cfg " + weights +
                                              " -seed 'the ' -len 300 -temp 0.3 -srand 5 2>/dev/null",
                                          &rc);
    ASSERT_EQ(rc, 0) << out;
    ASSERT_GE(out.size(), 304u) << out;
    std::istringstream ws(out.substr(0, out.rfind(' ')));  // the last word may be cut off
    std::string w;
    int n = 0;
    while (ws >> w) {
        EXPECT_NE(std::find(words.begin(), words.end(), w), words.end()) << "'" << w << "' in: " << out;
        ++n;
    }
    EXPECT_GT(n, 40);
    const std::string v = dn::test::run("head -c 2000 " + dir + "/t.txt | " + dn::test::darknet_bin() + " rnn valid " +
                                            dir + "/c.cfg " + weights + " 2>&1",
                                        &rc);
    ASSERT_EQ(rc, 0) << v;
    const size_t at = v.find("BPC: ");
    ASSERT_NE(at, std::string::npos) << v;
    EXPECT_LT(std::stod(v.substr(at + 5)), 2.0) << v;
    // a byte past inputs= is an error naming the file and offset
    dn::test::write_text(dir + "/u.txt", "abc\xe2\x82\xac");
    const std::string e = dn::test::run("cd " + dir + " && " + dn::test::darknet_bin() + " rnn train c.cfg -file u.txt 2>&1", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(e.find("u.txt: byte 3 is 0xe2, past the network's inputs=128"), std::string::npos) << e;
}

INSTANTIATE_TEST_SUITE_P(Layers, RnnCli,
                         testing::Values("[rnn]\nbatch_normalize=1\noutput=48\nhidden=48\nactivation=leaky\n",
                                         "[lstm]\nbatch_normalize=1\noutput=48\n",
                                         "[gru]\nbatch_normalize=1\noutput=48\ntanh=1\n"),
                         [](const testing::TestParamInfo<const char*>& i) {
                             return std::string(i.index == 0 ? "rnn" : i.index == 1 ? "lstm" : "gru");
                         });
