#include "cli_common.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "darknet/error.hpp"

namespace dn {

std::string base_name(const std::string& cfg) {
    std::string b = basename_of(cfg);
    return ends_with(b, ".cfg") ? b.substr(0, b.size() - 4) : b;
}

bool read_image_path(std::string* path) {
    std::string line;
    while (true) {
        if (isatty(0)) {
            std::printf("Enter Image Path: ");
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) return false;
        *path = trim(line);
        if (!path->empty()) return true;
    }
}

void start_training(Network<float>& net, const std::string& weightfile, const Args& a) {
    if (!weightfile.empty()) load_weights(net, weightfile, true);
    if (a.flag("-clear")) {  // a new training from these weights: no iterations, no optimizer state
        net.header.seen = 0;
        net.clear_training_state();
    }
    if (a.flag("-max_batches")) net.cfg.max_batches = a.integer("-max_batches", 0);
    if (const int gpu = gpu_flag(a); gpu >= 0) net.use_gpu(gpu);
}

std::vector<std::string> load_names(const std::string& datacfg, int classes) {
    DataConfig d = parse_data_file(datacfg);
    std::string path = d.get_path("names", "data/names.list");
    std::vector<std::string> names = read_names(path);
    if (classes > 0 && static_cast<int>(names.size()) != classes)
        warn("%s lists %zu names but the network has classes=%d", path.c_str(), names.size(), classes);
    return names;
}

void warn_unimplemented_augmentation(const NetConfig& n, bool detector) {
    const auto off = [&](const char* key, int v) {
        if (v)
            warn("%s: [net] %s=%d is not implemented for %s training; training without it", n.where.c_str(), key, v,
                 detector ? "detector" : "classifier");
    };
    if (detector) off("cutmix", n.cutmix);  // AlexeyAB: "cutmix=1 - isn't supported for Detector"
    if (!detector && n.mixup && n.mosaic)
        warn("%s: [net] mixup=1 is not used with mosaic=1 (as in AlexeyAB's darknet, whose mosaic replaces it)",
             n.where.c_str());
    if (detector && n.mixup && n.mosaic)
        warn("%s: [net] mixup=1 is not used with mosaic=1 (as in AlexeyAB's darknet, whose mosaic replaces it)",
             n.where.c_str());
}

std::string backup_dir(const DataConfig& data) {
    std::string dir = data.get_str("backup", "backup/");
    if (dir.empty()) {
        auto it = data.lines.find("backup");
        fail("%s:%d: backup= is empty; name the directory for the checkpoints (the default is backup/)",
             data.path.c_str(), it == data.lines.end() ? 0 : it->second);
    }
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

DetData read_det_data(const std::string& datacfg) {
    DetData d;
    d.data = parse_data_file(datacfg);
    d.classes = d.data.get_int("classes", 0);
    if (d.classes <= 0) fail("%s: needs classes= (the number of object classes)", datacfg.c_str());
    const std::string names = d.data.get_path("names", "");
    if (!names.empty()) d.names = read_names(names);
    if (!d.names.empty() && static_cast<int>(d.names.size()) != d.classes)
        fail("%s: classes=%d but %s lists %zu names", datacfg.c_str(), d.classes, names.c_str(), d.names.size());
    return d;
}

}  // namespace dn
