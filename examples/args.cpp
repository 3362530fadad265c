#include "args.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "darknet/cuda.hpp"
#include "darknet/error.hpp"

namespace dn {

namespace {
bool is_number(const std::string& s) {
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    return end && *end == '\0' && !s.empty();
}
}  // namespace

Args::Args(int argc, char** argv, const std::vector<std::string>& with_value) {
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (i > 0 && a.size() > 1 && a[0] == '-' && !is_number(a)) {
            bool takes = std::find(with_value.begin(), with_value.end(), a) != with_value.end();
            if (takes) {
                if (i + 1 >= argc) fail("flag %s needs a value", a.c_str());
                flags_.push_back({a, argv[++i]});
            } else {
                flags_.push_back({a, ""});
            }
        } else {
            positional_.push_back(a);
        }
    }
}

bool Args::flag(const std::string& name) const {
    for (const auto& f : flags_)
        if (f.first == name) return true;
    return false;
}

std::string Args::str(const std::string& name, const std::string& def) const {
    for (const auto& f : flags_)
        if (f.first == name) return f.second;
    return def;
}

float Args::num(const std::string& name, float def) const {
    if (!flag(name)) return def;
    std::string v = str(name, "");
    if (!is_number(v)) fail("flag %s expects a number, got '%s'", name.c_str(), v.c_str());
    return static_cast<float>(std::strtod(v.c_str(), nullptr));
}

int Args::integer(const std::string& name, int def) const {
    if (!flag(name)) return def;
    // in double, which holds every int exactly (a float rounded 16777217 to 16777216, and
    // 2147483647 to 2^31, past int)
    const std::string v = str(name, "");
    const double d = is_number(v) ? std::strtod(v.c_str(), nullptr) : NAN;
    if (!(d == std::floor(d) && d >= INT_MIN && d <= INT_MAX))
        fail("flag %s expects an integer in [%d, %d], got '%s'", name.c_str(), INT_MIN, INT_MAX, v.c_str());
    return static_cast<int>(d);
}

int gpu_flag(const Args& a) {
#ifndef DN_GPU
    (void)a;
    return -1;
#else
    if (a.flag("-nogpu")) return -1;
    if (a.flag("-i")) return a.integer("-i", 0);
    if (a.flag("-gpus")) {
        const std::vector<std::string> ids = split(a.str("-gpus", "0"), ',');
        if (ids.size() > 1) warn("-gpus %s: this darknet trains on one GPU; using %s", a.str("-gpus", "").c_str(), ids[0].c_str());
        char* end = nullptr;
        const long i = std::strtol(ids.empty() ? "0" : ids[0].c_str(), &end, 10);
        if (!end || *end) fail("-gpus expects GPU indices such as 0 or 0,1");
        return static_cast<int>(i);
    }
    // Darknet's default in a GPU build: device 0. Without a device, the CPU (an explicit -i/-gpus is
    // an error then, from use_gpu).
    if (gpu_count() > 0) return 0;
    warn("no CUDA device is present: running on the CPU (-nogpu silences this)");
    return -1;
#endif
}

std::vector<std::string> Args::unknown(const std::vector<std::string>& known) const {
    std::vector<std::string> out;
    for (const auto& f : flags_)
        if (std::find(known.begin(), known.end(), f.first) == known.end()) out.push_back(f.first);
    return out;
}

}  // namespace dn
