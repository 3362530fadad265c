// Detection datasets in Darknet's layout (image lists, YOLO label files) and augmented batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "darknet/image.hpp"
#include "darknet/network.hpp"

namespace dn {

/// One labelled object: class id and box center/size relative to the image (0..1).
struct BoxLabel {
    int cls = 0;
    float x = 0, y = 0, w = 0, h = 0;
};

/// Darknet's label path for an image: "/images/" -> "/labels/", "/JPEGImages/" -> "/labels/"
/// (last occurrence), and the extension (.jpg .jpeg .png .bmp .tif ...) -> ".txt".
std::string label_path_for(const std::string& image_path);

/// Reads a YOLO label file: one "class cx cy w h" line per object. Lines with the wrong column
/// count, a word where a number belongs, a class id outside [0, classes), a center outside [0, 1]
/// or a size outside (0, 1] are skipped; each is described ("file:line: reason") in `problems`.
/// A missing file gives no boxes and one problem. Empty lines are ignored.
std::vector<BoxLabel> read_box_labels(const std::string& path, int classes, std::vector<std::string>& problems);

/// A detection set: the image list and every image's labels, read once.
struct DetectionSet : ImageList {
    std::vector<std::vector<BoxLabel>> boxes;
    std::vector<std::string> problems;  ///< skipped label lines and missing label files
};

/// Reads the image list (read_image_list, then require_listed_images: every image must exist) and
/// all label files. Each label problem is printed as a warning (up to 20, then a count) unless
/// `quiet`. Throws dn::Error when the list cannot be read, is empty or names an image that does
/// not exist.
DetectionSet load_detection_set(const std::string& list_path, int classes, bool quiet = false);

/// Detector augmentation ([net] keys plus the detection layer's jitter), Darknet's semantics.
struct DetectorAugment {
    float jitter = 0.2f;  ///< crop edges move by up to jitter * image size, in or out
    float resize = 1;     ///< [yolo] resize (AlexeyAB's): the crop is also zoomed 1/resize..resize
    float hue = 0, saturation = 1, exposure = 1;
    bool flip = true;
    bool letterbox = false;  ///< [net] letter_box=1: keep the crop's aspect, pad with 0.5
    bool mosaic = false;     ///< [net] mosaic=1: half of the images are mosaics of four (AlexeyAB)
    bool mixup = false;      ///< [net] mixup=1 without mosaic: half of the images are two blended 50/50
    int blur = 0;            ///< [net] blur (AlexeyAB's): background or whole-image Gaussian blur
    int random = 0;          ///< random=1 in a [yolo] head: multi-scale training (the trainer's job)
    /// From [net] (hue, saturation, exposure, flip, letter_box, mosaic, mixup, blur) and the [yolo] heads'
    /// jitter and resize (the last head's) and random (any head's).
    static DetectorAugment from(const Network<float>& net);
};

/// Loads images `idx` of `set` into X [n, c, h, w] (values 0..1) and their boxes into truth
/// [n, max_boxes * 5] as (x, y, w, h, class) relative to the network input, unused slots 0.
/// With `aug`: a random crop (each edge moved by U(-jitter, jitter) of the image size, and with
/// resize != 1 by AlexeyAB's zoom (DetectorAugment::resize); outside the image filled with the
/// image's mean color), resize (or letterbox) to w x h, random flip and
/// HSV distortion, boxes moved and clipped likewise and dropped when under a network pixel wide or
/// high; all draws from a generator seeded with `seed` (same seed, same batch). With aug->mosaic,
/// half of the images are AlexeyAB's mosaic: the input cut at a random point (20%-80% of each
/// side) into four quadrants, each showing the corner of one augmented image (the drawn one and
/// three drawn from the set) that meets the cut, boxes clipped to their quadrant. With aug->mixup
/// (and no mosaic), half of the images are AlexeyAB's mixup: the drawn image and one drawn from the
/// set, augmented each, blended 50/50, with the boxes of both (the drawn image's first). With
/// aug->blur, AlexeyAB's blur of the background or the whole image (detection_set.cpp). Without `aug`: a
/// plain resize (or letterbox). An image that does not decode is handled as `bad` says
/// (load_listed_image: an error naming its list file and line, or another image with its boxes).
void load_detection_batch(const DetectionSet& set, const std::vector<int>& idx, int w, int h, int c,
                          const DetectorAugment* aug, uint64_t seed, int max_boxes, float* X, float* truth,
                          BadImage bad = BadImage::Error);

}  // namespace dn
