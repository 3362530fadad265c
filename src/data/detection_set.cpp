#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

#include "darknet/augment.hpp"
#include "darknet/detect_data.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"

namespace dn {

std::string label_path_for(const std::string& image_path) {
    std::string p = image_path;
    for (const char* dir : {"/images/", "/JPEGImages/"}) {
        const size_t at = p.rfind(dir);
        if (at != std::string::npos) {
            p.replace(at, std::strlen(dir), "/labels/");
            break;
        }
    }
    const size_t dot = p.rfind('.'), slash = p.rfind('/');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) p.erase(dot);
    return p + ".txt";
}

namespace {
bool parse_float(const std::string& s, float* v) {
    char* end = nullptr;
    *v = std::strtof(s.c_str(), &end);
    return end && *end == 0 && !s.empty() && std::isfinite(*v);
}
}  // namespace

std::vector<BoxLabel> read_box_labels(const std::string& path, int classes, std::vector<std::string>& problems) {
    std::vector<BoxLabel> out;
    if (!file_exists(path)) {
        problems.push_back(path + ": no such label file (the image is treated as having no objects)");
        return out;
    }
    for (const auto& [lineno, line] : numbered_lines(read_text_file(path))) {
        std::vector<std::string> cols;
        for (const auto& c : split(line, ' '))
            for (const auto& t : split(c, '\t'))
                if (!trim(t).empty()) cols.push_back(trim(t));
        auto bad = [&](const std::string& why) {
            problems.push_back(strfmt("%s:%d: %s; line skipped: '%s'", path.c_str(), lineno, why.c_str(), line.c_str()));
        };
        if (cols.size() != 5) {
            bad(strfmt("expected 5 columns (class cx cy w h), found %zu", cols.size()));
            continue;
        }
        float v[5];
        bool ok = true;
        for (int k = 0; k < 5 && ok; ++k)
            if (!parse_float(cols[k], &v[k])) {
                bad(strfmt("column %d '%s' is not a number", k + 1, cols[k].c_str()));
                ok = false;
            }
        if (!ok) continue;
        if (v[0] != std::floor(v[0]) || v[0] < 0 || v[0] >= classes) {
            bad(strfmt("class id %s is not an integer in [0, classes=%d)", cols[0].c_str(), classes));
            continue;
        }
        if (v[1] < 0 || v[1] > 1 || v[2] < 0 || v[2] > 1) {
            bad("the box center is outside [0, 1] (coordinates are relative to the image)");
            continue;
        }
        if (!(v[3] > 0 && v[3] <= 1 && v[4] > 0 && v[4] <= 1)) {
            bad("the box width or height is outside (0, 1] (coordinates are relative to the image)");
            continue;
        }
        out.push_back({static_cast<int>(v[0]), v[1], v[2], v[3], v[4]});
    }
    return out;
}

DetectionSet load_detection_set(const std::string& list_path, int classes, bool quiet) {
    DetectionSet set;
    static_cast<ImageList&>(set) = read_image_list(list_path);
    require_listed_images(set);
    set.boxes.reserve(set.paths.size());
    for (size_t i = 0; i < set.paths.size(); ++i) {
        try {
            set.boxes.push_back(read_box_labels(label_path_for(set.paths[i]), classes, set.problems));
        } catch (const Error& e) {  // e.g. a label path that is a directory: name the list's line too
            fail("%s: the labels of '%s': %s", set.where(i).c_str(), set.paths[i].c_str(), e.what());
        }
    }
    if (!quiet) {
        const size_t shown = std::min<size_t>(20, set.problems.size());
        for (size_t i = 0; i < shown; ++i) warn("%s", set.problems[i].c_str());
        if (set.problems.size() > shown)
            warn("%zu more label problems in the images of %s", set.problems.size() - shown, list_path.c_str());
    }
    return set;
}

DetectorAugment DetectorAugment::from(const Network<float>& net) {
    DetectorAugment a;
    a.hue = net.cfg.hue;
    a.saturation = net.cfg.saturation;
    a.exposure = net.cfg.exposure;
    a.flip = net.cfg.flip != 0;
    a.letterbox = net.cfg.letter_box != 0;
    a.mosaic = net.cfg.mosaic != 0;
    a.mixup = net.cfg.mixup != 0 && !a.mosaic;  // AlexeyAB's parser: mosaic=1 replaces mixup
    a.blur = std::max(0, net.cfg.blur);
    for (const auto& l : net.layers) {
        HeadAugment h;
        if (!l->head_augment(&h)) continue;
        a.jitter = h.jitter;
        a.resize = h.resize;
        a.random = std::max(a.random, h.random);
    }
    return a;
}

namespace {

// The region (left, top, width, height) of `im`, in pixels and possibly reaching outside it,
// resampled bilinearly to out_w x out_h at (ox, oy) in `out`; outside the image: `fill` per channel.
void crop_resize_into(const Image& im, float left, float top, float cw, float ch, Image& out, int ox, int oy, int out_w,
                      int out_h, const std::vector<float>& fill) {
    const float sx = cw / out_w, sy = ch / out_h;
    for (int k = 0; k < im.c; ++k)
        for (int y = 0; y < out_h; ++y) {
            const float fy = top + (y + 0.5f) * sy - 0.5f;
            for (int x = 0; x < out_w; ++x) {
                const float fx = left + (x + 0.5f) * sx - 0.5f;
                float v;
                if (fx < -0.5f || fy < -0.5f || fx > im.w - 0.5f || fy > im.h - 0.5f) {
                    v = fill[k];
                } else {
                    const float cx = std::min(std::max(fx, 0.f), im.w - 1.f), cy = std::min(std::max(fy, 0.f), im.h - 1.f);
                    const int x0 = static_cast<int>(cx), y0 = static_cast<int>(cy);
                    const int x1 = std::min(x0 + 1, im.w - 1), y1 = std::min(y0 + 1, im.h - 1);
                    const float ax = cx - x0, ay = cy - y0;
                    v = (1 - ay) * ((1 - ax) * im.at(x0, y0, k) + ax * im.at(x1, y0, k)) +
                        ay * ((1 - ax) * im.at(x0, y1, k) + ax * im.at(x1, y1, k));
                }
                out.at(ox + x, oy + y, k) = v;
            }
        }
}

}  // namespace

namespace {

// One image augmented to the network size, with its boxes (left, top, right, bottom relative to
// the network input, clipped, after the flip) and the extent of the image's pixels in the input
// (network pixels; the rest is the crop's fill or the letterbox padding).
struct Augmented {
    Image im;
    std::vector<std::array<float, 5>> boxes;  // l, t, r, b, class
    float cl = 0, ct = 0, cr = 0, cb = 0;
};

// AlexeyAB's blur (image_data_augmentation): a third of the images are left alone, a third get
// the background blurred (a 17x17 Gaussian, the labelled boxes kept sharp), and a third get
// `blur` itself: 1 is the background blur again, more blurs the whole image with a
// (blur/2)*2+1 kernel, lowered to min(box side in pixels)/8 when an object is small (an image
// without boxes stays sharp). The draw comes from its own generator (seeded by `salt`), so the
// image's other augmentation is the same with blur on or off.
void blur_augmented(Augmented& a, int blur, uint64_t salt) {
    Rng g(salt ^ 0x6A09E667F3BCC909ull);
    int b = std::uniform_int_distribution<int>(0, 2)(g);
    if (b == 2) b = blur;
    if (b > 1) {
        int min_side = 0;
        for (const auto& bx : a.boxes) {
            const int side = static_cast<int>(std::min((bx[2] - bx[0]) * a.im.w, (bx[3] - bx[1]) * a.im.h));
            min_side = min_side == 0 ? side : std::min(min_side, side);
        }
        if (min_side / 8 < b) b = min_side / 8;
    }
    if (b == 1) {
        const Image sharp = a.im;
        gaussian_blur(a.im, 17);
        for (const auto& bx : a.boxes) {
            const int x0 = std::max(0, static_cast<int>(bx[0] * a.im.w)), y0 = std::max(0, static_cast<int>(bx[1] * a.im.h));
            const int x1 = std::min(a.im.w, x0 + static_cast<int>((bx[2] - bx[0]) * a.im.w));
            const int y1 = std::min(a.im.h, y0 + static_cast<int>((bx[3] - bx[1]) * a.im.h));
            for (int k = 0; k < a.im.c; ++k)
                for (int y = y0; y < y1; ++y)
                    for (int x = x0; x < x1; ++x) a.im.at(x, y, k) = sharp.at(x, y, k);
        }
    } else if (b > 1) {
        gaussian_blur(a.im, (b / 2) * 2 + 1);
    }
}

Augmented augment_image(const DetectionSet& set, int index, int w, int h, int c, const DetectorAugment* aug, Rng& g,
                        BadImage bad, uint64_t salt) {
    size_t k = 0;  // the image used (index, or a stand-in that loads)
    const Image im = load_listed_image(set, index, c, bad, &k, salt);
    // the crop, in image pixels: each edge moves by up to jitter * size (Darknet's pleft, pright, ...)
    float left = 0, top = 0, cw = static_cast<float>(im.w), ch = static_cast<float>(im.h);
    if (aug && (aug->jitter > 0 || aug->resize != 1)) {
        float pl = 0, pr = 0, pt = 0, pb = 0;
        if (aug->jitter > 0) {
            const float dw = aug->jitter * im.w, dh = aug->jitter * im.h;
            pl = uniform(g, -dw, dw), pr = uniform(g, -dw, dw), pt = uniform(g, -dh, dh), pb = uniform(g, -dh, dh);
        }
        if (aug->resize != 1) {
            // AlexeyAB's resize: left and top move by one share of the size, right and bottom by
            // another, each uniform in [(1 - max(r, 1/r))/2, r > 1 ? (1 - 1/r)/2 : 0], so the crop
            // keeps its aspect and its size is 1/r..r times the image's (r < 1: only larger)
            const float r = aug->resize;
            const float lo = (1 - std::max(r, 1 / r)) / 2, hi = r > 1 ? (1 - 1 / r) / 2 : 0.f;
            const float s1 = uniform(g, lo, hi), s2 = uniform(g, lo, hi);
            pl += s1 * im.w, pt += s1 * im.h, pr += s2 * im.w, pb += s2 * im.h;
        }
        left = pl;
        top = pt;
        cw = std::max(1.f, im.w - pl - pr);
        ch = std::max(1.f, im.h - pt - pb);
    }
    // placement of the crop in the network input (letterbox keeps its aspect)
    int ox = 0, oy = 0, nw = w, nh = h;
    const bool letterbox = aug ? aug->letterbox : false;
    Augmented a;
    a.im = Image(w, h, c, 0.5f);
    if (letterbox) {
        const float s = std::min(w / cw, h / ch);
        nw = std::max(1, static_cast<int>(cw * s));
        nh = std::max(1, static_cast<int>(ch * s));
        ox = (w - nw) / 2;
        oy = (h - nh) / 2;
    }
    if (!aug) {
        a.im = letterbox ? letterbox_image(im, w, h) : resize_image(im, w, h);
    } else {
        std::vector<float> mean(c, 0.f);
        const size_t plane = static_cast<size_t>(im.w) * im.h;
        for (int ch_ = 0; ch_ < c; ++ch_) {
            double s = 0;
            for (size_t p = 0; p < plane; ++p) s += im.data[ch_ * plane + p];
            mean[ch_] = static_cast<float>(s / plane);
        }
        crop_resize_into(im, left, top, cw, ch, a.im, ox, oy, nw, nh, mean);
    }
    const bool flip = aug && aug->flip && std::uniform_int_distribution<int>(0, 1)(g);
    if (flip) flip_horizontal(a.im);
    if (aug) random_distort(a.im, g, aug->hue, aug->saturation, aug->exposure);
    // the image's pixels in the input: crop-relative, then placed like the crop
    a.cl = ox + std::clamp(-left / cw, 0.f, 1.f) * nw;
    a.cr = ox + std::clamp((im.w - left) / cw, 0.f, 1.f) * nw;
    a.ct = oy + std::clamp(-top / ch, 0.f, 1.f) * nh;
    a.cb = oy + std::clamp((im.h - top) / ch, 0.f, 1.f) * nh;
    if (flip) std::tie(a.cl, a.cr) = std::make_pair(w - a.cr, w - a.cl);
    // boxes: image-relative -> crop-relative -> network-relative, clipped
    for (const BoxLabel& b : set.boxes[k]) {
        float l = ((b.x - b.w / 2) * im.w - left) / cw, r = ((b.x + b.w / 2) * im.w - left) / cw;
        float tp = ((b.y - b.h / 2) * im.h - top) / ch, bt = ((b.y + b.h / 2) * im.h - top) / ch;
        l = std::clamp(l, 0.f, 1.f), r = std::clamp(r, 0.f, 1.f), tp = std::clamp(tp, 0.f, 1.f), bt = std::clamp(bt, 0.f, 1.f);
        if (letterbox && aug) {  // into the padded canvas
            l = (ox + l * nw) / w, r = (ox + r * nw) / w, tp = (oy + tp * nh) / h, bt = (oy + bt * nh) / h;
        } else if (letterbox) {  // letterbox_image's placement
            const bool wide = static_cast<float>(w) / im.w < static_cast<float>(h) / im.h;
            const int lw = wide ? w : (im.w * h) / im.h, lh = wide ? (im.h * w) / im.w : h;
            const float lx = static_cast<float>((w - lw) / 2), ly = static_cast<float>((h - lh) / 2);
            l = (lx + l * lw) / w, r = (lx + r * lw) / w, tp = (ly + tp * lh) / h, bt = (ly + bt * lh) / h;
        }
        if (flip) {
            const float l2 = 1 - r;
            r = 1 - l;
            l = l2;
        }
        a.boxes.push_back({l, tp, r, bt, static_cast<float>(b.cls)});
    }
    if (aug && aug->blur) blur_augmented(a, aug->blur, salt);
    return a;
}

// Writes the boxes under a network pixel dropped, up to max_boxes, as (x, y, w, h, class).
void write_truth(const std::vector<std::array<float, 5>>& boxes, int w, int h, int max_boxes, float* t) {
    int n = 0;
    for (const auto& b : boxes) {
        if (n >= max_boxes) break;
        const float l = b[0], tp = b[1], r = b[2], bt = b[3];
        if ((r - l) * w < 1 || (bt - tp) * h < 1) continue;  // under a network pixel: gone
        t[5 * n] = (l + r) / 2;
        t[5 * n + 1] = (tp + bt) / 2;
        t[5 * n + 2] = r - l;
        t[5 * n + 3] = bt - tp;
        t[5 * n + 4] = b[4];
        ++n;
    }
}

// AlexeyAB's mosaic: the input is cut at (cx, cy), cx in [0.2w, 0.8w), cy in [0.2h, 0.8h), into
// four quadrants; quadrant q shows the corner of its own augmented image that meets the cut point
// (top-left quadrant: the image's bottom-right corner, ...), moved past the crop's fill or the
// letterbox padding towards the image's pixels as far as the image allows (AlexeyAB's *_shift).
// Image 0 is the drawn one, images 1-3 are drawn from the set by g. Boxes are moved with their
// pixels and clipped to their quadrant.
void mosaic_into(const DetectionSet& set, int first, int w, int h, int c, const DetectorAugment& aug, Rng& g,
                 BadImage bad, uint64_t salt, Image& out, std::vector<std::array<float, 5>>& boxes) {
    const int cx = std::uniform_int_distribution<int>(static_cast<int>(w * 0.2f), std::max(static_cast<int>(w * 0.2f), static_cast<int>(w * 0.8f) - 1))(g);
    const int cy = std::uniform_int_distribution<int>(static_cast<int>(h * 0.2f), std::max(static_cast<int>(h * 0.2f), static_cast<int>(h * 0.8f) - 1))(g);
    std::uniform_int_distribution<int> pick(0, static_cast<int>(set.paths.size()) - 1);
    out = Image(w, h, c, 0.5f);
    for (int q = 0; q < 4; ++q) {
        const Augmented a =
            augment_image(set, q == 0 ? first : pick(g), w, h, c, &aug, g, bad, salt + q * 0xD6E8FEB86659FD93ull);
        const bool right = q & 1, bottom = q & 2;
        const int dx0 = right ? cx : 0, dy0 = bottom ? cy : 0;
        const int rw = right ? w - cx : cx, rh = bottom ? h - cy : cy;
        // source corner: a left quadrant ends at the image's right edge, a right one starts at its left edge
        const int sx0 = right ? std::clamp(static_cast<int>(a.cl), 0, w - rw) : std::clamp(static_cast<int>(a.cr) - rw, 0, w - rw);
        const int sy0 = bottom ? std::clamp(static_cast<int>(a.ct), 0, h - rh) : std::clamp(static_cast<int>(a.cb) - rh, 0, h - rh);
        for (int k = 0; k < c; ++k)
            for (int y = 0; y < rh; ++y)
                std::memcpy(&out.at(dx0, dy0 + y, k), a.im.data.data() + (static_cast<size_t>(k) * h + sy0 + y) * w + sx0,
                            static_cast<size_t>(rw) * sizeof(float));
        for (const auto& b : a.boxes) {
            const float l = std::clamp(b[0] * w - sx0, 0.f, static_cast<float>(rw)) + dx0;
            const float r = std::clamp(b[2] * w - sx0, 0.f, static_cast<float>(rw)) + dx0;
            const float t = std::clamp(b[1] * h - sy0, 0.f, static_cast<float>(rh)) + dy0;
            const float bt = std::clamp(b[3] * h - sy0, 0.f, static_cast<float>(rh)) + dy0;
            boxes.push_back({l / w, t / h, r / w, bt / h, b[4]});
        }
    }
}

// AlexeyAB's mixup: the drawn image and one drawn from the set by g, each augmented on its own,
// blended 50/50; the drawn image's boxes, then the other's.
void mixup_into(const DetectionSet& set, int first, int w, int h, int c, const DetectorAugment& aug, Rng& g,
                BadImage bad, uint64_t salt, Image& out, std::vector<std::array<float, 5>>& boxes) {
    std::uniform_int_distribution<int> pick(0, static_cast<int>(set.paths.size()) - 1);
    Augmented a = augment_image(set, first, w, h, c, &aug, g, bad, salt);
    const Augmented b = augment_image(set, pick(g), w, h, c, &aug, g, bad, salt + 0xD6E8FEB86659FD93ull);
    for (size_t i = 0; i < a.im.data.size(); ++i) a.im.data[i] = 0.5f * a.im.data[i] + 0.5f * b.im.data[i];
    out = std::move(a.im);
    boxes = std::move(a.boxes);
    boxes.insert(boxes.end(), b.boxes.begin(), b.boxes.end());
}

}  // namespace

void load_detection_batch(const DetectionSet& set, const std::vector<int>& idx, int w, int h, int c,
                          const DetectorAugment* aug, uint64_t seed, int max_boxes, float* X, float* truth,
                          BadImage bad) {
    const size_t per = static_cast<size_t>(w) * h * c, tsz = static_cast<size_t>(max_boxes) * 5;
    std::fill(truth, truth + tsz * idx.size(), 0.f);
    for (size_t i = 0; i < idx.size(); ++i) {
        const uint64_t draw = seed * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
        Rng g(draw + 7);
        const uint64_t salt = draw;  // picks bad images' stand-ins
        // mosaic or mixup for half of the images (AlexeyAB: for half of the loader's calls)
        if (aug && (aug->mosaic || aug->mixup) && std::uniform_int_distribution<int>(0, 1)(g)) {
            Image im;
            std::vector<std::array<float, 5>> boxes;
            if (aug->mosaic) mosaic_into(set, idx[i], w, h, c, *aug, g, bad, salt, im, boxes);
            else mixup_into(set, idx[i], w, h, c, *aug, g, bad, salt, im, boxes);
            std::memcpy(X + i * per, im.data.data(), per * sizeof(float));
            write_truth(boxes, w, h, max_boxes, truth + i * tsz);
            continue;
        }
        const Augmented a = augment_image(set, idx[i], w, h, c, aug, g, bad, salt);
        std::memcpy(X + i * per, a.im.data.data(), per * sizeof(float));
        write_truth(a.boxes, w, h, max_boxes, truth + i * tsz);
    }
}

}  // namespace dn
