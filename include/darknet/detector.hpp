// Running a detector on images: preprocessing, forward, decoding, NMS, and Darknet's outputs.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "darknet/detection.hpp"
#include "darknet/image.hpp"
#include "darknet/network.hpp"

namespace dn {

struct DetectOptions {
    float thresh = 0.25f;       ///< -thresh: minimum class probability (objectness * class)
    float hier_thresh = 0.5f;   ///< -hier_thresh: used by [region] trees only; kept for Darknet's CLI
    float nms = 0.45f;          ///< -nms: overlap above which a lower-scored box is dropped (0: no NMS)
    bool letterbox = false;     ///< -letter_box or [net] letter_box=1
};

/// The network input for an image: Darknet's stretch resize (or letterbox) to the network size.
/// Throws dn::Error when the image's channel count differs from the network's.
Image preprocess(const Image& im, int net_w, int net_h, bool letterbox);

/// Detects objects in `im`: preprocess, forward (batch 1), boxes above thresh relative to the
/// image, then per-class NMS with the last detection layer's nms_kind/beta_nms.
/// `forward_ms` receives the forward time in milliseconds when not null.
std::vector<Detection> detect_image(Network<float>& net, const Image& im, const DetectOptions& opt,
                                    double* forward_ms = nullptr);

/// Detections of every image of `list` (boxes relative to each image, after NMS), running `net`
/// forward in batches of net.batch (inference mode). Darknet's map and valid use thresh 0.005.
/// Throws dn::Error naming an image that cannot be read, with its list file and line.
std::vector<std::vector<Detection>> detect_images(Network<float>& net, const ImageList& list, const DetectOptions& opt);

/// Class count of the last detection layer (0 when the network has none).
int detection_classes(const Network<float>& net);

/// Darknet's console output: detections sorted by left edge, "name: NN%" per class above thresh,
/// with -ext_output "(left_x: top_y: width: height:)" in pixels of the im_w x im_h image.
void print_detections(FILE* out, const std::vector<Detection>& dets, float thresh,
                      const std::vector<std::string>& names, bool ext_output, int im_w, int im_h);

/// One frame of AlexeyAB's -out JSON: {"frame_id", "filename", "objects": [{class_id, name,
/// relative_coordinates{center_x, center_y, width, height}, confidence}]}.
std::string detections_to_json(const std::vector<Detection>& dets, const std::vector<std::string>& names,
                               int frame_id, const std::string& filename);

/// -save_labels (AlexeyAB's pseudo-labelling): one YOLO label line "class cx cy w h" per
/// detection whose best class probability is above thresh (that class), the box relative to the
/// image and clipped to it (Darknet writes them as predicted, overhanging the image: a center
/// outside it or a size over 1 is then refused when the labels are read); boxes left with no area
/// are skipped. "%d %.6f %.6f %.6f %.6f\n".
std::string detections_to_labels(const std::vector<Detection>& dets, float thresh);

/// The COCO image id of an image path, as pycocotools wants it: the digits after the last '_' of
/// the file name without its extension ("COCO_val2014_000000000042.jpg" -> 42, as pjreddie's
/// get_coco_image_id), or the whole name when it has no '_' ("000000397133.jpg" -> 397133).
/// Throws dn::Error naming the image when that part is not a number (Darknet's atoi gives 0).
long coco_image_id(const std::string& image_path);

/// `detector valid` with eval=coco (AlexeyAB's print_cocos): one line
/// {"image_id":ID, "category_id":C, "bbox":[x, y, w, h], "score":P},\n per detection and class with
/// probability > 0; the box in pixels of the im_w x im_h image, its corners clipped to the image;
/// C is the COCO category id of class j (80 classes, ids 1..90 with COCO's gaps). Throws
/// dn::Error when a detection has more than 80 classes.
std::string detections_to_coco(const std::vector<Detection>& dets, long image_id, int im_w, int im_h);

}  // namespace dn
