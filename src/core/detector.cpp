#include "darknet/detector.hpp"

#include <algorithm>
#include <cmath>

#include "darknet/error.hpp"

namespace dn {

Image preprocess(const Image& im, int net_w, int net_h, bool letterbox) {
    return letterbox ? letterbox_image(im, net_w, net_h) : resize_image(im, net_w, net_h);
}

int detection_classes(const Network<float>& net) {
    int classes = 0;
    NmsKind k;
    float b;
    for (const auto& l : net.layers) l->detection_head(&classes, &k, &b);
    return classes;
}

std::vector<Detection> detect_image(Network<float>& net, const Image& im, const DetectOptions& opt, double* forward_ms) {
    if (im.c != net.c)
        fail("the image has %d channels but the network expects %d (channels= in [net])", im.c, net.c);
    if (net.batch != 1) fail("detect_image needs a network built with batch 1");
    Image sized = preprocess(im, net.w, net.h, opt.letterbox);
    double t0 = now_seconds();
    if (net.gpu_index >= 0) net.forward_gpu(sized.data.data(), false);
    else net.forward(sized.data.data(), false);
    if (forward_ms) *forward_ms = (now_seconds() - t0) * 1000.0;
    std::vector<Detection> dets = net.get_detections(im.w, im.h, opt.thresh, opt.letterbox);
    int classes = 0;
    NmsKind kind = NmsKind::Default;
    float beta = 0.6f;
    for (const auto& l : net.layers) l->detection_head(&classes, &kind, &beta);
    if (opt.nms > 0) nms_sort(dets, classes, opt.nms, kind, beta);
    return dets;
}

std::vector<std::vector<Detection>> detect_images(Network<float>& net, const ImageList& list, const DetectOptions& opt) {
    const std::vector<std::string>& paths = list.paths;
    int classes = 0;
    NmsKind kind = NmsKind::Default;
    float beta = 0.6f;
    for (const auto& l : net.layers) l->detection_head(&classes, &kind, &beta);
    const size_t per = static_cast<size_t>(net.inputs());
    std::vector<float> X(per * net.batch, 0.f);
    std::vector<std::vector<Detection>> out(paths.size());
    std::vector<std::pair<int, int>> sizes(net.batch);
    for (size_t i0 = 0; i0 < paths.size(); i0 += net.batch) {
        const size_t n = std::min(paths.size() - i0, static_cast<size_t>(net.batch));
        for (size_t k = 0; k < n; ++k) {
            Image im = load_listed_image(list, i0 + k, net.c);
            sizes[k] = {im.w, im.h};
            Image sized = preprocess(im, net.w, net.h, opt.letterbox);
            std::copy(sized.data.begin(), sized.data.end(), X.begin() + k * per);
        }
        if (net.gpu_index >= 0) net.forward_gpu(X.data(), false);
        else net.forward(X.data(), false);
        for (size_t k = 0; k < n; ++k) {
            out[i0 + k] = net.get_detections(sizes[k].first, sizes[k].second, opt.thresh, opt.letterbox, static_cast<int>(k));
            if (opt.nms > 0) nms_sort(out[i0 + k], classes, opt.nms, kind, beta);
        }
    }
    return out;
}

namespace {
std::string name_of(const std::vector<std::string>& names, int j) {
    return j < static_cast<int>(names.size()) ? names[j] : std::to_string(j);
}
}  // namespace

void print_detections(FILE* out, const std::vector<Detection>& dets, float thresh,
                      const std::vector<std::string>& names, bool ext_output, int im_w, int im_h) {
    struct Sel {
        const Detection* d;
        int best;
    };
    std::vector<Sel> sel;
    for (const auto& d : dets) {
        int best = -1;
        float bp = thresh;
        for (size_t j = 0; j < d.prob.size(); ++j) {
            bool show = name_of(names, static_cast<int>(j)).compare(0, 9, "dont_show") != 0;
            if (d.prob[j] > bp && show) {
                best = static_cast<int>(j);
                bp = d.prob[j];
            }
        }
        if (best >= 0) sel.push_back({&d, best});
    }
    std::stable_sort(sel.begin(), sel.end(), [](const Sel& a, const Sel& b) {
        return a.d->bbox.x - a.d->bbox.w / 2 < b.d->bbox.x - b.d->bbox.w / 2;
    });
    for (const auto& s : sel) {
        const Box& b = s.d->bbox;
        std::fprintf(out, "%s: %.0f%%", name_of(names, s.best).c_str(), s.d->prob[s.best] * 100);
        if (ext_output)
            std::fprintf(out, "\t(left_x: %4.0f   top_y: %4.0f   width: %4.0f   height: %4.0f)\n",
                         std::round((b.x - b.w / 2) * im_w), std::round((b.y - b.h / 2) * im_h), std::round(b.w * im_w),
                         std::round(b.h * im_h));
        else
            std::fprintf(out, "\n");
        for (size_t j = 0; j < s.d->prob.size(); ++j)
            if (s.d->prob[j] > thresh && static_cast<int>(j) != s.best)
                std::fprintf(out, "%s: %.0f%%\n", name_of(names, static_cast<int>(j)).c_str(), s.d->prob[j] * 100);
    }
}

namespace {
std::string json_escape(const std::string& s) {
    std::string o;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') {
            o += '\\';
            o += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            o += strfmt("\\u%04x", ch);
        } else {
            o += ch;
        }
    }
    return o;
}
}  // namespace

std::string detections_to_json(const std::vector<Detection>& dets, const std::vector<std::string>& names,
                               int frame_id, const std::string& filename) {
    // AlexeyAB lists every class above 0.005 (get_network_boxes already zeroed those under -thresh).
    std::string s = strfmt("{\n \"frame_id\":%d, \n \"filename\":\"%s\", \n \"objects\": [ \n", frame_id,
                           json_escape(filename).c_str());
    bool first = true;
    for (const auto& d : dets) {
        for (size_t j = 0; j < d.prob.size(); ++j) {
            std::string name = name_of(names, static_cast<int>(j));
            if (!(d.prob[j] > 0.005f) || name.compare(0, 9, "dont_show") == 0) continue;
            if (!first) s += ", \n";
            first = false;
            s += strfmt("  {\"class_id\":%zu, \"name\":\"%s\", \"relative_coordinates\":{\"center_x\":%f, "
                        "\"center_y\":%f, \"width\":%f, \"height\":%f}, \"confidence\":%f}",
                        j, json_escape(name).c_str(), d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h, d.prob[j]);
        }
    }
    s += "\n ] \n}";
    return s;
}

std::string detections_to_labels(const std::vector<Detection>& dets, float thresh) {
    std::string s;
    for (const auto& d : dets) {
        int best = -1;
        for (size_t j = 0; j < d.prob.size(); ++j)
            if (d.prob[j] > thresh && (best < 0 || d.prob[j] > d.prob[best])) best = static_cast<int>(j);
        if (best < 0) continue;
        const float x0 = std::max(0.f, d.bbox.x - d.bbox.w / 2), x1 = std::min(1.f, d.bbox.x + d.bbox.w / 2);
        const float y0 = std::max(0.f, d.bbox.y - d.bbox.h / 2), y1 = std::min(1.f, d.bbox.y + d.bbox.h / 2);
        if (!(x1 > x0 && y1 > y0)) continue;
        s += strfmt("%d %.6f %.6f %.6f %.6f\n", best, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0);
    }
    return s;
}

long coco_image_id(const std::string& image_path) {
    std::string name = basename_of(image_path);
    name = name.substr(0, name.rfind('.'));
    const std::string digits = name.substr(name.find_last_of('_') + 1);  // npos + 1 = 0: the whole name
    if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos)
        fail("eval=coco: image '%s' has no COCO image id (the number after the last '_' of its name, or the whole "
             "name, e.g. 000000397133.jpg)",
             image_path.c_str());
    return std::stol(digits);
}

std::string detections_to_coco(const std::vector<Detection>& dets, long image_id, int im_w, int im_h) {
    static const int kCocoIds[80] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                     22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
                                     46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65,
                                     67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90};
    std::string s;
    for (const auto& d : dets) {
        if (d.prob.size() > 80) fail("eval=coco: detections have %zu classes; COCO's category ids cover 80", d.prob.size());
        const float x0 = std::max(0.f, (d.bbox.x - d.bbox.w / 2) * im_w);
        const float x1 = std::min(static_cast<float>(im_w), (d.bbox.x + d.bbox.w / 2) * im_w);
        const float y0 = std::max(0.f, (d.bbox.y - d.bbox.h / 2) * im_h);
        const float y1 = std::min(static_cast<float>(im_h), (d.bbox.y + d.bbox.h / 2) * im_h);
        for (size_t j = 0; j < d.prob.size(); ++j)
            if (d.prob[j] > 0)
                s += strfmt("{\"image_id\":%ld, \"category_id\":%d, \"bbox\":[%f, %f, %f, %f], \"score\":%f},\n", image_id,
                            kCocoIds[j], x0, y0, x1 - x0, y1 - y0, d.prob[j]);
    }
    return s;
}

}  // namespace dn
