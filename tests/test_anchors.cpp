// Anchors from label sizes (darknet detector calc_anchors): the IoU of sizes, k-means on 1 - IoU
// checked against facts computed here independently (cluster means, Lloyd's fixed point, the
// best-IoU average), and the CLI's anchors.txt and cfg line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "darknet/anchors.hpp"
#include "test_util.hpp"

using namespace dn;
using namespace dn::test;

namespace {

// The IoU of two sizes on a common corner, written out here (not the library's).
double iou_ref(double w1, double h1, double w2, double h2) {
    const double inter = std::min(w1, w2) * std::min(h1, h2);
    return inter / (w1 * h1 + w2 * h2 - inter);
}

// For each box the anchor of highest IoU (ties: lower index) and that IoU.
std::vector<int> best_of(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors,
                         double* mean_best) {
    std::vector<int> idx;
    double sum = 0;
    for (const BoxSize& b : boxes) {
        int best = 0;
        double v = -1;
        for (size_t j = 0; j < anchors.size(); ++j) {
            const double u = iou_ref(b.w, b.h, anchors[j].w, anchors[j].h);
            if (u > v) v = u, best = static_cast<int>(j);
        }
        idx.push_back(best);
        sum += v;
    }
    *mean_best = sum / boxes.size();
    return idx;
}

std::vector<BoxSize> lognormal_boxes(int n, uint64_t seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> d(3.0, 0.8);
    std::vector<BoxSize> b(n);
    for (auto& x : b) x = {std::exp(d(g)), std::exp(d(g))};
    return b;
}

}  // namespace

TEST(Anchors, SizeIouIsTheOverlapOfSizes) {
    EXPECT_DOUBLE_EQ(size_iou({2, 2}, {1, 1}), 0.25);
    EXPECT_DOUBLE_EQ(size_iou({4, 1}, {1, 4}), 1.0 / 7);
    EXPECT_DOUBLE_EQ(size_iou({3, 5}, {3, 5}), 1.0);
    EXPECT_DOUBLE_EQ(size_iou({3, 5}, {6, 2}), size_iou({6, 2}, {3, 5}));
    EXPECT_DOUBLE_EQ(size_iou({3, 5}, {6, 2}), 6.0 / (15 + 12 - 6));
}

// Three clusters far apart in IoU: k-means finds them, each anchor is its cluster's mean size.
TEST(Anchors, WellSeparatedClustersAreFoundExactly) {
    const BoxSize centers[3] = {{90, 120}, {10, 12}, {40, 25}};
    std::mt19937_64 g(7);
    std::uniform_real_distribution<double> jitter(0.9, 1.1);
    std::vector<BoxSize> boxes;
    double sw[3] = {}, sh[3] = {};
    for (int i = 0; i < 600; ++i) {
        const int c = i % 3;
        boxes.push_back({centers[c].w * jitter(g), centers[c].h * jitter(g)});
        sw[c] += boxes.back().w;
        sh[c] += boxes.back().h;
    }
    const AnchorFit f = fit_anchors(boxes, 3, 10, 1);
    ASSERT_EQ(f.anchors.size(), 3u);
    const int by_area[3] = {1, 2, 0};  // 10x12 < 40x25 < 90x120
    for (int j = 0; j < 3; ++j) {
        const int c = by_area[j];
        EXPECT_NEAR(f.anchors[j].w, sw[c] / 200, 1e-9) << j;
        EXPECT_NEAR(f.anchors[j].h, sh[c] / 200, 1e-9) << j;
        EXPECT_EQ(f.members[j], 200) << j;
    }
    double mean = 0;
    best_of(boxes, f.anchors, &mean);
    EXPECT_NEAR(f.avg_iou, mean, 1e-12);
    EXPECT_NEAR(mean_best_iou(boxes, f.anchors), mean, 1e-12);
    EXPECT_GT(mean, 0.8);
}

// On sizes without clusters the result is still Lloyd's fixed point for the 1 - IoU distance:
// every anchor is the mean of the boxes whose best anchor it is. More restarts never do worse
// (the first restart is the one-restart run), and the threads do not change the result.
TEST(Anchors, ResultIsAFixedPointAndRestartsOnlyHelp) {
    const std::vector<BoxSize> boxes = lognormal_boxes(20000, 3);
    const AnchorFit f = fit_anchors(boxes, 9, 4, 5);
    ASSERT_EQ(f.anchors.size(), 9u);
    double mean = 0;
    const std::vector<int> idx = best_of(boxes, f.anchors, &mean);
    std::vector<double> sw(9, 0), sh(9, 0);
    std::vector<int> cnt(9, 0);
    for (size_t i = 0; i < boxes.size(); ++i) {
        sw[idx[i]] += boxes[i].w;
        sh[idx[i]] += boxes[i].h;
        ++cnt[idx[i]];
    }
    for (int j = 0; j < 9; ++j) {
        ASSERT_GT(cnt[j], 0) << j;
        EXPECT_NEAR(f.anchors[j].w, sw[j] / cnt[j], 1e-9 * f.anchors[j].w) << j;
        EXPECT_NEAR(f.anchors[j].h, sh[j] / cnt[j], 1e-9 * f.anchors[j].h) << j;
        EXPECT_EQ(f.members[j], cnt[j]) << j;
        EXPECT_EQ(best_anchor_counts(boxes, f.anchors)[j], cnt[j]) << j;
        if (j > 0) { EXPECT_LE(f.anchors[j - 1].w * f.anchors[j - 1].h, f.anchors[j].w * f.anchors[j].h) << j; }
    }
    EXPECT_NEAR(f.avg_iou, mean, 1e-12);
    EXPECT_GE(f.avg_iou, fit_anchors(boxes, 9, 1, 5).avg_iou);
    // 9 boxes of the set as anchors are a far worse fit
    std::vector<BoxSize> some(boxes.begin(), boxes.begin() + 9);
    EXPECT_GT(f.avg_iou, mean_best_iou(boxes, some) + 0.02);
#ifdef _OPENMP
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const AnchorFit one = fit_anchors(boxes, 9, 4, 5);
    omp_set_num_threads(2);
    const AnchorFit two = fit_anchors(boxes, 9, 4, 5);
    omp_set_num_threads(threads);
    for (int j = 0; j < 9; ++j) {
        EXPECT_EQ(one.anchors[j].w, two.anchors[j].w);
        EXPECT_EQ(one.anchors[j].h, two.anchors[j].h);
        EXPECT_EQ(one.anchors[j].w, f.anchors[j].w);
    }
#endif
}

TEST(Anchors, BadInputIsAnError) {
    const std::vector<BoxSize> boxes = {{1, 2}, {1, 2}, {3, 4}};
    EXPECT_NE(error_of([&] { fit_anchors(boxes, 3); }).find("3 boxes with 2 distinct sizes cannot make 3 anchors"),
              std::string::npos);
    EXPECT_NE(error_of([&] { fit_anchors(boxes, 0); }).find("at least 1"), std::string::npos);
    EXPECT_NE(error_of([&] { fit_anchors({{1, 2}, {0, 3}}, 1); }).find("box 1 has size 0 x 3"), std::string::npos);
    EXPECT_NE(error_of([&] { fit_anchors({{NAN, 2}}, 1); }).find("positive and finite"), std::string::npos);
    EXPECT_NE(error_of([&] { mean_best_iou({}, boxes); }).find("at least one box"), std::string::npos);
    EXPECT_EQ(fit_anchors(boxes, 2).members, (std::vector<int>{2, 1}));
}

// The CLI: two exact sizes make anchors at exactly those sizes, written as Darknet's cfg line
// (which our cfg reader takes back); a cfg gives width, height and num=, and its own anchors' IoU.
TEST(DetectorCalcAnchors, WritesAnchorsTxtAndTheCfgLine) {
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels");
    std::string list;
    for (int i = 0; i < 6; ++i) {
        const std::string n = std::to_string(i);
        write_text(dir + "/images/" + n + ".png", "");  // listed images are only stat'ed
        // 0.1 x 0.2 and 0.5 x 0.4 of a 100 x 200 input: 10 x 40 and 50 x 80 pixels
        write_text(dir + "/labels/" + n + ".txt", i % 2 ? "1 0.5 0.5 0.5 0.4\n" : "0 0.3 0.3 0.1 0.2\n0 0.6 0.6 0.1 0.2\n");
        list += dir + "/images/" + n + ".png\n";
    }
    write_text(dir + "/train.txt", list);
    write_text(dir + "/a.data", "classes=2\ntrain=" + dir + "/train.txt\n");
    int rc = 0;
    auto calc = [&](const std::string& args) {
        return run("cd " + dir + " && " + darknet_bin() + " detector calc_anchors " + args, &rc);
    };
    std::string out = calc("a.data -num_of_clusters 2 -width 100 -height 200");
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("box: 9"), std::string::npos) << out;
    EXPECT_NE(out.find("avg IoU = 100.00 %"), std::string::npos) << out;
    EXPECT_NE(out.find("boxes per anchor (best IoU) = 6, 3"), std::string::npos) << out;
    EXPECT_NE(out.find("anchors =  10, 40,  50, 80\n"), std::string::npos) << out;
    const std::vector<char> txt = read_bytes(dir + "/anchors.txt");
    const std::string line(txt.begin(), txt.end());
    EXPECT_EQ(line, " 10, 40,  50, 80");
    const Cfg pasted = parse_cfg_string("[yolo]\nanchors = " + line + "\n", "pasted.cfg");
    EXPECT_EQ(pasted.sections[0].get_floats("anchors"), (std::vector<float>{10, 40, 50, 80}));

    // from a cfg: its input size and num=, and how well its current anchors fit
    write_text(dir + "/y.cfg", "[net]\nwidth=100\nheight=200\n[yolo]\nnum=2\nanchors=10,40, 25,80\n");
    out = calc("a.data y.cfg");
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("num_of_clusters = 2, width = 100, height = 200"), std::string::npos) << out;
    // 6 boxes fit 10x40 exactly; 3 boxes of 50x80 against 25x80: 2000 / 4000
    EXPECT_NE(out.find("avg IoU of y.cfg's anchors = 83.33 %"), std::string::npos) << out;
    EXPECT_NE(out.find("anchors =  10, 40,  50, 80\n"), std::string::npos) << out;

    // a [yolo] without anchors= has nothing to score; a different -num_of_clusters is warned about
    write_text(dir + "/z.cfg", "[net]\nwidth=100\nheight=200\n[yolo]\nnum=3\n");
    out = calc("a.data z.cfg -num_of_clusters 2");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("anchors =  10, 40,  50, 80\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("avg IoU of"), std::string::npos) << out;
    EXPECT_NE(out.find("z.cfg's [yolo] sections have num=3; the 2 anchors printed need num=2"), std::string::npos) << out;
    write_text(dir + "/w.cfg", "[net]\nwidth=100\nheight=200\n[yolo]\nnum=2\nanchors=1,2,3\n");
    out = calc("a.data w.cfg");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("w.cfg:6: [yolo] key 'anchors': has 3 values; num=2 needs 4"), std::string::npos) << out;

    // a YOLOv2 cfg: anchors in grid cells, the [region]'s 16 x 16 grid (a 64 x 64 input, stride 4),
    // printed with decimals; its anchors scored in cells: 1.6 x 3.2 boxes best fit 2.5 x 4 (IoU
    // 5.12 / 10), 8 x 6.4 ones too (10 / 51.2): (6 x 0.512 + 3 x 0.1953125) / 9
    write_text(dir + "/r.cfg", "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=14\nsize=1\nstride=4\n"
                               "activation=linear\n[region]\nclasses=2\ncoords=4\nnum=2\nanchors=0.5,2, 2.5,4\n");
    out = calc("a.data r.cfg");
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("num_of_clusters = 2, width = 16, height = 16"), std::string::npos) << out;
    EXPECT_NE(out.find("anchors = 1.6000,3.2000, 8.0000,6.4000\n"), std::string::npos) << out;
    EXPECT_NE(out.find("avg IoU of r.cfg's anchors = 40.64 %"), std::string::npos) << out;
    out = calc("a.data r.cfg -num_of_clusters 1");
    EXPECT_NE(out.find("r.cfg's [region] sections have num=2; the 1 anchors printed need num=1\n"), std::string::npos) << out;

    out = calc("a.data");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("needs the network's input size: -width 416 -height 416"), std::string::npos) << out;
    // integer flags: every int, exactly (they used to go through a float: 2147483647 became 2^31
    // and was refused, 16777217 became 16777216); 1e2 is an integer, 2.5 and 2^31 are not
    out = calc("a.data -num_of_clusters 2 -width 2147483647 -height 16777217");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("width = 2147483647, height = 16777217"), std::string::npos) << out;
    out = calc("a.data -num_of_clusters 2 -width 1e2 -height 2e2");
    EXPECT_NE(out.find("anchors =  10, 40,  50, 80\n"), std::string::npos) << out;
    out = calc("a.data y.cfg -num_of_clusters 2.5");
    EXPECT_NE(out.find("flag -num_of_clusters expects an integer in [-2147483648, 2147483647], got '2.5'"),
              std::string::npos) << out;
    out = calc("a.data y.cfg -width 2147483648");
    EXPECT_NE(out.find("flag -width expects an integer in [-2147483648, 2147483647], got '2147483648'"),
              std::string::npos) << out;
    out = calc("a.data y.cfg -num_of_clusters 3");
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("train.txt: 9 boxes with 2 distinct sizes cannot make 3 anchors"), std::string::npos) << out;
}
