// DN_GPU_TUNING: "key=value,key=value" overrides of the GPU launch shapes (kernels/gpu_tuning.hpp).
#include "kernels/gpu_tuning.hpp"

#include <cstdlib>
#include <sstream>
#include <string>

#include "darknet/error.hpp"

namespace dn {

GpuTuning parse_gpu_tuning(const char* spec) {
    GpuTuning t;
    if (!spec) return t;
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        const std::string key = item.substr(0, eq);
        int* field = key == "lrn_vec"      ? &t.lrn_vec
                     : key == "lrn_run"    ? &t.lrn_run
                     : key == "norm_chunk" ? &t.norm_chunk
                     : key == "elem_units" ? &t.elem_units
                                           : nullptr;
        if (!field) fail("DN_GPU_TUNING: unknown key '%s' (known: lrn_vec, lrn_run, norm_chunk, elem_units)", key.c_str());
        char* end = nullptr;
        const std::string val = eq == std::string::npos ? "" : item.substr(eq + 1);
        const long v = std::strtol(val.c_str(), &end, 10);
        if (val.empty() || *end || v < 0 || v > 1 << 20) fail("DN_GPU_TUNING: %s='%s' is not a count", key.c_str(), val.c_str());
        *field = static_cast<int>(v);
    }
    if (t.lrn_vec && t.lrn_vec != 1 && t.lrn_vec != 2 && t.lrn_vec != 4)
        fail("DN_GPU_TUNING: lrn_vec=%d must be 1, 2 or 4", t.lrn_vec);
    if (t.elem_units && t.elem_units != 1 && t.elem_units != 4)
        fail("DN_GPU_TUNING: elem_units=%d must be 1 or 4", t.elem_units);
    if (t.norm_chunk && t.norm_chunk < 32) fail("DN_GPU_TUNING: norm_chunk=%d must be >= 32", t.norm_chunk);
    return t;
}

GpuTuning& gpu_tuning() {
    static GpuTuning t = parse_gpu_tuning(std::getenv("DN_GPU_TUNING"));
    return t;
}

}  // namespace dn
