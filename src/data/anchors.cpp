#include "darknet/anchors.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <utility>

#include "darknet/error.hpp"

namespace dn {

double size_iou(const BoxSize& a, const BoxSize& b) {
    const double i = std::min(a.w, b.w) * std::min(a.h, b.h);
    return i / (a.w * a.h + b.w * b.h - i);
}

namespace {

// k-means++ seeding with D(x) = 1 - IoU(x, nearest chosen anchor): the first anchor a uniform box,
// each next one a box drawn with probability proportional to D^2.
std::vector<BoxSize> seed_anchors(const std::vector<BoxSize>& boxes, int k, std::mt19937_64& g) {
    const size_t n = boxes.size();
    std::vector<BoxSize> a;
    a.push_back(boxes[std::uniform_int_distribution<size_t>(0, n - 1)(g)]);
    std::vector<double> d2(n);
    for (size_t i = 0; i < n; ++i) d2[i] = std::pow(1 - size_iou(boxes[i], a[0]), 2);
    while (static_cast<int>(a.size()) < k) {
        double total = 0;
        for (double v : d2) total += v;
        size_t pick = 0;
        if (total > 0) {
            double r = std::uniform_real_distribution<double>(0, total)(g);
            while (pick + 1 < n && (r -= d2[pick]) >= 0) ++pick;
            while (d2[pick] == 0) --pick;  // r fell past the last box with D > 0 by rounding
        }
        a.push_back(boxes[pick]);
        for (size_t i = 0; i < n; ++i) d2[i] = std::min(d2[i], std::pow(1 - size_iou(boxes[i], a.back()), 2));
    }
    return a;
}

// The boxes as arrays (width, height, area) for the assignment loop.
struct Boxes {
    std::vector<double> w, h, area;
    explicit Boxes(const std::vector<BoxSize>& b) {
        for (const BoxSize& x : b) {
            w.push_back(x.w);
            h.push_back(x.h);
            area.push_back(x.w * x.h);
        }
    }
};

// For every box the anchor of highest IoU (ties: the lower index) and that IoU. Blocks of boxes
// take the anchors in turn, vectorized over the boxes; the running best is kept as the fraction
// intersection / union and compared by cross-multiplication, so the only division is the last.
// Each anchor's step reads one set of arrays and writes the other (a select, then a plain store:
// updating in place compiled to masked stores and reloads, and the whole fit took 1.9x as long).
void assign_boxes(const Boxes& b, const std::vector<BoxSize>& anchors, int* idx, double* best) {
    const int n = static_cast<int>(b.w.size()), k = static_cast<int>(anchors.size());
    constexpr int kBlock = 256;
#pragma omp parallel for schedule(static) if (static_cast<long>(n) * k > 100000)
    for (int i0 = 0; i0 < n; i0 += kBlock) {
        const int m = std::min(kBlock, n - i0);
        const double *w = b.w.data() + i0, *h = b.h.data() + i0, *area = b.area.data() + i0;
        // intersection, union and anchor index (a double, so that every array has the same lanes)
        double buf[2][3][kBlock];
        for (int i = 0; i < m; ++i) buf[0][0][i] = -1, buf[0][1][i] = 1, buf[0][2][i] = 0;  // IoU >= 0 beats -1/1
        for (int j = 0; j < k; ++j) {
            const double aw = anchors[j].w, ah = anchors[j].h, aa = aw * ah, jd = j;
            const double *__restrict bi = buf[j & 1][0], *__restrict bu = buf[j & 1][1], *__restrict bj = buf[j & 1][2];
            double *__restrict ni = buf[~j & 1][0], *__restrict nu = buf[~j & 1][1], *__restrict nj = buf[~j & 1][2];
#pragma omp simd
            for (int i = 0; i < m; ++i) {
                const double oi = bi[i], ou = bu[i], oj = bj[i];
                const double inter = std::min(w[i], aw) * std::min(h[i], ah), uni = area[i] + aa - inter;
                const bool better = inter * ou > oi * uni;
                ni[i] = better ? inter : oi;
                nu[i] = better ? uni : ou;
                nj[i] = better ? jd : oj;
            }
        }
        const double(&r)[3][kBlock] = buf[k & 1];
        for (int i = 0; i < m; ++i) {
            idx[i0 + i] = static_cast<int>(r[2][i]);
            best[i0 + i] = r[0][i] / r[1][i];
        }
    }
}

// Lloyd iterations from `anchors`; returns the fit (unsorted) of this run.
AnchorFit lloyd(const Boxes& boxes, std::vector<BoxSize> anchors) {
    const int n = static_cast<int>(boxes.w.size()), k = static_cast<int>(anchors.size());
    std::vector<int> assign(n, -1), next(n);
    std::vector<double> iou(n);
    AnchorFit f;
    for (f.iterations = 1; f.iterations <= 1000; ++f.iterations) {
        assign_boxes(boxes, anchors, next.data(), iou.data());
        if (next == assign) break;
        assign.swap(next);
        std::vector<double> sw(k, 0), sh(k, 0);
        std::vector<int> cnt(k, 0);
        for (int i = 0; i < n; ++i) {
            sw[assign[i]] += boxes.w[i];
            sh[assign[i]] += boxes.h[i];
            ++cnt[assign[i]];
        }
        for (int j = 0; j < k; ++j) {
            if (cnt[j] > 0) {
                anchors[j] = {sw[j] / cnt[j], sh[j] / cnt[j]};
                continue;
            }
            // an empty anchor moves to the box its anchor fits worst; that box is then taken
            const int worst = static_cast<int>(std::min_element(iou.begin(), iou.end()) - iou.begin());
            anchors[j] = {boxes.w[worst], boxes.h[worst]};
            iou[worst] = 1;
            assign[worst] = -1;  // forces another iteration
        }
    }
    f.iterations = std::min(f.iterations, 1000);
    assign_boxes(boxes, anchors, next.data(), iou.data());
    f.anchors = anchors;
    f.members.assign(k, 0);
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        ++f.members[next[i]];
        sum += iou[i];
    }
    f.avg_iou = sum / n;
    return f;
}

}  // namespace

double mean_best_iou(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors) {
    if (boxes.empty() || anchors.empty()) fail("mean_best_iou: needs at least one box and one anchor");
    std::vector<int> idx(boxes.size());
    std::vector<double> iou(boxes.size());
    assign_boxes(Boxes(boxes), anchors, idx.data(), iou.data());
    double sum = 0;
    for (double v : iou) sum += v;
    return sum / static_cast<double>(boxes.size());
}

std::vector<int> best_anchor_counts(const std::vector<BoxSize>& boxes, const std::vector<BoxSize>& anchors) {
    if (boxes.empty() || anchors.empty()) fail("best_anchor_counts: needs at least one box and one anchor");
    std::vector<int> idx(boxes.size());
    std::vector<double> iou(boxes.size());
    assign_boxes(Boxes(boxes), anchors, idx.data(), iou.data());
    std::vector<int> counts(anchors.size(), 0);
    for (int j : idx) ++counts[j];
    return counts;
}

AnchorFit fit_anchors(const std::vector<BoxSize>& boxes, int k, int restarts, uint64_t seed,
                      const std::function<void(int, const AnchorFit&)>& on_restart) {
    if (k < 1) fail("the number of anchors (clusters) must be at least 1, not %d", k);
    if (restarts < 1) fail("k-means needs at least 1 restart, not %d", restarts);
    std::set<std::pair<double, double>> distinct;
    for (size_t i = 0; i < boxes.size(); ++i) {
        const BoxSize& b = boxes[i];
        if (!(b.w > 0 && b.h > 0 && std::isfinite(b.w) && std::isfinite(b.h)))
            fail("box %zu has size %g x %g; sizes must be positive and finite", i, b.w, b.h);
        if (static_cast<int>(distinct.size()) < k) distinct.insert({b.w, b.h});
    }
    if (static_cast<int>(distinct.size()) < k)
        fail("%zu boxes with %zu distinct sizes cannot make %d anchors", boxes.size(), distinct.size(), k);
    const Boxes soa(boxes);
    AnchorFit best;
    best.avg_iou = -1;
    for (int r = 0; r < restarts; ++r) {
        std::mt19937_64 g(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(r) + 1);
        AnchorFit f = lloyd(soa, seed_anchors(boxes, k, g));
        if (on_restart) on_restart(r, f);
        if (f.avg_iou > best.avg_iou) best = std::move(f);
    }
    // by area, as [yolo] anchors= lists them (the smallest go to the finest grid)
    std::vector<int> order(k);
    for (int j = 0; j < k; ++j) order[j] = j;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        const double sa = best.anchors[a].w * best.anchors[a].h, sb = best.anchors[b].w * best.anchors[b].h;
        return sa != sb ? sa < sb : best.anchors[a].w < best.anchors[b].w;
    });
    AnchorFit sorted = best;
    for (int j = 0; j < k; ++j) {
        sorted.anchors[j] = best.anchors[order[j]];
        sorted.members[j] = best.members[order[j]];
    }
    return sorted;
}

}  // namespace dn
