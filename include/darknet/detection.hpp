// Boxes, detections and non-maximum suppression, with Darknet's definitions.
#pragma once

#include <string>
#include <vector>

namespace dn {

/// A box by its center and size, relative to the image (0..1) unless stated otherwise.
struct Box {
    float x = 0, y = 0, w = 0, h = 0;
};

/// One candidate detection: a box, its objectness, and per-class probability
/// (objectness * class probability, zeroed where not above the threshold, as in Darknet).
struct Detection {
    Box bbox;
    float objectness = 0;
    std::vector<float> prob;
};

/// The detection heads' class probabilities (Darknet's get_*_detections): sets d.objectness and
/// d.prob[j] = objectness * scores[j * stride] * scale where that exceeds thresh, else 0
/// (scale: [Gaussian_yolo]'s certainty, 1 elsewhere).
template <class T>
void set_class_probs(Detection& d, float objectness, const T* scores, size_t stride, int classes, float thresh,
                     float scale = 1) {
    d.objectness = objectness;
    d.prob.resize(static_cast<size_t>(classes));
    for (int j = 0; j < classes; ++j) {
        const float prob = objectness * static_cast<float>(scores[static_cast<size_t>(j) * stride]) * scale;
        d.prob[j] = prob > thresh ? prob : 0.f;
    }
}

/// How [yolo] `nms_kind` suppresses overlapping boxes.
enum class NmsKind {
    Default,  ///< plain IoU > thresh ("default")
    Greedy,   ///< DIoU: IoU - (d^2/c^2)^beta_nms > thresh ("greedynms"; AlexeyAB fixes beta at 0.6)
    Diou,     ///< same DIoU criterion ("diounms")
};

/// Parses "default", "greedynms", "diounms"; throws dn::Error otherwise.
NmsKind parse_nms_kind(const std::string& s);

/// Darknet's correct_yolo_boxes / correct_region_boxes: maps a box relative to the network input
/// to one relative to the im_w x im_h image, undoing the letterbox placement when `letterbox`
/// (the same float expressions as Darknet).
class BoxCorrection {
public:
    BoxCorrection(int im_w, int im_h, int net_w, int net_h, bool letterbox);
    void apply(Box& b) const;

private:
    int net_w_, net_h_;
    float deltaw_, deltah_, ratiow_, ratioh_;
};

float box_iou(const Box& a, const Box& b);
/// IoU - (d^2 / c^2)^beta, d = center distance, c = diagonal of the enclosing box
/// (Zheng et al. 2020, "Distance-IoU Loss", eq. 6, with Darknet's exponent beta).
float box_diou(const Box& a, const Box& b, float beta);

/// Darknet's per-class NMS (do_nms_sort / diounms_sort): drops detections with zero objectness,
/// then for each class sorts by that class's probability and zeroes the probability of every
/// later box that overlaps an earlier kept one by more than `thresh`.
void nms_sort(std::vector<Detection>& dets, int classes, float thresh, NmsKind kind, float beta);

/// Darknet's class-agnostic NMS by objectness (do_nms_obj, used by `detector recall`): drops
/// detections with zero objectness, sorts the rest by objectness (highest first), and zeroes the
/// objectness and every class probability of each box that overlaps a higher-ranked kept box by
/// IoU > thresh.
void nms_obj(std::vector<Detection>& dets, float thresh);

}  // namespace dn
