// [region]: the YOLOv2 detection head (pjreddie's and AlexeyAB's semantics), for inference.
#pragma once

#include <vector>

#include "darknet/detection.hpp"
#include "darknet/layer.hpp"

namespace dn {

/// Input [N, num*(coords+1+classes), H, W]. Per anchor slot: x, y (logistic), w, h (raw; box size
/// = exp(t) * anchor / grid size: anchors are in grid cells, not pixels as in [yolo]), objectness
/// (logistic) and class scores (softmax over the classes with softmax=1, raw otherwise).
/// Detections (Darknet's get_region_detections + correct_region_boxes): objectness above thresh,
/// class probability objectness * class score above thresh.
/// Keys: classes (20), coords (4), num (1), anchors (num w,h pairs; 0.5 each by default), softmax
/// (0); the training keys are read (jitter, rescore, thresh, random, bias_match, absolute,
/// object_scale, noobject_scale, class_scale, coord_scale, max) but training the head is an error
/// (not implemented: use a [yolo] head). softmax_tree/tree, map and background are errors.
template <class T>
class RegionLayer : public Layer<T> {
public:
    explicit RegionLayer(const BuildContext<T>& b);
    const char* type() const override { return "region"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    void get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                        std::vector<Detection>& out, int b = 0) const override;
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    bool detection_head(int* n_classes, NmsKind* kind, float* beta) const override {
        *n_classes = classes;
        *kind = NmsKind::Default;
        *beta = 0.6f;
        return true;
    }

    /// Offset of entry `entry` (0..coords+classes) of anchor slot n at cell loc, image b.
    size_t entry_index(int b, int n, int loc, int entry) const {
        return static_cast<size_t>(b) * this->outputs() +
               static_cast<size_t>(n) * this->w * this->h * (coords + 1 + classes) +
               static_cast<size_t>(entry) * this->w * this->h + loc;
    }

    int classes = 20, coords = 4, num = 1;
    bool softmax = false;
    std::vector<float> anchors;  ///< 2*num values (w, h) in grid cells
};

}  // namespace dn
