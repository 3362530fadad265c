// The labels of the detection heads' losses ([yolo], [region]): per image `max_boxes` boxes of
// (x, y, w, h, class), relative to the image; a box with w <= 0 or h <= 0 ends the list.
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "darknet/error.hpp"

namespace dn {

struct TruthBox {
    double x, y, w, h;  ///< center and size, relative to the image
    int cls;
};

/// The boxes of one image's labels `tr` (max_boxes * 5 values). Error (naming `where`): a class
/// outside [0, classes).
template <class T>
std::vector<TruthBox> read_truths(const T* tr, int max_boxes, int classes, const std::string& where) {
    std::vector<TruthBox> truths;
    for (int k = 0; k < max_boxes; ++k) {
        const T* t = tr + 5 * k;
        if (!(t[2] > 0 && t[3] > 0)) break;
        const int c = static_cast<int>(t[4]);
        if (c < 0 || c >= classes) fail("%s: label class %d is outside [0, classes=%d)", where.c_str(), c, classes);
        truths.push_back({static_cast<double>(t[0]), static_cast<double>(t[1]), static_cast<double>(t[2]),
                          static_cast<double>(t[3]), c});
    }
    return truths;
}

/// Random labels for gradient checks: 1-4 boxes (at most max_boxes) of random classes inside the
/// image, the rest of the max_boxes * 5 values 0.
template <class T>
void random_truths(std::mt19937_64& rng, int classes, int max_boxes, T* truth) {
    std::uniform_real_distribution<double> pos(0.1, 0.9), size(0.08, 0.6);
    std::uniform_int_distribution<int> cls(0, classes - 1), count(1, std::min(4, max_boxes));
    std::fill(truth, truth + static_cast<size_t>(max_boxes) * 5, T(0));
    const int n = count(rng);
    for (int k = 0; k < n; ++k) {
        truth[5 * k] = static_cast<T>(pos(rng));
        truth[5 * k + 1] = static_cast<T>(pos(rng));
        truth[5 * k + 2] = static_cast<T>(size(rng));
        truth[5 * k + 3] = static_cast<T>(size(rng));
        truth[5 * k + 4] = static_cast<T>(cls(rng));
    }
}

/// IoU of two boxes given by center and size (0 when they do not overlap).
inline double iou_xywh(double ax, double ay, double aw, double ah, double bx, double by, double bw, double bh) {
    const double w = std::min(ax + aw / 2, bx + bw / 2) - std::max(ax - aw / 2, bx - bw / 2);
    const double h = std::min(ay + ah / 2, by + bh / 2) - std::max(ay - ah / 2, by - bh / 2);
    if (w <= 0 || h <= 0) return 0;
    return w * h / (aw * ah + bw * bh - w * h);
}

}  // namespace dn
