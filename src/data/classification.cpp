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
    return a;
}

void load_classification_batch(const ClassificationSet& set, const std::vector<int>& idx, int w, int h, int c,
                               const ClassifierAugment* aug, uint64_t seed, float* X, float* Y, BadImage bad) {
    const size_t per = static_cast<size_t>(w) * h * c, classes = set.labels.size();
    std::memset(Y, 0, sizeof(float) * classes * idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
        size_t k = 0;  // the image used (idx[i], or a stand-in that loads; a different one per draw)
        Image im = load_listed_image(set, idx[i], c, bad, &k, seed * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull);
        Image sized;
        if (aug) {
            Rng g(seed * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull + 1);
            const int low = aug->min_crop > 0 ? aug->min_crop : std::min(w, h);
            const int high = aug->max_crop > 0 ? aug->max_crop : low;
            sized = random_augment(im, g, aug->angle, aug->aspect, low, high, w);
            if (sized.h != h) sized = resize_image(sized, w, h);
            if (aug->flip && std::uniform_int_distribution<int>(0, 1)(g)) flip_horizontal(sized);
            random_distort(sized, g, aug->hue, aug->saturation, aug->exposure);
        } else {
            sized = resize_image(im, w, h);
        }
        std::memcpy(X + i * per, sized.data.data(), per * sizeof(float));
        Y[i * classes + set.label[k]] = 1.f;
    }
}

}  // namespace dn
