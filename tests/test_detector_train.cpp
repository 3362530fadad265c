// Detector training and evaluation: mAP on a hand-checked fixture, Darknet's label layout and its
// corrupt lines, augmentation of boxes, `detector train` on a small Fashion-MNIST detection set,
// `partial`, and load -> save of pretrained weights leaving `detector test` unchanged.
#include <gtest/gtest.h>

#include <array>
#include <set>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "darknet/augment.hpp"
#include "darknet/detect_data.hpp"
#include "darknet/image.hpp"
#include "darknet/map.hpp"
#include "test_util.hpp"

using namespace dn;
using namespace dn::test;

namespace {


// Three 100x100 images with known boxes (pixels, [x0, y0, x1, y1]) and known predictions written
// in `detector valid`'s format (1-based pixels). Classes "a" and "b".
//   image 1: a [10,10,50,50], b [60,60,90,90];  image 2: a [20,20,60,60];
//   image 3: a [50,10,90,50], b [10,50,40,90]
//   predictions of a (by confidence): .9 exact img1 (TP), .8 img2 [40,40,80,80] (IoU .14, FP),
//     .7 exact img3 (TP), .6 img1 [12,10,52,50] (IoU .905 but the truth is taken: FP), .3 exact img2 (TP)
//   predictions of b: .95 img3 [18,50,48,90] (IoU 880/1520 = .579: TP at 0.5, FP at 0.7),
//     .5 img1 [0,0,20,20] (FP)
std::string map_fixture() {
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels " + dir + "/results");
    auto rel = [](double x0, double y0, double x1, double y1) {
        return strfmt("%g %g %g %g", (x0 + x1) / 200, (y0 + y1) / 200, (x1 - x0) / 100, (y1 - y0) / 100);
    };
    write_text(dir + "/labels/im1.txt", "0 " + rel(10, 10, 50, 50) + "\n1 " + rel(60, 60, 90, 90) + "\n");
    write_text(dir + "/labels/im2.txt", "0 " + rel(20, 20, 60, 60) + "\n");
    write_text(dir + "/labels/im3.txt", "0 " + rel(50, 10, 90, 50) + "\n1 " + rel(10, 50, 40, 90) + "\n");
    std::string list;
    for (const char* n : {"im1", "im2", "im3"}) {
        save_image(Image(100, 100, 3, 0.5f), dir + "/images/" + n + ".png");
        list += dir + "/images/" + n + ".png\n";
    }
    write_text(dir + "/valid.txt", list);
    write_text(dir + "/ab.names", "a\nb\n");
    write_text(dir + "/ab.data", "classes=2\nvalid=" + dir + "/valid.txt\nnames=" + dir + "/ab.names\n");
    auto line = [](const char* id, double p, double x0, double y0, double x1, double y1) {
        return strfmt("%s %g %g %g %g %g\n", id, p, x0 + 1, y0 + 1, x1 + 1, y1 + 1);
    };
    write_text(dir + "/results/comp4_det_test_a.txt",
               line("im1", .9, 10, 10, 50, 50) + line("im2", .8, 40, 40, 80, 80) + line("im3", .7, 50, 10, 90, 50) +
                   line("im1", .6, 12, 10, 52, 50) + line("im2", .3, 20, 20, 60, 60));
    write_text(dir + "/results/comp4_det_test_b.txt", line("im3", .95, 18, 50, 48, 90) + line("im1", .5, 0, 0, 20, 20));
    return dir;
}

double number(const std::string& out, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex(pattern))) {
        ADD_FAILURE() << "no match for " << pattern << " in\n" << out;
        return -1;
    }
    return std::stod(m[1]);
}

}  // namespace

// AP by hand, class a (3 truths), ranks TP FP TP FP TP: precision 1, .5, .667, .5, .6 at recall
// 1/3, 1/3, 2/3, 2/3, 1. Area under the interpolated curve: 1/3*1 + 1/3*2/3 + 1/3*.6 = 34/45.
// 11 points: 4 x 1 + 3 x 2/3 + 4 x .6 = 8.4 -> 8.4/11. 101 points: 34 x 1 + 33 x 2/3 + 34 x .6 = 76.4.
// Class b (2 truths), ranks TP FP: AP .5; 11 points 6/11; 101 points 51/101.
TEST(DetectorMap, HandCheckedFixture) {
    const std::string dir = map_fixture();
    int rc = 0;
    std::string out = run(darknet_bin() + " detector map " + dir + "/ab.data -results " + dir + "/results", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("class_id = 0, name = a, ap = 75.56%"), std::string::npos) << out;
    EXPECT_NE(out.find("class_id = 1, name = b, ap = 50.00%"), std::string::npos) << out;
    EXPECT_NEAR(number(out, "mean average precision \\(mAP@0.50\\) = ([0-9.]+)"), (34.0 / 45 + 0.5) / 2, 1e-6);
    // at conf_thresh .25: TP 4 (a: 3, b: 1), FP 3, FN 1; average IoU over TP+FP = (3 + 880/1520) / 7
    EXPECT_NE(out.find("detections_count = 7, unique_truth_count = 5"), std::string::npos) << out;
    EXPECT_NE(out.find("(TP = 3, FP = 2)"), std::string::npos) << out;
    EXPECT_NE(out.find("TP = 4, FP = 3, FN = 1, average IoU = 51.13 %"), std::string::npos) << out;
    EXPECT_NE(out.find("precision = 0.57, recall = 0.80, F1-score = 0.67"), std::string::npos) << out;

    out = run(darknet_bin() + " detector map " + dir + "/ab.data -results " + dir + "/results -points 11", &rc);
    EXPECT_NEAR(number(out, "mean average precision \\(mAP@0.50\\) = ([0-9.]+)"), (8.4 / 11 + 6.0 / 11) / 2, 1e-6) << out;
    EXPECT_NE(out.find("used 11 Recall-points"), std::string::npos) << out;
    out = run(darknet_bin() + " detector map " + dir + "/ab.data -results " + dir + "/results -points 101", &rc);
    EXPECT_NEAR(number(out, "mean average precision \\(mAP@0.50\\) = ([0-9.]+)"), (76.4 / 101 + 51.0 / 101) / 2, 1e-6) << out;
    // at IoU 0.7 b's only hit (IoU .579) becomes a false positive
    out = run(darknet_bin() + " detector map " + dir + "/ab.data -results " + dir + "/results -iou_thresh 0.7", &rc);
    EXPECT_NEAR(number(out, "mean average precision \\(mAP@0.70\\) = ([0-9.]+)"), 34.0 / 45 / 2, 1e-6) << out;
}

TEST(DetectorMap, LibraryAgreesAndMapFiftyToNinetyFive) {
    // one image, one truth, one exact detection: AP 1 at every IoU threshold
    std::vector<std::vector<BoxLabel>> truths = {{{0, 0.5f, 0.5f, 0.2f, 0.4f}}};
    Detection d;
    d.bbox = {0.5f, 0.5f, 0.2f, 0.4f};
    d.objectness = 0.9f;
    d.prob = {0.9f};
    MapOptions o;
    o.points = 101;
    MapResult r = compute_map({{d}}, truths, 1, o);
    EXPECT_DOUBLE_EQ(r.map, 1.0);
    EXPECT_DOUBLE_EQ(r.map_50_95, 1.0);
    // shifted to IoU 0.6: a hit at 0.50 and 0.55 only -> 2 of 10 thresholds
    d.bbox.x = 0.5f + 0.2f * 0.25f;  // overlap .75 of the width: IoU .75/1.25 = .6
    r = compute_map({{d}}, truths, 1, o);
    EXPECT_DOUBLE_EQ(r.map, 1.0);
    EXPECT_NEAR(r.map_50_95, 0.2, 1e-12);
}

TEST(DetectionData, LabelPathsFollowDarknetsRule) {
    EXPECT_EQ(label_path_for("/d/images/train/0001.png"), "/d/labels/train/0001.txt");
    EXPECT_EQ(label_path_for("/voc/VOC2007/JPEGImages/000005.jpg"), "/voc/VOC2007/labels/000005.txt");
    EXPECT_EQ(label_path_for("/data/obj/img.1.jpeg"), "/data/obj/img.1.txt");
}

// Acceptance: corrupt lines are reported with file and line and skipped; the good lines load.
TEST(DetectionData, CorruptLabelLinesAreNamedAndSkipped) {
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels");
    save_image(Image(32, 32, 3, 0.2f), dir + "/images/a.png");
    save_image(Image(32, 32, 3, 0.2f), dir + "/images/b.png");
    write_text(dir + "/labels/a.txt",
               "1 0.5 0.5 0.2 0.2\n"     // good
               "2 0.5 0.5 0.2\n"         // 4 columns
               "0 1.5 0.5 0.2 0.2\n"     // center outside [0, 1]
               "3 0.5 0.5 0.2 0.2\n"     // class 3 >= classes 3
               "1 0.5 0.5 0 0.2\n"       // zero width
               "x 0.5 0.5 0.2 0.2\n"     // not a number
               "\n"
               "2 0.25 0.75 0.5 0.5\n");  // good
    write_text(dir + "/list.txt", dir + "/images/a.png\n" + dir + "/images/b.png\n");
    DetectionSet s = load_detection_set(dir + "/list.txt", 3, true);
    ASSERT_EQ(s.boxes.size(), 2u);
    ASSERT_EQ(s.boxes[0].size(), 2u);
    EXPECT_EQ(s.boxes[0][0].cls, 1);
    EXPECT_EQ(s.boxes[0][1].cls, 2);
    EXPECT_FLOAT_EQ(s.boxes[0][1].x, 0.25f);
    EXPECT_TRUE(s.boxes[1].empty());
    ASSERT_EQ(s.problems.size(), 6u);
    const std::string a = dir + "/labels/a.txt";
    EXPECT_NE(s.problems[0].find(a + ":2: expected 5 columns"), std::string::npos) << s.problems[0];
    EXPECT_NE(s.problems[1].find(a + ":3: the box center is outside [0, 1]"), std::string::npos) << s.problems[1];
    EXPECT_NE(s.problems[2].find(a + ":4: class id 3 is not an integer in [0, classes=3)"), std::string::npos) << s.problems[2];
    EXPECT_NE(s.problems[3].find(a + ":5: the box width or height"), std::string::npos) << s.problems[3];
    EXPECT_NE(s.problems[4].find(a + ":6: column 1 'x' is not a number"), std::string::npos) << s.problems[4];
    EXPECT_NE(s.problems[5].find(dir + "/labels/b.txt: no such label file"), std::string::npos) << s.problems[5];
    // a label path that is a directory is an error naming the list's line and the image
    run("mkdir " + dir + "/labels/b.txt");
    EXPECT_NE(error_of([&] { load_detection_set(dir + "/list.txt", 3, true); })
                  .find(dir + "/list.txt:2: the labels of '" + dir + "/images/b.png': '" + dir +
                        "/labels/b.txt' is a directory, not a file"),
              std::string::npos);
}

// Without augmentation a box maps to the same relative box; a flip mirrors x; a crop moves and
// clips boxes consistently with the pixels (a bright box stays under its label).
TEST(DetectionData, BoxesFollowTheAugmentedPixels) {
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels");
    Image im(80, 60, 3, 0.f);
    for (int k = 0; k < 3; ++k)
        for (int y = 12; y < 36; ++y)
            for (int x = 8; x < 40; ++x) im.at(x, y, k) = 1.f;  // box [8,12,40,36]
    save_image(im, dir + "/images/a.png");
    write_text(dir + "/labels/a.txt", strfmt("0 %g %g %g %g\n", 24.0 / 80, 24.0 / 60, 32.0 / 80, 24.0 / 60));
    write_text(dir + "/list.txt", dir + "/images/a.png\n");
    DetectionSet s = load_detection_set(dir + "/list.txt", 1, true);
    const int W = 64, H = 64, M = 4;
    std::vector<float> X(3 * W * H), T(5 * M);
    load_detection_batch(s, {0}, W, H, 3, nullptr, 0, M, X.data(), T.data());
    EXPECT_NEAR(T[0], 0.3, 1e-6);
    EXPECT_NEAR(T[2], 0.4, 1e-6);
    EXPECT_EQ(T[5 + 2], 0.f);  // unused slot
    DetectorAugment aug;
    aug.jitter = 0.3f;
    aug.hue = 0;
    aug.saturation = aug.exposure = 1;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        SCOPED_TRACE(seed);
        load_detection_batch(s, {0}, W, H, 3, &aug, seed, M, X.data(), T.data());
        ASSERT_GT(T[2], 0.f);
        // pixels well inside the label are bright, pixels well outside it are not
        const float x0 = (T[0] - T[2] / 2) * W, x1 = (T[0] + T[2] / 2) * W, y0 = (T[1] - T[3] / 2) * H, y1 = (T[1] + T[3] / 2) * H;
        auto px = [&](float x, float y) { return X[static_cast<int>(y) * W + static_cast<int>(x)]; };
        if (x1 - x0 > 6 && y1 - y0 > 6) {
            EXPECT_GT(px((x0 + x1) / 2, (y0 + y1) / 2), 0.9f);
        }
        if (x0 > 4) {
            EXPECT_LT(px(x0 - 3, (y0 + y1) / 2), 0.1f);
        }
        if (x1 < W - 4) {
            EXPECT_LT(px(x1 + 3, (y0 + y1) / 2), 0.1f);
        }
        if (y1 < H - 4) {
            EXPECT_LT(px((x0 + x1) / 2, y1 + 3), 0.1f);
        }
    }
}

// [yolo] resize (AlexeyAB's): with no jitter, the crop is zoomed, keeping its aspect, by
// 1/resize..resize (resize > 1) or only out, resize..1 (resize < 1); a centred box scales alike in
// x and y, both ends of the range are reached, and the box stays on its pixels.
TEST(DetectionData, ResizeZoomsTheCropKeepingItsAspect) {
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels");
    Image im(80, 60, 3, 0.f);
    for (int k = 0; k < 3; ++k)
        for (int y = 24; y < 36; ++y)
            for (int x = 32; x < 48; ++x) im.at(x, y, k) = 1.f;  // box [32,24,48,36]: 0.2 x 0.2 of the image
    save_image(im, dir + "/images/a.png");
    write_text(dir + "/labels/a.txt", "0 0.5 0.5 0.2 0.2\n");
    write_text(dir + "/list.txt", dir + "/images/a.png\n");
    DetectionSet s = load_detection_set(dir + "/list.txt", 1, true);
    const int W = 64, H = 64, M = 2;
    std::vector<float> X(3 * W * H), T(5 * M);
    DetectorAugment aug;
    aug.jitter = 0;
    aug.flip = false;
    for (float r : {1.5f, 0.5f, 1.f}) {
        SCOPED_TRACE(r);
        aug.resize = r;
        const double lo = r > 1 ? 1 / r : r, hi = r > 1 ? r : 1;
        double smallest = 1e9, largest = 0;
        for (uint64_t seed = 0; seed < 300; ++seed) {
            load_detection_batch(s, {0}, W, H, 3, &aug, seed, M, X.data(), T.data());
            const double sx = T[2] / 0.2, sy = T[3] / 0.2;
            EXPECT_NEAR(sx, sy, 1e-4) << "seed " << seed;
            EXPECT_GE(sx, lo - 1e-4);
            EXPECT_LE(sx, hi + 1e-4);
            smallest = std::min(smallest, sx);
            largest = std::max(largest, sx);
            EXPECT_GT(X[static_cast<int>(T[1] * H) * W + static_cast<int>(T[0] * W)], 0.9f);  // centre on the box
            const int outside = static_cast<int>((T[0] + T[2] / 2) * W) + 3;
            if (outside < W) {
                EXPECT_LT(X[static_cast<int>(T[1] * H) * W + outside], 0.1f);
            }
        }
        if (r == 1) {  // no zoom
            EXPECT_NEAR(smallest, 1, 1e-5);
            EXPECT_NEAR(largest, 1, 1e-5);
        } else {
            EXPECT_LT(smallest, lo + 0.25 * (hi - lo));  // the sum of two uniform shares: rare at the ends
            EXPECT_GT(largest, hi - 0.25 * (hi - lo));
        }
    }
}

namespace {
// A detection set in `dir` of 80x60 black images, image q holding one box box[q] (x0 y0 x1 y1) of
// colour colour[q] (RGB) labelled class q; returns it loaded (classes = the number of images).
DetectionSet coloured_box_set(const std::string& dir, const std::vector<std::array<int, 4>>& box,
                              const std::vector<std::array<float, 3>>& colour) {
    run("mkdir -p " + dir + "/images " + dir + "/labels");
    std::string list;
    for (size_t q = 0; q < box.size(); ++q) {
        Image im(80, 60, 3, 0.f);
        const auto& b = box[q];
        for (int k = 0; k < 3; ++k)
            for (int y = b[1]; y < b[3]; ++y)
                for (int x = b[0]; x < b[2]; ++x) im.at(x, y, k) = colour[q][k];
        const std::string name = strfmt("%s/images/%zu.png", dir.c_str(), q);
        save_image(im, name);
        write_text(strfmt("%s/labels/%zu.txt", dir.c_str(), q),
                   strfmt("%zu %g %g %g %g\n", q, (b[0] + b[2]) / 160.0, (b[1] + b[3]) / 120.0, (b[2] - b[0]) / 80.0,
                          (b[3] - b[1]) / 60.0));
        list += name + "\n";
    }
    write_text(dir + "/list.txt", list);
    return load_detection_set(dir + "/list.txt", static_cast<int>(box.size()), true);
}
}  // namespace

// mixup=1 (no mosaic): about half of the images are two augmented images blended 50/50 with the
// labels of both. Two images, a red box (class 0) and a green one (class 1): in a blend of both,
// each label's centre has half of its colour; a blend of an image with itself has its colour at
// full; an image that is not a blend has one label. Without mixup no image has two labels.
TEST(DetectionData, MixupBlendsTwoImagesWithTheLabelsOfBoth) {
    // a red box (class 0) and a green one (class 1), apart
    DetectionSet s = coloured_box_set(make_temp_dir(), {{8, 12, 40, 36}, {44, 5, 76, 25}}, {{1, 0, 0}, {0, 1, 0}});
    const int W = 64, H = 48, M = 4;
    std::vector<float> X(3 * W * H), T(5 * M);
    DetectorAugment aug;
    aug.jitter = 0;
    aug.flip = false;
    aug.mixup = true;
    int blends = 0, both = 0;
    for (uint64_t seed = 0; seed < 80; ++seed) {
        SCOPED_TRACE(seed);
        load_detection_batch(s, {static_cast<int>(seed % 2)}, W, H, 3, &aug, seed, M, X.data(), T.data());
        int n = 0;
        std::set<int> classes;
        for (; n < M && T[5 * n + 2] > 0; ++n) classes.insert(static_cast<int>(T[5 * n + 4]));
        ASSERT_GE(n, 1);
        ASSERT_LE(n, 2);
        blends += n == 2;
        both += classes.size() == 2;
        EXPECT_EQ(static_cast<int>(T[4]), static_cast<int>(seed % 2)) << "the drawn image's label comes first";
        for (int k = 0; k < n; ++k) {
            const int q = static_cast<int>(T[5 * k + 4]);
            const float v = X[(q * H + static_cast<int>(T[5 * k + 1] * H)) * W + static_cast<int>(T[5 * k] * W)];
            EXPECT_NEAR(v, classes.size() == 2 ? 0.5f : 1.f, 0.02f) << "label " << k << " of class " << q;
        }
    }
    EXPECT_GT(blends, 20) << "of 80 images, about half should be blends";
    EXPECT_LT(blends, 60);
    EXPECT_GT(both, 8);
    aug.mixup = false;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        load_detection_batch(s, {0}, W, H, 3, &aug, seed, M, X.data(), T.data());
        EXPECT_EQ(T[5 + 2], 0.f) << "a second label without mixup";
    }
}

// gaussian_blur is OpenCV's GaussianBlur(ksize, sigma 0) with BORDER_REFLECT_101: its kernels are
// OpenCV's (fixed tables to 9, the sigma formula above), and a blurred random image equals a direct
// 2-D sum over a reflect-padded copy written out here; and, where python3-opencv is installed,
// cv2.GaussianBlur of the same float32 image (within float rounding).
TEST(Augment, GaussianBlurIsOpenCvs) {
    EXPECT_EQ(gaussian_kernel(3), (std::vector<float>{0.25f, 0.5f, 0.25f}));
    EXPECT_EQ(gaussian_kernel(7)[3], 0.28125f);
    EXPECT_EQ(gaussian_kernel(9)[4], 60 / 256.f);  // OpenCV 4's table (not the formula)
    const std::vector<float> k17 = gaussian_kernel(17);
    const double sigma = 0.3 * (8 - 1) + 0.8;
    double sum = 0;
    for (int i = 0; i < 17; ++i) sum += std::exp(-(i - 8) * (i - 8) / (2 * sigma * sigma));
    for (int i = 0; i < 17; ++i) EXPECT_NEAR(k17[i], std::exp(-(i - 8) * (i - 8) / (2 * sigma * sigma)) / sum, 1e-7) << i;
    EXPECT_THROW(gaussian_kernel(4), Error);
    const int W = 23, H = 11;
    Image im(W, H, 2);
    std::mt19937_64 g(4);
    std::uniform_real_distribution<float> u(0, 1);
    for (float& v : im.data) v = u(g);
    for (int ksize : {3, 9, 17}) {
        SCOPED_TRACE(ksize);
        Image out = im;
        gaussian_blur(out, ksize);
        const std::vector<float> k = gaussian_kernel(ksize);
        const int r = ksize / 2;
        // pad by reflection (without the edge): padded[r + i] for i in [-r, n + r)
        auto pad = [&](int n) {
            std::vector<int> m(n + 2 * r);
            for (int i = -r; i < n + r; ++i) {
                int j = i;
                for (int it = 0; it < 8 && (j < 0 || j >= n); ++it) j = j < 0 ? -j : 2 * n - 2 - j;
                m[i + r] = j;
            }
            return m;
        };
        const std::vector<int> px = pad(W), py = pad(H);
        double worst = 0;
        for (int c = 0; c < 2; ++c)
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    double v = 0;
                    for (int dy = -r; dy <= r; ++dy)
                        for (int dx = -r; dx <= r; ++dx) v += k[dy + r] * k[dx + r] * im.at(px[x + dx + r], py[y + dy + r], c);
                    worst = std::max(worst, std::fabs(v - out.at(x, y, c)));
                }
        EXPECT_LT(worst, 1e-5);
        // against OpenCV itself
        const std::string dir = make_temp_dir();
        {
            std::ofstream f(dir + "/in.f32", std::ios::binary);
            f.write(reinterpret_cast<const char*>(im.data.data()), static_cast<std::streamsize>(im.data.size() * 4));
        }
        int rc = 0;
        const std::string py_out = run(strfmt(
            "/usr/bin/python3 -c \"import sys\ntry:\n import numpy as np, cv2\nexcept ImportError:\n sys.exit(77)\n"
            "a = np.fromfile('%s/in.f32', np.float32).reshape(2, %d, %d)\n"
            "b = np.stack([cv2.GaussianBlur(a[c], (%d, %d), 0) for c in range(2)])\n"
            "b.astype(np.float32).tofile('%s/cv.f32')\n\"",
            dir.c_str(), H, W, ksize, ksize, dir.c_str()), &rc);
        if (rc == 77) {
            std::printf("(python3-opencv not installed: the OpenCV comparison is skipped)\n");
            continue;
        }
        ASSERT_EQ(rc, 0) << py_out;
        const std::vector<char> cvb = read_bytes(dir + "/cv.f32");
        ASSERT_EQ(cvb.size(), im.data.size() * 4);
        const float* cv = reinterpret_cast<const float*>(cvb.data());
        double dev = 0;
        size_t at = 0;
        for (size_t i = 0; i < im.data.size(); ++i)
            if (std::fabs(cv[i] - out.data[i]) > dev) dev = std::fabs(cv[i] - out.data[i]), at = i;
        EXPECT_LT(dev, 1e-5) << "differs from cv2.GaussianBlur at " << at << " (x " << at % W << ", y " << at / W % H << ")";
    }
}

// blur (AlexeyAB's): with blur=1, about two thirds of the images get the background blurred and
// the labelled box kept pixel for pixel (AlexeyAB's box: left and width truncated to pixels, so up
// to 2 pixels at its right and bottom edges are blurred too); the rest are untouched, and the other
// augmentation is the same as with blur off (same seed). With blur=5, a third blur the box too.
TEST(DetectionData, BlurSmoothsTheBackgroundAndKeepsTheBoxSharp) {
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels");
    Image im(64, 64, 3);
    std::mt19937_64 g(2);
    std::uniform_real_distribution<float> u(0, 1);
    for (float& v : im.data) v = u(g);  // noise everywhere: blurring shows
    save_image(im, dir + "/images/a.png");
    write_text(dir + "/labels/a.txt", "0 0.5 0.5 0.75 0.75\n");  // 48 x 48 px
    write_text(dir + "/list.txt", dir + "/images/a.png\n");
    DetectionSet s = load_detection_set(dir + "/list.txt", 1, true);
    const int W = 64, H = 64, M = 2;
    std::vector<float> X0(3 * W * H), X1(3 * W * H), T(5 * M);
    DetectorAugment aug;
    aug.jitter = 0.05f;
    const auto inside = [&](int x, int y) {
        return x >= (T[0] - T[2] / 2) * W + 1 && x < (T[0] + T[2] / 2) * W - 2 && y >= (T[1] - T[3] / 2) * H + 1 &&
               y < (T[1] + T[3] / 2) * H - 2;
    };
    for (int blur : {1, 5}) {
        SCOPED_TRACE(blur);
        int background = 0, whole = 0;
        const int n = 90;
        for (uint64_t seed = 0; seed < n; ++seed) {
            aug.blur = 0;
            load_detection_batch(s, {0}, W, H, 3, &aug, seed, M, X0.data(), T.data());
            aug.blur = blur;
            load_detection_batch(s, {0}, W, H, 3, &aug, seed, M, X1.data(), T.data());
            bool in_changed = false, out_changed = false;
            for (int k = 0; k < 3; ++k)
                for (int y = 0; y < H; ++y)
                    for (int x = 0; x < W; ++x) {
                        const size_t i = (static_cast<size_t>(k) * H + y) * W + x;
                        if (X0[i] == X1[i]) continue;
                        if (inside(x, y)) in_changed = true;
                        else out_changed = true;
                    }
            EXPECT_TRUE(!in_changed || out_changed) << "seed " << seed;
            background += out_changed && !in_changed;
            whole += in_changed;
        }
        if (blur == 1) {
            EXPECT_EQ(whole, 0);
            EXPECT_GT(background, n / 2);  // two thirds
            EXPECT_LT(background, n * 5 / 6);
        } else {
            EXPECT_GT(whole, n / 6);  // a third
            EXPECT_LT(whole, n / 2);
            EXPECT_GT(background, n / 6);
            EXPECT_LT(background, n / 2);
        }
    }
}

// mosaic=1: four images of one coloured box each (class q: its own colour). In every batch image
// each label's centre has its class's colour, every solid patch of a class's colour lies under a
// label of that class (no object loses its label, none is misplaced), and about half of the
// images are mosaics (labels of more than one image).
TEST(DetectionData, MosaicBoxesFollowTheirPixels) {
    const std::vector<std::array<float, 3>> colour = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};
    DetectionSet s = coloured_box_set(make_temp_dir(), {{8, 12, 40, 36}, {30, 5, 75, 25}, {2, 30, 20, 58}, {20, 20, 60, 50}},
                                      colour);
    const int W = 64, H = 48, M = 8;
    std::vector<float> X(3 * W * H), T(5 * M);
    DetectorAugment aug;
    aug.jitter = 0.3f;
    aug.mosaic = true;
    int mosaics = 0;
    const auto is = [&](int x, int y, int q) {
        if (x < 0 || y < 0 || x >= W || y >= H) return false;
        for (int k = 0; k < 3; ++k)
            if (std::abs(X[(k * H + y) * W + x] - colour[q][k]) > 0.1f) return false;
        return true;
    };
    for (uint64_t seed = 0; seed < 60; ++seed) {
        SCOPED_TRACE(seed);
        load_detection_batch(s, {static_cast<int>(seed % 4)}, W, H, 3, &aug, seed, M, X.data(), T.data());
        std::set<int> classes;
        for (int n = 0; n < M && T[5 * n + 2] > 0; ++n) {
            const float* t = &T[5 * n];
            classes.insert(static_cast<int>(t[4]));
            EXPECT_GE(t[0] - t[2] / 2, -1e-6f);
            EXPECT_LE(t[0] + t[2] / 2, 1 + 1e-6f);
            if (t[2] * W > 6 && t[3] * H > 6) {
                EXPECT_TRUE(is(static_cast<int>(t[0] * W), static_cast<int>(t[1] * H), static_cast<int>(t[4])))
                    << "label " << n << " of class " << t[4] << ": its centre is not its colour";
            }
        }
        mosaics += classes.size() > 1;
        for (int q = 0; q < 4; ++q)
            for (int y = 0; y < H; ++y)
                for (int x = 0; x < W; ++x) {
                    if (!(is(x, y, q) && is(x - 1, y, q) && is(x + 1, y, q) && is(x, y - 1, q) && is(x, y + 1, q))) continue;
                    bool labelled = false;
                    for (int n = 0; n < M && T[5 * n + 2] > 0 && !labelled; ++n) {
                        const float* t = &T[5 * n];
                        labelled = static_cast<int>(t[4]) == q && x + 0.5f >= (t[0] - t[2] / 2) * W - 1.5f &&
                                   x + 0.5f <= (t[0] + t[2] / 2) * W + 1.5f && y + 0.5f >= (t[1] - t[3] / 2) * H - 1.5f &&
                                   y + 0.5f <= (t[1] + t[3] / 2) * H + 1.5f;
                    }
                    ASSERT_TRUE(labelled) << "a solid patch of class " << q << " at (" << x << ", " << y << ") has no label";
                }
    }
    EXPECT_GT(mosaics, 12) << "of 60 images, about half should be mosaics";
    EXPECT_LT(mosaics, 48);
}

namespace {

// A small detection set: 96 train + 16 valid Fashion-MNIST canvases (scripts/make_fashion_detect.py),
// or without the dataset package / numpy, "" (the tests that need it skip).
std::string detect_set_dir() {
    static std::string dir = [] {
        if (!file_exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) return std::string();
        int rc = 0;
        run("/usr/bin/python3 -c 'import numpy'", &rc);
        if (rc != 0) return std::string();
        std::string d = make_temp_dir();
        std::string out = run("/usr/bin/python3 " + repo_root() + "/scripts/make_fashion_detect.py "
                              "/usr/share/datasets/fashion-mnist " + d + " --train 96 --valid 16 --size 64", &rc);
        if (rc != 0) {
            ADD_FAILURE() << out;
            return std::string();
        }
        return d;
    }();
    return dir;
}

// net_extra: more [net] lines
std::string tiny_yolo(int max_batches, int random, const char* net_extra = "") {
    return strfmt(
        "[net]\n%sbatch=16\nsubdivisions=2\nwidth=64\nheight=64\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
        "learning_rate=0.01\nburn_in=10\nmax_batches=%d\npolicy=constant\nresize_step=8\nsaturation=1.5\nexposure=1.5\nhue=.1\n"
        "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
        "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
        "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
        "[convolutional]\nfilters=45\nsize=1\nactivation=linear\n"
        "[yolo]\nmask=0,1,2\nanchors=8,14,16,16,24,30\nclasses=10\nnum=3\njitter=.1\nrandom=%d\n"
        "iou_loss=ciou\niou_normalizer=0.07\nignore_thresh=.7\n",
        net_extra, max_batches, random);
}

// tiny_yolo's network with a YOLOv2 head ([region]: anchors in grid cells, softmax classes,
// rescore, bias_match)
std::string tiny_region(int max_batches, int random, const char* net_extra = "") {
    std::string cfg = tiny_yolo(max_batches, random, net_extra);
    return cfg.substr(0, cfg.find("[yolo]")) +
           "[region]\nanchors=1,1.75,2,2,3,3.75\nclasses=10\nnum=3\nsoftmax=1\njitter=.1\nrescore=1\nbias_match=1\n"
           "object_scale=5\nnoobject_scale=1\nclass_scale=1\ncoord_scale=1\nthresh=.6\nrandom=" +
           std::to_string(random) + "\n";
}

// Trains `cfg` (60 iterations) as <dir>/<name>.cfg on the detection set with `flags`; EXPECTs
// the mean loss of the last 5 iterations under half that of the first 5. Returns the log.
std::string train_expecting_loss_to_halve(const std::string& data, const std::string& dir, const std::string& name,
                                          const std::string& cfg, const std::string& flags) {
    write_text(dir + "/" + name + ".cfg", cfg);
    int rc = 0;
    std::string log = run("cd " + dir + " && OMP_NUM_THREADS=2 " + darknet_bin() + " detector train " + data +
                              "/fashion-detect.data " + name + ".cfg -dont_show " + flags,
                          &rc);
    EXPECT_EQ(rc, 0) << log;
    std::vector<double> l = losses(log);
    EXPECT_EQ(l.size(), 60u) << log;
    if (l.size() < 60) return log;
    double first = 0, last = 0;
    for (int i = 0; i < 5; ++i) first += l[i] / 5, last += l[55 + i] / 5;
    EXPECT_LT(last, 0.5 * first) << "loss did not fall: first " << first << ", last " << last;
    return log;
}

// train_expecting_loss_to_halve, then `detector map` on the trained <name>_final.weights: it runs
// and prints the mAP line.
void train_and_map(const std::string& data, const std::string& dir, const std::string& name, const std::string& cfg) {
    train_expecting_loss_to_halve(data, dir, name, cfg, "");
    int rc = 0;
    const std::string out = run("cd " + dir + " && " + darknet_bin() + " detector map " + data + "/fashion-detect.data " +
                                    name + ".cfg backup/" + name + "_final.weights",
                                &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("mean average precision (mAP@0.50)"), std::string::npos) << out;
}

}  // namespace

// yolov4-csp.cfg's head (Scaled-YOLOv4: new_coords=1 after the last convolution's logistic,
// scale_x_y=2, objectness_smooth=1, max_delta=5, resize=1.5) trains with Adam: the loss falls and
// the trained model is scored by detector map.
TEST(DetectorTrain, ScaledYolov4HeadTrains) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    std::string cfg = tiny_yolo(60, 0, "adam=1\n");
    cfg.replace(cfg.find("filters=45\nsize=1\nactivation=linear\n"), 35, "filters=45\nsize=1\nactivation=logistic\n");
    cfg.replace(cfg.find("iou_loss=ciou\n"), 14,
                "iou_loss=ciou\nnew_coords=1\nscale_x_y=2\nobjectness_smooth=1\nmax_delta=5\nresize=1.5\n");
    train_and_map(data, dir, "nc", cfg);
}

// A YOLOv2 head ([region]: anchors in grid cells, softmax classes, rescore, bias_match) trains:
// the loss falls, and the trained model is scored by detector map.
TEST(DetectorTrain, RegionHeadTrains) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    train_and_map(data, dir, "v2", tiny_region(60, 0));
}

// A Gaussian YOLOv3 head ([Gaussian_yolo], BDD-style keys: giou, uc_normalizer) trains: the
// loss falls, and the trained model is scored by detector map.
TEST(DetectorTrain, GaussianYoloHeadTrains) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    std::string cfg = tiny_yolo(60, 0);
    cfg.replace(cfg.find("filters=45"), 10, "filters=57");
    cfg.replace(cfg.find("[yolo]"), 6, "[Gaussian_yolo]");
    cfg.replace(cfg.find("iou_loss=ciou"), 13, "iou_loss=giou\nuc_normalizer=1.0");
    train_and_map(data, dir, "gauss", cfg);
}

// A YOLOv1-style network ([local], [connected], [detection] with sqrt and rescore) trains: the
// loss falls, and the trained model is scored by detector map.
TEST(DetectorTrain, Yolov1HeadTrains) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    std::string cfg = tiny_yolo(60, 0);
    cfg = cfg.substr(0, cfg.find("[convolutional]\nfilters=45")) +
          "[local]\nfilters=8\nsize=3\npad=1\nactivation=leaky\n[connected]\noutput=320\nactivation=linear\n"
          "[detection]\nclasses=10\ncoords=4\nnum=2\nside=4\nsqrt=1\nrescore=1\njitter=.1\nobject_scale=1\n"
          "noobject_scale=.5\nclass_scale=1\ncoord_scale=5\n";
    train_and_map(data, dir, "v1", cfg);
}

// mixup=1 and blur=1 train a detector; with mosaic=1 mixup is not used, as in AlexeyAB's darknet,
// and the log says so, as it says that cutmix=1 is not implemented for detectors.
TEST(DetectorTrain, MixupAndBlurTrainAndMosaicReplacesMixup) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    for (const char* extra : {"mixup=1\nblur=1\n", "mixup=1\nmosaic=1\ncutmix=1\n"}) {
        SCOPED_TRACE(extra);
        write_text(dir + "/m.cfg", tiny_yolo(2, 0, extra));
        int rc = 0;
        const std::string log = run("cd " + dir + " && " + darknet_bin() + " detector train " + data +
                                        "/fashion-detect.data m.cfg -dont_show",
                                    &rc);
        ASSERT_EQ(rc, 0) << log;
        EXPECT_EQ(losses(log).size(), 2u) << log;
        const bool second = std::string(extra).find("mosaic") != std::string::npos;
        EXPECT_EQ(log.find("m.cfg:1: [net] mixup=1 is not used with mosaic=1") != std::string::npos, second) << log;
        // AlexeyAB's detectors do not take cutmix either ("isn't supported for Detector")
        EXPECT_EQ(log.find("m.cfg:1: [net] cutmix=1 is not implemented for detector training") != std::string::npos, second)
            << log;
    }
}

// -show_imgs writes every training image as the network gets it (2 passes of 8 here).
TEST(DetectorTrain, ShowImgsWritesTheAugmentedImages) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    write_text(dir + "/t.cfg", tiny_yolo(1, 0, "mosaic=1\n"));
    int rc = 0;
    const std::string log = run("cd " + dir + " && " + darknet_bin() + " detector train " + data +
                                    "/fashion-detect.data t.cfg -dont_show -show_imgs",
                                &rc);
    ASSERT_EQ(rc, 0) << log;
    for (int pass = 0; pass < 2; ++pass)
        for (int i = 0; i < 8; ++i) {
            const std::string f = strfmt("%s/aug_1_%d_%d.jpg", dir.c_str(), pass, i);
            ASSERT_TRUE(file_exists(f)) << f << "\n" << log;
            int w = 0, h = 0;
            image_size(f, &w, &h);
            EXPECT_EQ(w, 64);
            EXPECT_EQ(h, 64);
        }
    EXPECT_FALSE(file_exists(dir + "/aug_1_2_0.jpg"));
}

TEST(DetectorTrain, LossFallsAndMapRuns) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    const std::string log = train_expecting_loss_to_halve(data, dir, "tiny-yolo", tiny_yolo(60, 1), "-map -eval_every 30");
    int rc = 0;
    EXPECT_NE(log.find("Resizing the network to"), std::string::npos) << "random=1 did not resize";
    EXPECT_NE(log.find("mAP@0.5 on 16 valid images"), std::string::npos) << log;
    EXPECT_TRUE(file_exists(dir + "/backup/tiny-yolo_best.weights"));
    EXPECT_TRUE(file_exists(dir + "/backup/tiny-yolo_final.weights"));
    std::string out = run("cd " + dir + " && " + darknet_bin() + " detector map " + data +
                              "/fashion-detect.data tiny-yolo.cfg backup/tiny-yolo_final.weights",
                          &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(std::regex_search(out, std::regex("class_id = 9, name = ankle boot, ap = [0-9.]+%"))) << out;
    // detector valid writes one file per class; scoring them gives the same mAP
    out = run("cd " + dir + " && " + darknet_bin() + " detector valid " + data +
                  "/fashion-detect.data tiny-yolo.cfg backup/tiny-yolo_final.weights && " + darknet_bin() +
                  " detector map " + data + "/fashion-detect.data -results results",
              &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(file_exists(dir + "/results/comp4_det_test_t-shirt.txt"));
    const double direct = number(run("cd " + dir + " && " + darknet_bin() + " detector map " + data +
                                     "/fashion-detect.data tiny-yolo.cfg backup/tiny-yolo_final.weights"),
                                 "\\(mAP@0.50\\) = ([0-9.]+)");
    EXPECT_NEAR(number(out, "\\(mAP@0.50\\) = ([0-9.]+)"), direct, 0.02) << out;
    // detector recall: a line per valid image with the running counts over the truth boxes of the
    // label files (counted here from the files)
    out = run("cd " + dir + " && " + darknet_bin() + " detector recall " + data +
                  "/fashion-detect.data tiny-yolo.cfg backup/tiny-yolo_final.weights",
              &rc);
    ASSERT_EQ(rc, 0) << out;
    auto lines = [](const std::string& path) {
        std::ifstream f(path);
        std::vector<std::string> out;
        for (std::string l; std::getline(f, l);)
            if (!l.empty()) out.push_back(l);
        return out;
    };
    int truths = 0;
    for (const std::string& image : lines(data + "/valid.txt")) truths += static_cast<int>(lines(label_path_for(image)).size());
    ASSERT_GT(truths, 16);
    const std::regex line("\\n *15 +([0-9]+) +([0-9]+)\\tRPs/Img: ([0-9.]+)\\tIOU: ([0-9.]+)%\\tRecall:([0-9.]+)%\\n");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, line)) << out;
    const int correct = std::stoi(m[1]), total = std::stoi(m[2]);
    EXPECT_EQ(total, truths);
    EXPECT_GT(correct, 0) << out;
    EXPECT_NEAR(std::stod(m[5]), 100.0 * correct / total, 0.006);
    EXPECT_GT(std::stod(m[3]), 0);
    EXPECT_GT(std::stod(m[4]), 0);
}

// `detector train -i 0` follows `-nogpu` from the same seed (the same images, mosaics,
// augmentations and multi-scale sizes): the device's convolutions, batchnorm and the [yolo] and
// [region] losses (computed on the host, as in Darknet) through 12 iterations, with a resize at
// iteration 10.
// Named for the GPU agreement suite, which `make test` also runs on the emulated device.
TEST(GpuAgreementNet, DetectorTrainFollowsTheCpu) {
    DN_REQUIRE_GPU();
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    // the [yolo] head, and the [region] head (its transform and class softmax on the device)
    for (const std::string& cfg : {tiny_yolo(12, 1, "mosaic=1\n"), tiny_region(12, 1)}) {
        SCOPED_TRACE(cfg.substr(cfg.rfind('[')));
        const std::string dir = make_temp_dir();
        write_text(dir + "/tiny.cfg", cfg);
        auto train = [&](const std::string& dev, const std::string& chart) {
            int rc = -1;
            const std::string log = run("cd " + dir + " && OMP_NUM_THREADS=2 " + darknet_path() + " " + dev +
                                            " detector train " + data + "/fashion-detect.data tiny.cfg -dont_show -seed 3 -chart " +
                                            chart,
                                        &rc);
            EXPECT_EQ(rc, 0) << log;
            EXPECT_NE(log.find("Resizing the network to"), std::string::npos) << "random=1 did not resize\n" << log;
            EXPECT_EQ(log.find("not implemented"), std::string::npos) << "mosaic=1 is implemented\n" << log;
            return losses(log);
        };
        const std::vector<double> cpu = train("-nogpu", "cpu.png"), gpu = train("-i 0", "gpu.png");
        expect_loss_curves_close(gpu, cpu, 12, 2e-3);
    }
}

// Training survives corrupt labels: they are reported (file:line) and skipped.
TEST(DetectorTrain, CorruptLabelsAreReportedNotLearned) {
    const std::string data = detect_set_dir();
    if (data.empty()) GTEST_SKIP() << "skipped: needs dataset-fashion-mnist and python3-numpy (scripts/setup.sh --train)";
    const std::string dir = make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels && cp " + data + "/images/train/00000[0-7].png " + dir +
        "/images/ && cp " + data + "/labels/train/00000[0-7].txt " + dir + "/labels/ && ls " + dir +
        "/images/*.png > " + dir + "/train.txt");
    write_text(dir + "/labels/000003.txt", "12 0.5 0.5 0.2 0.2\n4 0.5 0.5 0.2\n");
    write_text(dir + "/d.data", "classes=10\ntrain=" + dir + "/train.txt\nvalid=" + dir + "/train.txt\nbackup=" + dir +
                                    "/backup\n");
    write_text(dir + "/t.cfg", tiny_yolo(4, 0));
    int rc = 0;
    std::string log = run("cd " + dir + " && " + darknet_bin() + " detector train d.data t.cfg -dont_show", &rc);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("labels/000003.txt:1: class id 12 is not an integer in [0, classes=10)"), std::string::npos) << log;
    EXPECT_NE(log.find("labels/000003.txt:2: expected 5 columns"), std::string::npos) << log;
    EXPECT_EQ(losses(log).size(), 4u) << log;
    // the checkpoint (momentum trailer after the layers, then [yolo]) is a whole weights file
    log = run("cd " + dir + " && " + darknet_bin() + " detector map d.data t.cfg backup/t_last.weights", &rc);
    EXPECT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("mean average precision (mAP@0.50)"), std::string::npos) << log;
}

// Fine-tuning starts from `partial` weights: the first N layers of a pretrained model, seen = 0.
// And a pretrained model only loaded and saved detects exactly as before.
TEST(DetectorTrain, PartialAndLoadSaveKeepPretrainedDetections) {
    DN_REQUIRE_SHARED();
    const std::string dir = make_temp_dir(), m = model_dir();
    int rc = 0;
    std::string out = run(darknet_bin() + " partial " + m + "/yolo-fastest-1.1.cfg " + m + "/yolo-fastest-1.1.weights " +
                              dir + "/all.weights 1000",
                          &rc);
    ASSERT_EQ(rc, 0) << out;
    const std::string test = " detector test " + repo_root() + "/cfg/coco.data " + m + "/yolo-fastest-1.1.cfg ";
    const std::string img = " " + shared_dir() + "/images/dog.jpg -dont_show -ext_output";
    std::string before = run("cd " + dir + " && " + darknet_bin() + test + m + "/yolo-fastest-1.1.weights" + img, &rc);
    ASSERT_EQ(rc, 0) << before;
    std::string after = run("cd " + dir + " && " + darknet_bin() + test + dir + "/all.weights" + img, &rc);
    ASSERT_EQ(rc, 0) << after;
    auto strip = [](std::string s) { return std::regex_replace(s, std::regex("Predicted in [0-9.]+ milli-seconds"), ""); };
    auto dets = [&](const std::string& s) { return std::regex_replace(strip(s), std::regex("[^\\n]*weights[^\\n]*\\n"), ""); };
    EXPECT_EQ(dets(before), dets(after));
    EXPECT_NE(before.find("dog: "), std::string::npos) << before;
    // the header's seen is 0 and the body is the original's
    std::vector<char> a = read_bytes(m + "/yolo-fastest-1.1.weights"), b = read_bytes(dir + "/all.weights");
    ASSERT_EQ(a.size(), b.size());
    EXPECT_TRUE(std::equal(a.begin() + 20, a.end(), b.begin() + 20));
    uint64_t seen = 1;
    std::memcpy(&seen, b.data() + 12, 8);
    EXPECT_EQ(seen, 0u);
    // 10 layers: a shorter file that loads as a backbone
    out = run(darknet_bin() + " partial " + m + "/yolo-fastest-1.1.cfg " + m + "/yolo-fastest-1.1.weights " + dir +
                  "/head10.weights 10",
              &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_LT(read_bytes(dir + "/head10.weights").size(), a.size() / 10);
}
