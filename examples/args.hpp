// Darknet-style command-line arguments: flags anywhere, the rest positional.
#pragma once

#include <string>
#include <vector>

namespace dn {

/// Splits argv into flags and positional arguments. Flags listed in `with_value` consume the next
/// argument; every other argument starting with '-' (and not a number) is a boolean flag.
class Args {
public:
    Args(int argc, char** argv, const std::vector<std::string>& with_value);
    bool flag(const std::string& name) const;
    std::string str(const std::string& name, const std::string& def) const;
    float num(const std::string& name, float def) const;  ///< throws dn::Error on a non-number
    int integer(const std::string& name, int def) const;
    /// Positional argument i (0 = the program name), or "" when absent.
    std::string pos(size_t i) const { return i < positional_.size() ? positional_[i] : ""; }
    size_t npos() const { return positional_.size(); }
    /// Flags given that the command does not know (for a warning).
    std::vector<std::string> unknown(const std::vector<std::string>& known) const;

private:
    std::vector<std::string> positional_;
    std::vector<std::pair<std::string, std::string>> flags_;
};

/// The GPU to run on, as in Darknet: -i N or -gpus N[,M,...] (the first: one device per process);
/// with neither, device 0 when one is present; -1 (the CPU) with -nogpu, without a device (a
/// warning) or in a build without GPU support (apply_common_flags warns when -i/-gpus are given).
int gpu_flag(const Args& a);

}  // namespace dn
