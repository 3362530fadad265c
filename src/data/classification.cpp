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
    set.list_path = list_path;
    set.labels = labels;
    std::string text = read_text_file(list_path);
    size_t pos = 0;
    int lineno = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = trim(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
        ++lineno;
        pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
        if (line.empty()) continue;
        int found = -1, hits = 0;
        for (size_t k = 0; k < labels.size(); ++k)
            if (line.find(labels[k]) != std::string::npos) {
                found = static_cast<int>(k);
                ++hits;
            }
        if (hits != 1) {
            std::string all;
            for (const auto& l : labels) all += (all.empty() ? "" : ", ") + l;
            fail("%s:%d: '%s' contains %s label name; Darknet takes the label from the path, which must contain "
                 "exactly one of: %s",
                 list_path.c_str(), lineno, line.c_str(), hits == 0 ? "no" : "more than one", all.c_str());
        }
        set.paths.push_back(line);
        set.label.push_back(found);
    }
    if (set.paths.empty()) fail("%s lists no images", list_path.c_str());
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
                               const ClassifierAugment* aug, uint64_t seed, float* X, float* Y) {
    const size_t per = static_cast<size_t>(w) * h * c, classes = set.labels.size();
    std::memset(Y, 0, sizeof(float) * classes * idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
        const int k = idx[i];
        Image im = load_image(set.paths[k], c);
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
