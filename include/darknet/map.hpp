// Detection metrics the way AlexeyAB's `detector map` computes them (validate_detector_map).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "darknet/detect_data.hpp"
#include "darknet/detection.hpp"

namespace dn {

struct MapOptions {
    float iou_thresh = 0.5f;  ///< -iou_thresh: a detection matches a truth of its class above this IoU
    int points = 0;           ///< -points: 0 = area under the curve at every unique recall (VOC 2010+),
                              ///< 11 (VOC 2007) or 101 (COCO) interpolated recall points
    float thresh = 0.25f;     ///< -thresh: confidence for the precision/recall/F1/IoU report
};

struct ClassAP {
    double ap = 0;
    int tp = 0, fp = 0;  ///< at MapOptions::thresh
    int truths = 0;
};

struct MapResult {
    std::vector<ClassAP> classes;
    double map = 0;             ///< mean AP over all classes at iou_thresh
    double map_50_95 = -1;      ///< with points=101: mean over IoU 0.50:0.05:0.95 (COCO), else -1
    int tp = 0, fp = 0, fn = 0; ///< at thresh
    double precision = 0, recall = 0, f1 = 0, avg_iou = 0;
    size_t detections_count = 0, unique_truth_count = 0;
};

/// mAP of `dets[i]` (detections of image i after NMS, boxes relative to the image, per-class
/// probabilities; a class counts as a detection where its probability is > 0) against `truths[i]`.
/// Detections of all classes are ranked by probability; a detection is a true positive when its
/// best-overlapping truth of the same class (IoU > iou_thresh) is not yet taken by a higher-ranked
/// one, else a false positive. AP per class from the precision/recall curve as in Darknet (with
/// its closing term for the recall of the first rank); classes without truths count with AP 0.
MapResult compute_map(const std::vector<std::vector<Detection>>& dets, const std::vector<std::vector<BoxLabel>>& truths,
                      int classes, const MapOptions& opt);

/// Darknet's report: detections_count/unique_truth_count, one "class_id = ..., ap = ..." line per
/// class, precision/recall/F1 and TP/FP/FN/average IoU at thresh, the IoU threshold and method,
/// and "mean average precision (mAP@0.50) = ...".
void print_map(FILE* out, const MapResult& r, const std::vector<std::string>& names, const MapOptions& opt);

/// Darknet's `detector recall` (validate_detector_recall) counts, summed image by image.
struct RecallCounts {
    int images = 0;
    long proposals = 0;  ///< detections with objectness > thresh
    int total = 0;       ///< truth boxes
    int correct = 0;     ///< truths whose best proposal overlaps them by IoU > iou_thresh
    double iou_sum = 0;  ///< sum over truths of the best proposal's IoU (0 without one)
    double recall() const { return total ? static_cast<double>(correct) / total : 0; }
    double avg_iou() const { return total ? iou_sum / total : 0; }
};

/// Adds one image: its detections (boxes relative to the image) and truths. Classes are not
/// compared: recall of the proposals, as in Darknet.
void add_recall(RecallCounts& r, const std::vector<Detection>& dets, const std::vector<BoxLabel>& truths, float thresh,
                float iou_thresh);

}  // namespace dn
