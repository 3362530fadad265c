#include "darknet/detection.hpp"

#include <algorithm>
#include <cmath>

#include "darknet/error.hpp"

namespace dn {

NmsKind parse_nms_kind(const std::string& s) {
    if (s == "default") return NmsKind::Default;
    if (s == "greedynms") return NmsKind::Greedy;
    if (s == "diounms") return NmsKind::Diou;
    fail("unknown nms_kind '%s' (expected default, greedynms or diounms)", s.c_str());
}

namespace {
float overlap(float x1, float w1, float x2, float w2) {
    float left = std::max(x1 - w1 / 2, x2 - w2 / 2);
    float right = std::min(x1 + w1 / 2, x2 + w2 / 2);
    return right - left;
}
}  // namespace

BoxCorrection::BoxCorrection(int im_w, int im_h, int net_w, int net_h, bool letterbox) : net_w_(net_w), net_h_(net_h) {
    float new_w = static_cast<float>(net_w), new_h = static_cast<float>(net_h);
    if (letterbox) {
        if (static_cast<float>(net_w) / im_w < static_cast<float>(net_h) / im_h)
            new_h = static_cast<float>((im_h * net_w) / im_w);
        else
            new_w = static_cast<float>((im_w * net_h) / im_h);
    }
    deltaw_ = net_w - new_w, deltah_ = net_h - new_h;
    ratiow_ = new_w / net_w, ratioh_ = new_h / net_h;
}

void BoxCorrection::apply(Box& b) const {
    b.x = static_cast<float>((b.x - deltaw_ / 2. / net_w_) / ratiow_);
    b.y = static_cast<float>((b.y - deltah_ / 2. / net_h_) / ratioh_);
    b.w *= 1 / ratiow_;
    b.h *= 1 / ratioh_;
}

float box_iou(const Box& a, const Box& b) {
    float w = overlap(a.x, a.w, b.x, b.w);
    float h = overlap(a.y, a.h, b.y, b.h);
    if (w <= 0 || h <= 0) return 0;
    float inter = w * h;
    return inter / (a.w * a.h + b.w * b.h - inter);
}

float box_diou(const Box& a, const Box& b, float beta) {
    float top = std::min(a.y - a.h / 2, b.y - b.h / 2);
    float bot = std::max(a.y + a.h / 2, b.y + b.h / 2);
    float left = std::min(a.x - a.w / 2, b.x - b.w / 2);
    float right = std::max(a.x + a.w / 2, b.x + b.w / 2);
    float cw = right - left, ch = bot - top;
    float c = cw * cw + ch * ch;
    float iou = box_iou(a, b);
    if (c == 0) return iou;
    float d = (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y);
    return iou - std::pow(d / c, beta);
}

void nms_sort(std::vector<Detection>& dets, int classes, float thresh, NmsKind kind, float beta) {
    // Darknet moves zero-objectness detections to the end and ignores them.
    std::stable_partition(dets.begin(), dets.end(), [](const Detection& d) { return d.objectness != 0; });
    size_t total = 0;
    while (total < dets.size() && dets[total].objectness != 0) ++total;
    std::vector<Detection*> order(total);
    for (size_t i = 0; i < total; ++i) order[i] = &dets[i];
    for (int k = 0; k < classes; ++k) {
        std::stable_sort(order.begin(), order.end(),
                         [k](const Detection* a, const Detection* b) { return a->prob[k] > b->prob[k]; });
        for (size_t i = 0; i < total; ++i) {
            if (order[i]->prob[k] == 0) continue;
            const Box& a = order[i]->bbox;
            for (size_t j = i + 1; j < total; ++j) {
                const Box& b = order[j]->bbox;
                float overlap_score = kind == NmsKind::Default ? box_iou(a, b) : box_diou(a, b, beta);
                if (overlap_score > thresh) order[j]->prob[k] = 0;
            }
        }
    }
}

void nms_obj(std::vector<Detection>& dets, float thresh) {
    dets.erase(std::remove_if(dets.begin(), dets.end(), [](const Detection& d) { return d.objectness == 0; }),
               dets.end());
    std::stable_sort(dets.begin(), dets.end(),
                     [](const Detection& a, const Detection& b) { return a.objectness > b.objectness; });
    for (size_t i = 0; i < dets.size(); ++i) {
        if (dets[i].objectness == 0) continue;
        for (size_t j = i + 1; j < dets.size(); ++j) {
            if (dets[j].objectness == 0 || !(box_iou(dets[i].bbox, dets[j].bbox) > thresh)) continue;
            dets[j].objectness = 0;
            std::fill(dets[j].prob.begin(), dets[j].prob.end(), 0.f);
        }
    }
}

}  // namespace dn
