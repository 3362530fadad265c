// [yolo]: YOLOv3/v4 detection head (AlexeyAB's semantics).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "darknet/detection.hpp"
#include "darknet/layer.hpp"
#include "kernels/yolo_transform.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

enum class IouLoss { Mse, Iou, Giou, Diou, Ciou };

/// Input [N, masks*(5+classes), H, W] from the previous convolution. Per anchor slot: x, y
/// (logistic, then scale_x_y: x*s - (s-1)/2), w, h (raw; box size = exp(t) * anchor / net size),
/// objectness and class scores (logistic). With new_coords=1 the layer applies no logistic
/// (the convolution did) and w = 4 t^2 anchor.
/// Keys: mask, anchors, classes, num, scale_x_y, new_coords, nms_kind, beta_nms, and the training
/// keys (jitter, ignore_thresh, truth_thresh, random, iou_thresh, cls_normalizer, iou_normalizer,
/// obj_normalizer, iou_loss, max, label_smooth_eps, max_delta, objectness_smooth, resize,
/// counters_per_class, focal_loss).
/// Labels (net.truth) per image: `max` boxes of (x, y, w, h, class), relative to the image; a box
/// with w <= 0 ends the list.
///
/// With `gaussian` this is AlexeyAB's [Gaussian_yolo] (Gaussian YOLOv3, Choi et al., ICCV 2019):
/// per anchor slot x, sigma_x, y, sigma_y, w, sigma_w, h, sigma_h, objectness, classes (9 +
/// classes channels), every sigma logistic; a detection's class scores are multiplied by one
/// minus the mean of its four sigmas; the loss adds the sigmas' Gaussian negative log-likelihood
/// (docs/math.md, "Gaussian YOLO loss"). Keys as [yolo]'s plus uc_normalizer; objectness is
/// weighted by cls_normalizer and the class terms by 1, as in AlexeyAB's; new_coords,
/// objectness_smooth, focal_loss, max_delta and yolo_point other than center are errors.
template <class T>
class YoloLayer : public Layer<T> {
public:
    explicit YoloLayer(const BuildContext<T>& b, bool gaussian_layout = false);
    const char* type() const override { return gaussian ? "Gaussian_yolo" : "yolo"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    /// On a GPU the transform (and its backward) runs on the device; a training pass's loss is
    /// computed on the host from the pulled logits and outputs, as Darknet does, and its gradient
    /// pushed back.
    DN_GPU_LAYER_DECLS
    void get_detections(int im_w, int im_h, int net_w, int net_h, float thresh, bool letterbox,
                        std::vector<Detection>& out, int b = 0) const override;
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    size_t truth_size() const override { return static_cast<size_t>(max_boxes) * 5; }
    void random_truth(std::mt19937_64& rng, T* truth) const override;
    /// With objectness_smooth=1 the objectness targets (IoUs of the predicted boxes) are constants
    /// of the loss (a stop-gradient); while frozen, forward passes reuse the last ones, so that a
    /// finite-difference check sees the function whose gradient backward() gives.
    void freeze_randomness(bool on) override {
        frozen_ = on;
        if (!on) smooth_targets_.clear(), gauss_held_.clear();
    }
    bool head_augment(HeadAugment* a) const override {
        a->jitter = jitter, a->resize = resize_scale, a->random = random;
        return true;
    }
    bool detection_head(int* n_classes, NmsKind* kind, float* beta) const override {
        *n_classes = classes;
        *kind = nms_kind;
        *beta = beta_nms;
        return true;
    }

    /// Entries of an anchor slot: 5 + classes (gaussian: 9 + classes). Fits an int once the
    /// constructor has checked the channels; entries_ll() before that.
    int entries() const { return static_cast<int>(entries_ll()); }
    long long entries_ll() const { return (gaussian ? 9LL : 5LL) + classes; }
    /// The entry of box coordinate k (0..3: x, y, w, h) and of the objectness (the class scores follow).
    int coord_entry(int k) const { return gaussian ? 2 * k : k; }
    int obj_entry() const { return gaussian ? 8 : 4; }
    /// Offset of entry `entry` (0..entries()-1) of anchor slot n at cell loc, image b.
    size_t entry_index(int b, int n, int loc, int entry) const {
        return static_cast<size_t>(b) * this->outputs() + static_cast<size_t>(n) * this->w * this->h * entries() +
               static_cast<size_t>(entry) * this->w * this->h + loc;
    }

    int classes = 80, total = 0;
    std::vector<int> mask;
    std::vector<float> anchors;  ///< 2*total values (w, h) in network pixels
    float scale_x_y = 1, beta_nms = 0.6f;
    int new_coords = 0;
    NmsKind nms_kind = NmsKind::Default;
    // training keys (honoured by the detector trainer)
    float jitter = 0.2f, ignore_thresh = 0.5f, truth_thresh = 1, iou_thresh = 1, cls_normalizer = 1;
    float iou_normalizer = 0.75f, obj_normalizer = 1, label_smooth_eps = 0;
    float max_delta = 0;     ///< > 0: AlexeyAB's clip of the box-term gradient (0: off)
    float resize_scale = 1;  ///< resize: AlexeyAB's random zoom of the training crop, 1/resize..resize
    int objectness_smooth = 0;  ///< 1: objectness targets are IoUs (Scaled-YOLOv4), not 1 and ignore
    std::vector<float> class_multipliers;  ///< counters_per_class: largest count / each class's count (empty: off)
    int focal_loss = 0;  ///< 1: focal loss (gamma 2, alpha 0.5) for the class terms
    int random = 0, max_boxes = 200;
    IouLoss iou_loss = IouLoss::Mse;
    bool gaussian = false;     ///< [Gaussian_yolo]
    float uc_normalizer = 1;   ///< [Gaussian_yolo]: weight of the sigmas' likelihood term

private:
    /// The YOLO loss of a training pass with labels (docs/math.md): sets this->cost and writes
    /// dL/d(input) into loss_grad_.
    void loss(const Network<T>& net);
    /// The output transform (kernels/yolo_transform.hpp) at the current size.
    YoloTransform transform() const;
    std::vector<T> loss_grad_;  ///< dL/d(layer input) from the loss of the last training pass
    DeviceBuffer<T> loss_grad_gpu_;
    bool loss_mode_ = false;
    int net_w_ = 0, net_h_ = 0;
    bool frozen_ = false;
    std::vector<double> smooth_targets_;  ///< objectness_smooth: each slot's target, last pass
    /// [Gaussian_yolo] while frozen: the stop-gradient constants of each (slot, truth) pair (its
    /// four sigmas, then its four residuals), held from the first pass.
    std::unordered_map<uint64_t, std::array<double, 8>> gauss_held_;
};

/// [Gaussian_yolo] (AlexeyAB's name, capital G): YoloLayer's Gaussian layout.
template <class T>
class GaussianYoloLayer : public YoloLayer<T> {
public:
    explicit GaussianYoloLayer(const BuildContext<T>& b) : YoloLayer<T>(b, true) {}
};

}  // namespace dn
