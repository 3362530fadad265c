// [region]: the YOLOv2 detection head (pjreddie's and AlexeyAB's semantics) and its loss.
#pragma once

#include <random>
#include <vector>

#include "darknet/detection.hpp"
#include "darknet/layer.hpp"
#include "kernels/yolo_transform.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Input [N, num*(coords+1+classes), H, W]. Per anchor slot: x, y (logistic), w, h (raw; box size
/// = exp(t) * anchor / grid size: anchors are in grid cells, not pixels as in [yolo]), objectness
/// (logistic) and class scores (softmax over the classes with softmax=1, raw otherwise).
/// Detections (Darknet's get_region_detections + correct_region_boxes): objectness above thresh,
/// class probability objectness * class score above thresh.
/// Keys: classes (20), coords (4), num (1), anchors (num w,h pairs; 0.5 each by default), softmax
/// (0), and the training keys of pjreddie's region loss (docs/math.md): jitter (.2), random (0),
/// thresh (.5), rescore (0), bias_match (0), object_scale, noobject_scale, class_scale,
/// coord_scale (1 each), max (30 boxes per image). absolute is read and has no effect, as in
/// Darknet. softmax_tree/tree, map and background are errors.
/// Labels (net.truth) per image: `max` boxes of (x, y, w, h, class) relative to the image; a box
/// with w <= 0 ends the list.
template <class T>
class RegionLayer : public Layer<T> {
public:
    explicit RegionLayer(const BuildContext<T>& b);
    const char* type() const override { return "region"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    /// On a GPU the transform and its backward run on the device; a training pass's loss is
    /// computed on the host from the pulled logits and outputs, as Darknet does, and its gradient
    /// pushed back.
    DN_GPU_LAYER_DECLS
    size_t truth_size() const override { return static_cast<size_t>(max_boxes) * 5; }
    void random_truth(std::mt19937_64& rng, T* truth) const override;
    /// With rescore=1 the objectness targets (IoUs of the predicted boxes) are constants of the
    /// loss (a stop-gradient); while frozen, forward passes reuse the last ones, so that a
    /// finite-difference check sees the function whose gradient backward() gives.
    void freeze_randomness(bool on) override {
        frozen_ = on;
        if (!on) rescore_targets_.clear();
    }
    void get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                        std::vector<Detection>& out, int b = 0) const override;
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
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

    /// Offset of entry `entry` (0..coords+classes) of anchor slot n at cell loc, image b.
    size_t entry_index(int b, int n, int loc, int entry) const {
        return static_cast<size_t>(b) * this->outputs() +
               static_cast<size_t>(n) * this->w * this->h * (coords + 1 + classes) +
               static_cast<size_t>(entry) * this->w * this->h + loc;
    }

    int classes = 20, coords = 4, num = 1;
    bool softmax = false;
    std::vector<float> anchors;  ///< 2*num values (w, h) in grid cells
    // training keys (pjreddie's parse_region defaults)
    float jitter = 0.2f, thresh = 0.5f;
    float object_scale = 1, noobject_scale = 1, class_scale = 1, coord_scale = 1;
    int random = 0, max_boxes = 30;
    bool rescore = false, bias_match = false;

private:
    /// The region loss of a training pass with labels (docs/math.md): sets this->cost and writes
    /// dL/d(input) into loss_grad_.
    void loss(const Network<T>& net);
    /// The output transform (kernels/yolo_transform.hpp) at the current size.
    YoloTransform transform() const {
        return YoloTransform::region(this->w * this->h, coords + 1 + classes, softmax);
    }
    std::vector<T> loss_grad_;  ///< dL/d(layer input) from the loss of the last training pass
    DeviceBuffer<T> loss_grad_gpu_;
    bool loss_mode_ = false;
    bool frozen_ = false;
    std::vector<double> rescore_targets_;  ///< rescore: each responsible slot's target, last pass
};

}  // namespace dn
