#include <algorithm>
#include <cstring>
#include <random>

#include "darknet/augment.hpp"
#include "darknet/data.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"

namespace dn {

ClassificationSet load_classification_set(const std::string& list_path, const std::vector<std::string>& labels) {
    if (labels.empty()) fail("no labels given for '%s'", list_path.c_str());
    // An empty or repeated label would match every path, or each of its paths twice, and the
    // error below would blame the paths ("more than one label name").
    for (size_t k = 0; k < labels.size(); ++k) {
        if (labels[k].empty())
            fail("label %zu of %zu (line %zu of the labels file) is empty; every class needs a name, which the image "
                 "paths of '%s' contain",
                 k, labels.size(), k + 1, list_path.c_str());
        for (size_t j = 0; j < k; ++j)
            if (labels[j] == labels[k])
                fail("labels %zu and %zu (lines %zu and %zu of the labels file) are both '%s'; class names must "
                     "differ",
                     j, k, j + 1, k + 1, labels[k].c_str());
    }
    ClassificationSet set;
    static_cast<ImageList&>(set) = read_image_list(list_path);
    set.labels = labels;
    for (size_t i = 0; i < set.paths.size(); ++i) {
        const std::string& path = set.paths[i];
        int found = -1, hits = 0;
        for (size_t k = 0; k < labels.size(); ++k)
            if (path.find(labels[k]) != std::string::npos) {
                found = static_cast<int>(k);
                ++hits;
            }
        if (hits != 1) {
            std::string all;
            for (const auto& l : labels) all += (all.empty() ? "" : ", ") + l;
            fail("%s: '%s' contains %s label name; Darknet takes the label from the path, which must contain "
                 "exactly one of: %s",
                 set.where(i).c_str(), path.c_str(), hits == 0 ? "no" : "more than one", all.c_str());
        }
        set.label.push_back(found);
    }
    require_listed_images(set);
    return set;
}

ClassifierAugment ClassifierAugment::from(const NetConfig& n) {
    ClassifierAugment a;
    a.angle = n.angle;
    a.aspect = n.aspect;
    a.saturation = n.saturation;
    a.exposure = n.exposure;
    a.hue = n.hue;
    a.min_crop = n.min_crop;
    a.max_crop = n.max_crop;
    a.flip = n.flip != 0;
    if (n.mosaic) a.mix = n.cutmix ? ClassMix::CutmixOrMosaic : ClassMix::Mosaic;
    else if (n.cutmix) a.mix = ClassMix::Cutmix;
    else if (n.mixup) a.mix = ClassMix::Mixup;
    a.blur = std::max(0, n.blur);
    a.label_smooth_eps = n.label_smooth_eps;
    return a;
}

namespace {

// One listed image, augmented (or plainly resized without `aug`); *label is its label's index.
Image augmented_image(const ClassificationSet& set, int index, int w, int h, int c, const ClassifierAugment* aug,
                      Rng& g, BadImage bad, uint64_t salt, int* label) {
    size_t k = 0;  // the image used (index, or a stand-in that loads; a different one per draw)
    const Image im = load_listed_image(set, index, c, bad, &k, salt);
    *label = set.label[k];
    if (!aug) return resize_image(im, w, h);
    const int low = aug->min_crop > 0 ? aug->min_crop : std::min(w, h);
    const int high = aug->max_crop > 0 ? aug->max_crop : low;
    Image sized = random_augment(im, g, aug->angle, aug->aspect, low, high, w);
    if (sized.h != h) sized = resize_image(sized, w, h);
    if (aug->flip && std::uniform_int_distribution<int>(0, 1)(g)) flip_horizontal(sized);
    random_distort(sized, g, aug->hue, aug->saturation, aug->exposure);
    return sized;
}

// AlexeyAB's mixing of image `im` (label row y, `classes` wide) with others drawn by g: MixUp
// averages two images and their labels; CutMix pastes a rectangle of w*[0.3,0.8) x h*[0.3,0.8)
// from a second image and weights the labels by area; Mosaic takes the four quadrants at a cut
// point (20-80% of each side) from four images (at the same coordinates, not moved) and weights
// the labels by the quadrants' areas.
void mix_into(const ClassificationSet& set, ClassMix mix, int w, int h, int c, const ClassifierAugment& aug, Rng& g,
              BadImage bad, uint64_t salt, Image& im, float* y, size_t classes) {
    if (mix == ClassMix::CutmixOrMosaic) mix = std::uniform_int_distribution<int>(0, 1)(g) ? ClassMix::Mosaic : ClassMix::Cutmix;
    std::uniform_int_distribution<int> pick(0, static_cast<int>(set.paths.size()) - 1);
    const int others = mix == ClassMix::Mosaic ? 3 : 1;
    std::vector<Image> o;
    std::vector<int> lab(others);
    for (int q = 0; q < others; ++q)
        o.push_back(augmented_image(set, pick(g), w, h, c, &aug, g, bad, salt + (q + 1) * 0xD6E8FEB86659FD93ull, &lab[q]));
    const size_t plane = static_cast<size_t>(w) * h;
    if (mix == ClassMix::Mixup) {
        for (size_t i = 0; i < im.data.size(); ++i) im.data[i] = (im.data[i] + o[0].data[i]) / 2;
        for (size_t j = 0; j < classes; ++j) y[j] /= 2;
        y[lab[0]] += 0.5f;
        return;
    }
    const auto rand_int = [&](int a, int b) { return std::uniform_int_distribution<int>(std::min(a, b), std::max(a, b))(g); };
    if (mix == ClassMix::Cutmix) {
        const int cw = rand_int(static_cast<int>(w * 0.3f), static_cast<int>(w * 0.8f));
        const int ch = rand_int(static_cast<int>(h * 0.3f), static_cast<int>(h * 0.8f));
        const int cx = rand_int(0, std::max(0, w - cw - 1)), cy = rand_int(0, std::max(0, h - ch - 1));
        for (int k = 0; k < c; ++k)
            for (int yy = cy; yy < cy + ch; ++yy)
                for (int xx = cx; xx < cx + cw; ++xx) im.data[k * plane + yy * w + xx] = o[0].data[k * plane + yy * w + xx];
        const float alpha = static_cast<float>(cw * ch) / static_cast<float>(w * h);
        for (size_t j = 0; j < classes; ++j) y[j] *= 1 - alpha;
        y[lab[0]] += alpha;
        return;
    }
    const int cx = rand_int(static_cast<int>(w * 0.2f), static_cast<int>(w * 0.8f));
    const int cy = rand_int(static_cast<int>(h * 0.2f), static_cast<int>(h * 0.8f));
    for (int k = 0; k < c; ++k)
        for (int yy = 0; yy < h; ++yy)
            for (int xx = 0; xx < w; ++xx) {
                const int q = (xx >= cx ? 1 : 0) + (yy >= cy ? 2 : 0);  // 0: the drawn image's quadrant
                if (q) im.data[k * plane + yy * w + xx] = o[q - 1].data[k * plane + yy * w + xx];
            }
    const float area = static_cast<float>(w * h);
    const float s[4] = {cx * cy / area, (w - cx) * cy / area, cx * (h - cy) / area, (w - cx) * (h - cy) / area};
    for (size_t j = 0; j < classes; ++j) y[j] *= s[0];
    for (int q = 0; q < 3; ++q) y[lab[q]] += s[q + 1];
}

}  // namespace

void load_classification_batch(const ClassificationSet& set, const std::vector<int>& idx, int w, int h, int c,
                               const ClassifierAugment* aug, uint64_t seed, float* X, float* Y, BadImage bad) {
    const size_t per = static_cast<size_t>(w) * h * c, classes = set.labels.size();
    std::memset(Y, 0, sizeof(float) * classes * idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
        const uint64_t salt = seed * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
        Rng g(salt + 1);
        int label = 0;
        Image sized = augmented_image(set, idx[i], w, h, c, aug, g, bad, salt, &label);
        float* y = Y + i * classes;
        y[label] = 1.f;
        if (aug && aug->mix != ClassMix::None) {  // mixing and blur draw from their own generators
            Rng gm(salt ^ 0x243F6A8885A308D3ull);
            if (std::uniform_int_distribution<int>(0, 1)(gm)) mix_into(set, aug->mix, w, h, c, *aug, gm, bad, salt, sized, y, classes);
        }
        if (aug && aug->label_smooth_eps > 0 && classes > 1) {
            const float e = aug->label_smooth_eps / static_cast<float>(classes - 1);
            for (size_t j = 0; j < classes; ++j) y[j] = y[j] * (1 - aug->label_smooth_eps - e) + e;
        }
        if (aug && aug->blur) {
            Rng gb(salt ^ 0x6A09E667F3BCC909ull);
            const int ksize = aug->blur == 1 ? 15 : (aug->blur / 2) * 2 + 1;
            if (std::uniform_int_distribution<int>(0, 3)(gb) == 0) gaussian_blur(sized, ksize);
        }
        std::memcpy(X + i * per, sized.data.data(), per * sizeof(float));
    }
}

}  // namespace dn
