// [crop] (pjreddie's input augmentation): the centered crop at inference and the random crop of
// training against values computed here from the definitions (linear test images, which bilinear
// reading reproduces exactly, and Darknet's own rgb_to_hsv / hsv_to_rgb round trip for the levels).
// Its backward is checked with the other layers' in tests/test_backward.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "darknet/network.hpp"
#include "layers/crop_layer.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::net_from;

namespace {

std::string net_header(int w, int h, int c, int batch) {
    return "[net]\nbatch=" + std::to_string(batch) + "\nwidth=" + std::to_string(w) + "\nheight=" + std::to_string(h) +
           "\nchannels=" + std::to_string(c) + "\n";
}

// f(k, y, x) = ax x + ay y + ak k: linear, so a bilinear read at (rx, ry) inside the image is f(rx, ry).
struct Linear {
    double ax, ay, ak;
    double operator()(int k, double y, double x) const { return ax * x + ay * y + ak * k; }
    std::vector<double> image(int batch, int c, int h, int w) const {
        std::vector<double> v;
        for (int b = 0; b < batch; ++b)
            for (int k = 0; k < c; ++k)
                for (int y = 0; y < h; ++y)
                    for (int x = 0; x < w; ++x) v.push_back((*this)(k, y, x) + 0.01 * b);
        return v;
    }
};

// Darknet's levels_image_kernel for one pixel in training: rgb_to_hsv, S *= s, V *= e, hsv_to_rgb
// (with its clamp), written out as in his image kernels.
void darknet_levels(double& r, double& g, double& b, double sat, double expo) {
    const double mx = std::max(r, std::max(g, b)), mn = std::min(r, std::min(g, b)), delta = mx - mn;
    double h = -1, s = 0, v = mx;
    if (mx != 0) {
        s = delta / mx;
        if (r == mx) h = (g - b) / delta;
        else if (g == mx) h = 2 + (b - r) / delta;
        else h = 4 + (r - g) / delta;
        if (h < 0) h += 6;
    }
    s *= sat;
    v *= expo;
    if (s == 0) {
        r = g = b = v;
    } else {
        const int index = static_cast<int>(std::floor(h));
        const double f = h - index, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        if (index == 0) r = v, g = t, b = p;
        else if (index == 1) r = q, g = v, b = p;
        else if (index == 2) r = p, g = v, b = t;
        else if (index == 3) r = p, g = q, b = v;
        else if (index == 4) r = t, g = p, b = v;
        else r = v, g = p, b = q;
    }
    for (double* x : {&r, &g, &b}) *x = std::min(1.0, std::max(0.0, *x));
}

}  // namespace

// Inference: the window centered ((w - crop)/2: whole pixels, or half a pixel read as the mean of
// two), values 2v - 1, or v with noadjust=1.
TEST(Crop, InferenceIsTheCenteredWindow) {
    const Linear f{1, 10, 100};
    {
        auto net = net_from<double>(net_header(8, 6, 2, 1) + "[crop]\ncrop_width=4\ncrop_height=2\nflip=1\nangle=20\n");
        const auto& l = *net->layers[0];
        ASSERT_EQ(l.out_w, 4);
        ASSERT_EQ(l.out_h, 2);
        const std::vector<double> x = f.image(1, 2, 6, 8);
        const double* y = net->forward(x.data(), false);
        for (int k = 0; k < 2; ++k)
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 4; ++j)
                    EXPECT_DOUBLE_EQ(y[(k * 2 + i) * 4 + j], 2 * x[(k * 6 + i + 2) * 8 + j + 2] - 1) << k << i << j;
    }
    {
        // 7 - 4 = 3, 6 - 3 = 3: the window starts at (1.5, 1.5), each output the mean of 2 x 2 pixels
        auto net = net_from<double>(net_header(7, 6, 2, 1) + "[crop]\ncrop_width=4\ncrop_height=3\nnoadjust=1\n");
        const std::vector<double> x = f.image(1, 2, 6, 7);
        const double* y = net->forward(x.data(), false);
        for (int k = 0; k < 2; ++k)
            for (int i = 0; i < 3; ++i)
                for (int j = 0; j < 4; ++j) {
                    const int p = (k * 6 + i + 1) * 7 + j + 1;
                    EXPECT_NEAR(y[(k * 3 + i) * 4 + j], (x[p] + x[p + 1] + x[p + 7] + x[p + 8]) / 4, 1e-12);
                    EXPECT_NEAR(y[(k * 3 + i) * 4 + j], f(k, i + 1.5, j + 1.5), 1e-12);
                }
    }
}

// Training: every image its own offset in [0, w - crop] x [0, h - crop] (fractional) and flip; the
// output is the linear image read at x = j + dw (flipped: w - dw - j - 1), y = i + dh.
TEST(Crop, TrainingCropsAtRandomOffsetsAndFlips) {
    const int B = 16, W = 9, H = 7, C = 2;
    auto net = net_from<double>(net_header(W, H, C, B) + "[crop]\ncrop_width=5\ncrop_height=4\nflip=1\n");
    const auto& l = dynamic_cast<const CropLayer<double>&>(*net->layers[0]);
    const Linear f{0.5, 0.25, 1};
    const std::vector<double> x = f.image(B, C, H, W);
    const double* y = net->forward(x.data(), true);
    ASSERT_EQ(l.draws().size(), static_cast<size_t>(B));
    int flips = 0;
    double dw_min = 1e9, dw_max = -1;
    for (int b = 0; b < B; ++b) {
        const CropDraw& d = l.draws()[b];
        EXPECT_GE(d.dw, 0);
        EXPECT_LE(d.dw, W - 5);
        EXPECT_GE(d.dh, 0);
        EXPECT_LE(d.dh, H - 4);
        EXPECT_EQ(d.cos_a, 1);
        EXPECT_EQ(d.sin_a, 0);
        flips += d.flip;
        dw_min = std::min<double>(dw_min, d.dw), dw_max = std::max<double>(dw_max, d.dw);
        for (int k = 0; k < C; ++k)
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 5; ++j) {
                    const double dw = d.dw, xs = d.flip ? W - dw - j - 1 : j + dw, ys = i + double(d.dh);
                    EXPECT_NEAR(y[((b * C + k) * 4 + i) * 5 + j], 2 * (f(k, ys, xs) + 0.01 * b) - 1, 1e-9);
                }
    }
    EXPECT_GT(flips, 0);
    EXPECT_LT(flips, B);
    EXPECT_GT(dw_max - dw_min, 0.5) << "the offsets do not vary";
    // the next batch (more images seen) draws anew
    net->header.seen += B;
    const std::vector<float> before = {l.draws()[0].dw, l.draws()[1].dw};
    net->forward(x.data(), true);
    EXPECT_TRUE(l.draws()[0].dw != before[0] || l.draws()[1].dw != before[1]);
}

// Rotation by a random angle in [-angle, angle] about the input's center: inside the image the
// output is the linear image at the rotated point, and a point whose four pixels are all outside
// reads 0 (Darknet's bilinear_interpolate_kernel).
TEST(Crop, TrainingRotatesAboutTheCenter) {
    const int B = 6, S = 12;
    auto net = net_from<double>(net_header(S, S, 1, B) + "[crop]\ncrop_width=10\ncrop_height=10\nangle=35\nnoadjust=1\n");
    const auto& l = dynamic_cast<const CropLayer<double>&>(*net->layers[0]);
    const Linear f{0.7, -0.3, 0};
    const std::vector<double> x = f.image(B, 1, S, S);
    const double* y = net->forward(x.data(), true);
    int inside = 0, outside = 0;
    double max_angle = 0;
    for (int b = 0; b < B; ++b) {
        const CropDraw& d = l.draws()[b];
        const double a = std::atan2(d.sin_a, d.cos_a) * 180 / 3.14159265358979323846;
        EXPECT_LE(std::fabs(a), 35 + 1e-4);
        max_angle = std::max(max_angle, std::fabs(a));
        for (int i = 0; i < 10; ++i)
            for (int j = 0; j < 10; ++j) {
                const double px = j + double(d.dw) - S / 2.0, py = i + double(d.dh) - S / 2.0;
                const double rx = d.cos_a * px - d.sin_a * py + S / 2.0, ry = d.sin_a * px + d.cos_a * py + S / 2.0;
                const double got = y[(b * 10 + i) * 10 + j];
                if (rx >= 0 && rx <= S - 1 && ry >= 0 && ry <= S - 1) {
                    EXPECT_NEAR(got, f(0, ry, rx) + 0.01 * b, 1e-5) << b << " " << i << " " << j;
                    ++inside;
                } else if (rx < -1 || rx >= S || ry < -1 || ry >= S) {
                    EXPECT_EQ(got, 0) << b << " " << i << " " << j;
                    ++outside;
                }
            }
    }
    EXPECT_GT(inside, 300);
    EXPECT_GT(outside, 0) << "no rotation took a corner outside the input";
    EXPECT_GT(max_angle, 5);
}

// The levels of a 3-channel input (training): Darknet's HSV round trip with the image's drawn
// saturation and exposure, then 2v - 1 plus the image's shift per channel.
TEST(Crop, TrainingLevelsAreDarknetsHsvRoundTrip) {
    const int B = 8, W = 5, H = 4;
    auto net = net_from<double>(net_header(W, H, 3, B) +
                                "[crop]\ncrop_width=5\ncrop_height=4\nsaturation=1.6\nexposure=1.5\nshift=0.3\n");
    const auto& l = dynamic_cast<const CropLayer<double>&>(*net->layers[0]);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> x(static_cast<size_t>(B) * 3 * W * H);
    for (double& v : x) v = u(rng);
    const double* y = net->forward(x.data(), true);
    const int P = W * H;
    bool clamped = false, varied = false;
    for (int b = 0; b < B; ++b) {
        const CropDraw& d = l.draws()[b];
        EXPECT_GE(d.saturation, 1 / 1.6f - 1e-6f);
        EXPECT_LE(d.saturation, 1.6f + 1e-6f);
        EXPECT_GE(d.exposure, 1 / 1.5f - 1e-6f);
        EXPECT_LE(d.exposure, 1.5f + 1e-6f);
        varied |= std::fabs(d.saturation - 1) > 0.05;
        for (int k = 0; k < 3; ++k) EXPECT_LE(std::fabs(d.shift[k]), 0.15f + 1e-6f);
        for (int p = 0; p < P; ++p) {
            const double* im = x.data() + static_cast<size_t>(b) * 3 * P;
            double rgb[3] = {im[p], im[P + p], im[2 * P + p]};
            darknet_levels(rgb[0], rgb[1], rgb[2], d.saturation, d.exposure);
            for (int k = 0; k < 3; ++k) {
                clamped |= rgb[k] == 1 || rgb[k] == 0;
                EXPECT_NEAR(y[(static_cast<size_t>(b) * 3 + k) * P + p], 2 * rgb[k] - 1 + d.shift[k], 1e-12)
                    << "image " << b << " channel " << k << " pixel " << p;
            }
        }
    }
    EXPECT_TRUE(varied);
    EXPECT_TRUE(clamped) << "no level reached the clamp";
    // inference: no levels, no shift
    const double* z = net->forward(x.data(), false);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_DOUBLE_EQ(z[i], 2 * x[i] - 1);
}

// Multi-scale training resizes the window by the build's crop_height / height (Darknet's).
TEST(Crop, ResizeKeepsTheRatio) {
    auto net = net_from<float>(net_header(16, 16, 3, 1) + "[crop]\ncrop_width=12\ncrop_height=12\n[avgpool]\n");
    net->resize(32, 24);
    EXPECT_EQ(net->layers[0]->out_w, 24);
    EXPECT_EQ(net->layers[0]->out_h, 18);
    std::vector<float> x(32 * 24 * 3, 0.25f);
    const float* y = net->forward(x.data(), false);
    for (int k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(y[k], -0.5f);
}
