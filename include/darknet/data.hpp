// Datasets in Darknet's layouts, and batch loading.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "darknet/image.hpp"
#include "darknet/network.hpp"

namespace dn {

/// A classification set: image paths and the label of each, found by Darknet's rule (the label
/// name appears in the path).
struct ClassificationSet : ImageList {
    std::vector<int> label;           ///< index into labels, per path
    std::vector<std::string> labels;
};

/// Reads an image list (read_image_list, then require_listed_images: every image must exist) and
/// assigns labels. Throws dn::Error naming the list file and line of a path that contains no label
/// name or more than one (listing the labels), or of an image that does not exist.
ClassificationSet load_classification_set(const std::string& list_path, const std::vector<std::string>& labels);

/// How half of a classifier's images are mixed with others (AlexeyAB's load_data_augment).
enum class ClassMix {
    None,
    Mixup,          ///< [net] mixup=1: two images averaged, and their labels
    Cutmix,         ///< cutmix=1: a rectangle (30-80% of each side) from a second image, labels by area
    Mosaic,         ///< mosaic=1: four images' quadrants at a cut point (20-80%), labels by area
    CutmixOrMosaic  ///< cutmix=1 and mosaic=1: either, alternately at random
};

/// Augmentation of a classifier batch (Darknet's [net] keys).
struct ClassifierAugment {
    float angle = 0, aspect = 1, saturation = 1, exposure = 1, hue = 0;
    int min_crop = 0, max_crop = 0;  ///< shorter-side size range before the crop (0: the network size)
    bool flip = true;
    ClassMix mix = ClassMix::None;
    int blur = 0;  ///< [net] blur: a quarter of the images Gaussian-blurred (ksize 15 for blur=1, else blur)
    /// [net] label_smooth_eps (AlexeyAB's fill_truth_smooth): a one-hot row becomes 1 - eps and
    /// eps / (classes - 1); a mixed row y becomes y (1 - eps - e) + e, e = eps / (classes - 1),
    /// the same mix of the smoothed rows
    float label_smooth_eps = 0;
    /// AlexeyAB's parser: mosaic replaces mixup, and with cutmix alternates with it.
    static ClassifierAugment from(const NetConfig& n);
};

/// Loads images `idx` of `set` into X [n, c, h, w] (network input, values 0..1) and one-hot Y
/// [n, classes]. With `aug`, Darknet's random crop/rotation/aspect, flip and HSV distortion, drawn
/// from a generator seeded with `seed` (same seed, same batch); with aug->mix, half of the images
/// are mixed with others drawn from the set (ClassMix) and their Y rows are the mixed labels
/// (summing to 1); with aug->blur, a quarter are blurred. Without `aug`, a plain resize. An image
/// that does not decode is handled as `bad` says (load_listed_image: an error naming its list file
/// and line, or another image with its label).
void load_classification_batch(const ClassificationSet& set, const std::vector<int>& idx, int w, int h, int c,
                               const ClassifierAugment* aug, uint64_t seed, float* X, float* Y,
                               BadImage bad = BadImage::Error);

}  // namespace dn
