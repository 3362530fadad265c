// darknet detector calc_anchors <data> [cfg] -num_of_clusters 9 -width 416 -height 416
// (AlexeyAB's verb): anchors for a detection set's label sizes, by k-means on 1 - IoU. With a
// YOLOv2 cfg ([region]) they come in grid cells, as that head reads them.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "darknet/anchors.hpp"
#include "darknet/cfg.hpp"
#include "darknet/detect_data.hpp"
#include "darknet/error.hpp"
#include "darknet/network.hpp"

namespace dn {

namespace {

// What a cfg contributes: the first detection head's num= and anchors, and the size of the image
// in the units of those anchors: [yolo]'s are in input pixels ([net] width, height), [region]'s
// (YOLOv2) in grid cells (the head's width and height, from the network the cfg builds).
struct CfgAnchors {
    int width = 0, height = 0, num = 0;
    std::vector<float> anchors;
    std::string head = "[yolo]";
};

CfgAnchors read_cfg_anchors(const std::string& path) {
    CfgAnchors c;
    const Cfg cfg = parse_cfg_file(path);
    for (const CfgSection& s : cfg.sections) {
        if (s.name == "net" || s.name == "network") {
            c.width = s.get_int("width", 0);
            c.height = s.get_int("height", 0);
        } else if ((s.name == "yolo" || s.name == "gaussian_yolo" || s.name == "region") && c.num == 0) {
            c.head = s.name == "gaussian_yolo" ? "[Gaussian_yolo]" : "[" + s.name + "]";
            c.num = s.get_int_min("num", 1, 1);
            c.anchors = s.get_floats("anchors");  // none: the layer's defaults, nothing to score
            if (!c.anchors.empty() && c.anchors.size() != 2 * static_cast<size_t>(c.num))
                s.error("anchors", strfmt("has %zu values; num=%d needs %d", c.anchors.size(), c.num, 2 * c.num));
        }
    }
    if (c.num == 0) fail("%s has no [yolo] or [region] section to take num= from; give -num_of_clusters", path.c_str());
    if (c.head == "[region]") {
        const bool q = is_quiet();
        set_quiet(true);
        auto net = Network<float>::from_cfg_file(path, 1);
        set_quiet(q);
        for (const auto& l : net->layers)
            if (std::string(l->type()) == "region") {
                c.width = l->out_w, c.height = l->out_h;
                break;
            }
    }
    return c;
}

// The anchors as the cfg line writes them: whole pixels for an input over 32 (at least 1),
// 4 decimals for sizes in grid cells (AlexeyAB's rule).
std::string format_anchors(std::vector<BoxSize>* anchors, bool whole) {
    std::string s;
    for (size_t j = 0; j < anchors->size(); ++j) {
        BoxSize& a = (*anchors)[j];
        if (whole) a = {std::max(1.0, std::round(a.w)), std::max(1.0, std::round(a.h))};
        s += j ? ", " : "";
        s += whole ? strfmt("%3.0f,%3.0f", a.w, a.h) : strfmt("%2.4f,%2.4f", a.w, a.h);
    }
    return s;
}

}  // namespace

int run_calc_anchors(const Args& a) {
    const std::string datacfg = a.pos(3), cfgfile = a.pos(4);
    if (datacfg.empty()) {
        std::fprintf(stderr, "usage: darknet detector calc_anchors <data> [cfg] -num_of_clusters 9 -width 416 -height 416\n"
                             "       (width, height and the number of anchors default to the cfg's)\n");
        return 1;
    }
    CfgAnchors c;
    if (!cfgfile.empty()) c = read_cfg_anchors(cfgfile);
    const int k = a.integer("-num_of_clusters", c.num ? c.num : 5);
    const int width = a.integer("-width", c.width), height = a.integer("-height", c.height);
    if (width <= 0 || height <= 0)
        fail("calc_anchors needs the network's input size: -width 416 -height 416 (or a cfg with [net] width/height)");
    if (k < 1) fail("-num_of_clusters must be at least 1, not %d", k);
    if (c.num && k != c.num)
        warn("%s's %s sections have num=%d; the %d anchors printed need num=%d%s", cfgfile.c_str(), c.head.c_str(), c.num,
             k, k, c.head == "[yolo]" ? " (and masks that cover them)" : "");
    if (a.flag("-show")) warn("-show: this darknet opens no window; the anchors are printed and written to anchors.txt");

    const DetData d = read_det_data(datacfg);
    std::printf("\n num_of_clusters = %d, width = %d, height = %d \n", k, width, height);
    const std::string train = d.data.get_path("train", "data/train.list");
    const DetectionSet set = load_detection_set(train, d.classes);
    std::vector<BoxSize> boxes;
    for (const auto& image : set.boxes)
        for (const BoxLabel& b : image) boxes.push_back({static_cast<double>(b.w) * width, static_cast<double>(b.h) * height});
    std::printf(" read labels from %zu images \n loaded \t image: %zu \t box: %zu\n all loaded. \n", set.paths.size(),
                set.paths.size(), boxes.size());
    if (boxes.empty()) fail("%s: the training images have no boxes (no label lines)", datacfg.c_str());

    std::printf("\n calculating k-means++ ...\n");
    AnchorFit fit;
    try {
        const int restarts = 10;
        fit = fit_anchors(boxes, k, restarts, static_cast<uint64_t>(a.integer("-seed", 0)),
                          [&](int r, const AnchorFit& f) {
                              std::printf(" run %2d of %d: avg IoU = %2.2f %% after %d iterations\n", r + 1, restarts,
                                          100 * f.avg_iou, f.iterations);
                              std::fflush(stdout);
                          });
    } catch (const Error& e) {
        fail("%s: %s", train.c_str(), e.what());
    }
    const std::string line = format_anchors(&fit.anchors, width > 32);
    std::printf("\n avg IoU = %2.2f %% \n", 100 * mean_best_iou(boxes, fit.anchors));
    // the counts of the anchors as printed (rounded), like the avg IoU above
    const std::vector<int> counts = best_anchor_counts(boxes, fit.anchors);
    std::string members;
    for (size_t j = 0; j < counts.size(); ++j) members += strfmt("%s%d", j ? ", " : "", counts[j]);
    std::printf(" boxes per anchor (best IoU) = %s\n", members.c_str());
    if (!c.anchors.empty() && c.width > 0 && c.height > 0) {
        // the cfg's anchors are in its own units (input pixels, or grid cells for [region])
        std::vector<BoxSize> at_cfg, cfg_anchors;
        for (const BoxSize& b : boxes) at_cfg.push_back({b.w * c.width / width, b.h * c.height / height});
        for (size_t j = 0; j + 1 < c.anchors.size(); j += 2) cfg_anchors.push_back({c.anchors[j], c.anchors[j + 1]});
        std::printf(" avg IoU of %s's anchors = %2.2f %% \n", cfgfile.c_str(), 100 * mean_best_iou(at_cfg, cfg_anchors));
    }
    std::printf("\nSaving anchors to the file: anchors.txt \nanchors = %s\n", line.c_str());
    write_file_atomic("anchors.txt", line.data(), line.size());
    return 0;
}

}  // namespace dn
