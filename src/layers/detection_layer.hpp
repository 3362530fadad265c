// [detection]: YOLOv1's detection head (pjreddie's detection_layer.c) and its loss.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "darknet/detection.hpp"
#include "darknet/layer.hpp"

namespace dn {

/// Input [N, side*side*((1 + coords)*num + classes)] (a [connected] layer's output, any shape),
/// laid out as pjreddie's: the class scores [side*side][classes], the objectness [side*side][num],
/// then the boxes [side*side][num][4] (x, y: offsets in the cell; w, h: relative to the image, or
/// their square roots with sqrt=1). With softmax=1 the class scores get a softmax per cell and
/// the rest the logistic; otherwise the outputs are the inputs (yolov1.cfg).
/// Keys (Darknet's): classes (1), coords (4; nothing else is supported), num (1), side (7),
/// softmax (0), sqrt (0), rescore (0), forced (0), jitter (.2), random (0), object_scale,
/// noobject_scale, class_scale, coord_scale (1 each), max (90 boxes per image); reorg is an error.
/// Labels (net.truth) per image: `max` boxes of (x, y, w, h, class) relative to the image; the
/// first box whose center falls in a cell is that cell's object (Darknet's fill_truth_region).
/// Detections (Darknet's get_detection_detections): every cell's `num` boxes, objectness o, class
/// probabilities o * p_c above the threshold. The loss (docs/math.md, "YOLOv1 loss") runs on the
/// host, on the GPU too (the default host round trip, as Darknet's forward_detection_layer_gpu).
template <class T>
class DetectionLayer : public Layer<T> {
public:
    explicit DetectionLayer(const BuildContext<T>& b);
    const char* type() const override { return "detection"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    size_t truth_size() const override { return static_cast<size_t>(max_boxes) * 5; }
    void random_truth(std::mt19937_64& rng, T* truth) const override;
    /// With rescore=1 the objectness targets (IoUs of the predicted boxes) are constants of the
    /// loss (a stop-gradient); while frozen, forward passes reuse the last ones.
    void freeze_randomness(bool on) override {
        frozen_ = on;
        if (!on) rescore_targets_.clear();
    }
    void get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                        std::vector<Detection>& out, int b = 0) const override;
    bool head_augment(HeadAugment* a) const override {
        a->jitter = jitter, a->random = random;
        return true;
    }
    bool detection_head(int* n_classes, NmsKind* kind, float* beta) const override {
        *n_classes = classes;
        *kind = NmsKind::Default;
        *beta = 0.6f;
        return true;
    }
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;

    int classes = 1, num = 1, side = 7, max_boxes = 90, random = 0;
    bool softmax = false, sqrt_wh = false, rescore = false, forced = false;
    float jitter = 0.2f, object_scale = 1, noobject_scale = 1, class_scale = 1, coord_scale = 1;

    /// Offsets within one image's outputs.
    size_t class_index(int cell) const { return static_cast<size_t>(cell) * classes; }
    size_t obj_index(int cell, int n) const { return static_cast<size_t>(side) * side * classes + cell * num + n; }
    size_t box_index(int cell, int n) const {
        return static_cast<size_t>(side) * side * (classes + num) + (static_cast<size_t>(cell) * num + n) * 4;
    }

private:
    /// The loss of a training pass with labels: sets this->cost and writes dL/dy into loss_grad_.
    void loss(const Network<T>& net);
    std::vector<T> loss_grad_;  ///< dL/d(output) of the loss of the last training pass
    bool loss_mode_ = false;
    bool frozen_ = false;
    std::vector<double> rescore_targets_;  ///< rescore: each responsible box's target, last pass
};

}  // namespace dn
