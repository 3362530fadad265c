// Steps several darknet verbs share (examples/classifier.cpp, detector.cpp, detector_train.cpp).
#pragma once

#include <string>
#include <vector>

#include "args.hpp"
#include "darknet/cfg.hpp"
#include "darknet/network.hpp"

namespace dn {

/// A cfg path's file name without ".cfg" (checkpoint prefix: backup/<base>_last.weights).
std::string base_name(const std::string& cfg);

/// The next image path for a verb run without an image argument: prompts "Enter Image Path: "
/// when stdin is a terminal, skips blank lines, trims; false at end of input.
bool read_image_path(std::string* path);

/// A training run's start from the command line: loads `weightfile` when given (leading layers
/// only when the file is shorter: pretrained backbones), -clear resets `seen` (the schedule starts
/// over), -max_batches N shortens or extends the run (schedules follow it), -i/-gpus N moves the
/// network to that GPU. Throws dn::Error on bad weights or a missing device.
void start_training(Network<float>& net, const std::string& weightfile, const Args& a);
/// The names= file of a .data file (default data/names.list); warns when it does not list
/// `classes` names (classes > 0).
std::vector<std::string> load_names(const std::string& datacfg, int classes);
/// Warns (naming the [net] section) for each augmentation key that Darknet honours and this
/// trainer does not (mixup, blur; mosaic for classifiers), so that none is ignored silently.
void warn_unimplemented_augmentation(const NetConfig& n, bool detector);

/// A detector's .data file: classes= (required, > 0) and the names= file when given.
struct DetData {
    DataConfig data;
    int classes = 0;
    std::vector<std::string> names;
};
/// Throws dn::Error naming the .data file when classes= is missing or not positive, or the names
/// file lists another number of names.
DetData read_det_data(const std::string& datacfg);

/// The checkpoint directory a .data file names: backup= (default "backup/"), trailing '/' removed.
/// Throws dn::Error naming the .data line when backup= is empty: Darknet would then write the
/// checkpoints into the root directory ("/<cfg>_last.weights").
std::string backup_dir(const DataConfig& data);

}  // namespace dn
