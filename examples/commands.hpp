// Entry points of the darknet CLI verbs (examples/*.cpp). Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace dn {

int run_detector(int argc, char** argv);
/// detector train|map|valid (examples/detector_train.cpp), called by run_detector.
int run_detector_train(const std::string& verb, int argc, char** argv, const std::vector<std::string>& value_flags);
class Args;
/// detector calc_anchors (examples/calc_anchors.cpp), called by run_detector.
int run_calc_anchors(const Args& a);
/// detector demo (examples/demo.cpp): detections on every frame of a video or camera (OPENCV=1).
int detector_demo(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                  const std::string& filename, const Args& a);
int run_partial(int argc, char** argv);  ///< `darknet partial cfg weights out N`
int run_classifier(int argc, char** argv);
int run_detect(int argc, char** argv);  ///< `darknet detect cfg weights image` (COCO names)
int run_yolo(int argc, char** argv);    ///< `darknet yolo test|train|valid|recall cfg ...` (VOC names)
int run_rnn(int argc, char** argv);     ///< `darknet rnn train|generate|valid cfg ...` (pjreddie's char model)
/// pjreddie's weights tools (examples/tools.cpp): `darknet average|ops|rgbgr|denormalize|normalize|print ...`
int run_tool(int argc, char** argv);
int run_benchmark(int argc, char** argv);  ///< forward latency of a network
int run_gradcheck(int argc, char** argv);  ///< finite-difference check of every layer

/// Applies the flags every verb accepts: -threads N, -seed N, -i/-gpus (GPU index).
void apply_common_flags(int argc, char** argv);

}  // namespace dn
