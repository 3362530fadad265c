// Entry points of the darknet CLI verbs (examples/*.cpp). Each returns the process exit code.
#pragma once

namespace dn {

int run_detector(int argc, char** argv);
int run_classifier(int argc, char** argv);
int run_detect(int argc, char** argv);  ///< `darknet detect cfg weights image` (COCO names)
int run_benchmark(int argc, char** argv);  ///< forward latency of a network
int run_gradcheck(int argc, char** argv);  ///< finite-difference check of every layer

/// Applies the flags every verb accepts: -threads N, -seed N, -i/-gpus (GPU index).
void apply_common_flags(int argc, char** argv);

}  // namespace dn
