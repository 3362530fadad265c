#include "darknet/map.hpp"

#include <algorithm>

#include "darknet/error.hpp"

namespace dn {

namespace {

struct Ranked {
    float prob;
    int image, cls;
    int truth;  ///< global index of the matched truth (IoU > thresh, same class), -1 if none
    float iou;
};

Box to_box(const BoxLabel& b) { return {b.x, b.y, b.w, b.h}; }

// Every (detection, class with prob > 0), in image order, with its best truth as Darknet assigns it.
std::vector<Ranked> collect(const std::vector<std::vector<Detection>>& dets, const std::vector<std::vector<BoxLabel>>& truths,
                            int classes, float iou_thresh, std::vector<int>& truth_offset) {
    std::vector<Ranked> out;
    truth_offset.assign(truths.size() + 1, 0);
    for (size_t i = 0; i < truths.size(); ++i) truth_offset[i + 1] = truth_offset[i] + static_cast<int>(truths[i].size());
    for (size_t i = 0; i < dets.size(); ++i)
        for (const Detection& d : dets[i])
            for (int c = 0; c < classes && c < static_cast<int>(d.prob.size()); ++c) {
                if (!(d.prob[c] > 0)) continue;
                Ranked r{d.prob[c], static_cast<int>(i), c, -1, 0.f};
                for (size_t j = 0; j < truths[i].size(); ++j) {
                    if (truths[i][j].cls != c) continue;
                    const float v = box_iou(d.bbox, to_box(truths[i][j]));
                    if (v > iou_thresh && v > r.iou) {
                        r.iou = v;
                        r.truth = truth_offset[i] + static_cast<int>(j);
                    }
                }
                out.push_back(r);
            }
    return out;
}

// AP of each class from the detections ranked by probability (Darknet's precision/recall walk).
std::vector<double> average_precisions(std::vector<Ranked> ranked, int classes, const std::vector<int>& truth_count,
                                       int total_truths, int points) {
    std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.prob > b.prob; });
    std::vector<char> taken(static_cast<size_t>(total_truths), 0);
    std::vector<std::vector<std::pair<double, double>>> pr(classes);  // (precision, recall) per rank of the class
    std::vector<int> tp(classes, 0), fp(classes, 0);
    for (const Ranked& r : ranked) {
        if (r.truth >= 0 && !taken[r.truth]) {
            taken[r.truth] = 1;
            ++tp[r.cls];
        } else {
            ++fp[r.cls];
        }
        const int t = tp[r.cls], f = fp[r.cls], fn = truth_count[r.cls] - t;
        pr[r.cls].push_back({t + f > 0 ? static_cast<double>(t) / (t + f) : 0.0, t + fn > 0 ? static_cast<double>(t) / (t + fn) : 0.0});
    }
    std::vector<double> ap(classes, 0.0);
    for (int c = 0; c < classes; ++c) {
        const auto& p = pr[c];
        if (p.empty()) continue;
        double a = 0;
        if (points == 0) {
            double last_recall = p.back().second, last_precision = p.back().first;
            for (int k = static_cast<int>(p.size()) - 2; k >= 0; --k) {
                a += (last_recall - p[k].second) * last_precision;
                last_recall = p[k].second;
                last_precision = std::max(last_precision, p[k].first);
            }
            a += last_recall * last_precision;  // the area left of the first rank's recall
        } else {
            for (int q = 0; q < points; ++q) {
                const double want = static_cast<double>(q) / (points - 1);
                double best = 0;
                for (const auto& [prec, rec] : p)
                    if (rec >= want) best = std::max(best, prec);
                a += best;
            }
            a /= points;
        }
        ap[c] = a;
    }
    return ap;
}

}  // namespace

MapResult compute_map(const std::vector<std::vector<Detection>>& dets, const std::vector<std::vector<BoxLabel>>& truths,
                      int classes, const MapOptions& opt) {
    if (dets.size() != truths.size()) fail("compute_map: %zu images of detections but %zu of labels", dets.size(), truths.size());
    MapResult r;
    r.classes.assign(classes, ClassAP{});
    std::vector<int> truth_count(classes, 0);
    for (const auto& ts : truths)
        for (const auto& t : ts)
            if (t.cls >= 0 && t.cls < classes) ++truth_count[t.cls];
    for (int c = 0; c < classes; ++c) r.classes[c].truths = truth_count[c];
    std::vector<int> offset;
    std::vector<Ranked> ranked = collect(dets, truths, classes, opt.iou_thresh, offset);
    r.detections_count = ranked.size();
    r.unique_truth_count = static_cast<size_t>(offset.back());

    // counts at the confidence threshold, in image order: a detection above thresh is a TP when it
    // matched a truth no earlier detection of the same image matched (Darknet's rule)
    double iou_sum = 0;
    for (size_t k = 0, image_start = 0; k < ranked.size(); ++k) {
        if (k > 0 && ranked[k].image != ranked[k - 1].image) image_start = k;
        const Ranked& d = ranked[k];
        if (!(d.prob > opt.thresh)) continue;
        bool found = false;
        for (size_t z = image_start; z < k && !found; ++z) found = ranked[z].truth == d.truth;
        if (d.truth >= 0 && !found) {
            iou_sum += d.iou;
            ++r.tp;
            ++r.classes[d.cls].tp;
        } else {
            ++r.fp;
            ++r.classes[d.cls].fp;
        }
    }
    r.fn = static_cast<int>(r.unique_truth_count) - r.tp;
    r.precision = r.tp + r.fp > 0 ? static_cast<double>(r.tp) / (r.tp + r.fp) : 0;
    r.recall = r.tp + r.fn > 0 ? static_cast<double>(r.tp) / (r.tp + r.fn) : 0;
    r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0;
    r.avg_iou = r.tp + r.fp > 0 ? iou_sum / (r.tp + r.fp) : 0;

    const std::vector<double> ap = average_precisions(ranked, classes, truth_count, offset.back(), opt.points);
    for (int c = 0; c < classes; ++c) {
        r.classes[c].ap = ap[c];
        r.map += ap[c] / classes;
    }
    if (opt.points == 101) {
        double sum = 0;
        for (int t = 0; t < 10; ++t) {
            const float thr = 0.5f + 0.05f * t;
            const std::vector<double> a = average_precisions(collect(dets, truths, classes, thr, offset), classes,
                                                             truth_count, offset.back(), 101);
            for (double v : a) sum += v / classes;
        }
        r.map_50_95 = sum / 10;
    }
    return r;
}

void print_map(FILE* out, const MapResult& r, const std::vector<std::string>& names, const MapOptions& opt) {
    std::fprintf(out, " detections_count = %zu, unique_truth_count = %zu  \n", r.detections_count, r.unique_truth_count);
    for (size_t c = 0; c < r.classes.size(); ++c)
        std::fprintf(out, "class_id = %zu, name = %s, ap = %2.2f%%   \t (TP = %d, FP = %d) \n", c,
                     c < names.size() ? names[c].c_str() : std::to_string(c).c_str(), r.classes[c].ap * 100,
                     r.classes[c].tp, r.classes[c].fp);
    std::fprintf(out, "\n for conf_thresh = %1.2f, precision = %1.2f, recall = %1.2f, F1-score = %1.2f \n", opt.thresh,
                 r.precision, r.recall, r.f1);
    std::fprintf(out, " for conf_thresh = %0.2f, TP = %d, FP = %d, FN = %d, average IoU = %2.2f %% \n", opt.thresh, r.tp,
                 r.fp, r.fn, r.avg_iou * 100);
    std::fprintf(out, "\n IoU threshold = %2.0f %%, ", opt.iou_thresh * 100);
    if (opt.points) std::fprintf(out, "used %d Recall-points \n", opt.points);
    else std::fprintf(out, "used Area-Under-Curve for each unique Recall \n");
    std::fprintf(out, " mean average precision (mAP@%0.2f) = %f, or %2.2f %% \n", opt.iou_thresh, r.map, r.map * 100);
    if (r.map_50_95 >= 0)
        std::fprintf(out, " mean average precision (mAP@0.50:0.95) = %f, or %2.2f %% \n", r.map_50_95, r.map_50_95 * 100);
}

void add_recall(RecallCounts& r, const std::vector<Detection>& dets, const std::vector<BoxLabel>& truths, float thresh,
                float iou_thresh) {
    ++r.images;
    for (const Detection& d : dets)
        if (d.objectness > thresh) ++r.proposals;
    for (const BoxLabel& t : truths) {
        ++r.total;
        float best = 0;
        for (const Detection& d : dets)
            if (d.objectness > thresh) best = std::max(best, box_iou(d.bbox, to_box(t)));
        r.iou_sum += best;
        if (best > iou_thresh) ++r.correct;
    }
}

}  // namespace dn
