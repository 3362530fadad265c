// Anchor boxes from a detection set's label sizes (`darknet detector calc_anchors`).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace dn {

/// A box size: width and height in pixels of the network input (label w * width, h * height).
struct BoxSize {
    double w = 0, h = 0;
};

/// IoU of two boxes of these sizes placed on a common corner (or center): the overlap of sizes,
/// min(w) * min(h) / (w_a h_a + w_b h_b - min(w) * min(h)). In [0, 1].
double size_iou(const BoxSize& a, const BoxSize& b);

/// The result of fit_anchors: k anchors sorted by area (smallest first, as [yolo] anchors= lists
/// them), the boxes assigned to each, and the mean over boxes of the best IoU with any anchor.
struct AnchorFit {
    std::vector<BoxSize> anchors;
    std::vector<int> members;  ///< boxes whose best anchor is anchors[j]
    double avg_iou = 0;        ///< mean over boxes of max_j size_iou(box, anchors[j]), in [0, 1]
    int iterations = 0;        ///< Lloyd iterations of the chosen restart
};

/// k-means of box sizes with the distance 1 - size_iou (Redmon & Farhadi 2017, "YOLO9000",
/// Sec. 2 "Dimension Clusters"): k-means++ seeding (Arthur & Vassilvitskii 2007) on that distance,
/// Lloyd iterations (each box to its highest-IoU anchor, ties to the lower index; each anchor to
/// the mean width and mean height of its boxes) until no box changes anchor (at most 1000); an
/// anchor left without boxes restarts at the box of lowest best IoU. Of `restarts` runs (seeded
/// from `seed`), the one with the highest avg_iou. The result depends only on the boxes, k,
/// restarts and seed (not on the thread count).
/// `on_restart`, when given, is called after each run with its index and (unsorted) fit.
/// Throws dn::Error when k < 1, restarts < 1, a size is not positive and finite, or the boxes have
/// fewer than k distinct sizes.
AnchorFit fit_anchors(const std::vector<BoxSize>& boxes, int k, int restarts = 10, uint64_t seed = 0,
                      const std::function<void(int, const AnchorFit&)>& on_restart = nullptr);

/// Mean over boxes of the best size_iou with any of `anchors` (the quality avg_iou reports, e.g.
/// for anchors rounded to whole pixels). Throws dn::Error when either list is empty.
double mean_best_iou(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors);

/// For each anchor, the number of boxes whose best size_iou is with it (ties to the lower index,
/// as fit_anchors assigns them; e.g. AnchorFit::members again for anchors rounded to whole pixels).
/// Throws dn::Error when either list is empty.
std::vector<int> best_anchor_counts(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors);

}  // namespace dn
