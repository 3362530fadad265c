// darknet detector test|train|valid|map|recall, and darknet detect.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "darknet/cfg.hpp"
#include "darknet/detect_data.hpp"
#include "darknet/detector.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "darknet/network.hpp"

namespace dn {

namespace {

const std::vector<std::string> kValueFlags = {"-thresh", "-hier_thresh", "-hier", "-nms", "-out", "-threads",
                                              "-seed", "-i", "-gpus", "-iou_thresh", "-points", "-max_batches",
                                              "-save_every", "-chart", "-eval_every", "-batch", "-results", "-prefix",
                                              "-num_of_clusters", "-width", "-height", "-c", "-out_filename"};

// -save_labels: the image's label file (Darknet's path rule), written atomically. An existing one
// is kept (it may hold hand-made labels; Darknet overwrites it), with a warning.
void save_label_file(const std::string& image, const std::string& text) {
    const std::string path = label_path_for(image);
    if (path == image) fail("-save_labels: '%s' has no image extension to replace with .txt", image.c_str());
    if (path_kind(path) != PathKind::Missing) {
        warn("-save_labels: %s exists; not overwritten (remove it to write new labels)", path.c_str());
        return;
    }
    write_file_atomic(path, text.data(), text.size());
    std::printf("Labels saved to %s\n", path.c_str());
}

int detector_test(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                  const std::string& filename, const Args& a) {
    // DARKNET_TIMING=1: where a whole `detector test` process spends its time, on stderr
    const bool timing = std::getenv("DARKNET_TIMING") != nullptr;
    double t = now_seconds();
    auto lap = [&](const char* what) {
        if (!timing) return;
        const double n = now_seconds();
        std::fprintf(stderr, "timing: %-26s %7.2f ms\n", what, (n - t) * 1e3);
        t = n;
    };
    auto net = Network<float>::from_cfg_file(cfgfile, 1);
    net->print_summary();
    lap("cfg parse + network build");
    if (!weightfile.empty()) load_weights(*net, weightfile, false, LoadFor::Inference);
    lap("weights");
    const int gpu = gpu_flag(a);
    if (gpu >= 0) net->use_gpu(gpu);
    else net->optimize_for_inference();
    lap("inference set-up");
    std::vector<std::string> names = load_names(datacfg, detection_classes(*net));

    DetectOptions opt;
    opt.thresh = a.num("-thresh", 0.25f);
    opt.hier_thresh = a.num("-hier_thresh", a.num("-hier", 0.5f));
    opt.nms = a.num("-nms", 0.45f);
    opt.letterbox = a.flag("-letter_box") || net->cfg.letter_box;
    const bool ext_output = a.flag("-ext_output");
    const std::string outfile = a.str("-out", "");
    const bool save_labels = a.flag("-save_labels");

    std::string json = "[\n";
    int frame = 0;
    const bool interactive = filename.empty();
    while (true) {
        std::string input = filename;
        if (interactive && !read_image_path(&input)) break;
        Image im;
        lap("names, options");
        try {
            im = load_image(input, net->c);
        } catch (const Error& e) {
            if (!interactive) throw;
            std::fprintf(stderr, "darknet: error: %s\n", e.what());
            continue;
        }
        lap("image load");
        double ms = 0;
        std::vector<Detection> dets = detect_image(*net, im, opt, &ms);
        lap("detect (resize, forward, nms)");
        std::printf("%s: Predicted in %f milli-seconds.\n", input.c_str(), ms);
        print_detections(stdout, dets, opt.thresh, names, ext_output, im.w, im.h);
        std::fflush(stdout);
        draw_detections(im, dets, opt.thresh, names);
        save_image(im, "predictions.jpg");
        lap("print, draw, save jpg");
        if (save_labels) save_label_file(input, detections_to_labels(dets, opt.thresh));
        if (!outfile.empty()) {
            if (frame > 0) json += ", \n";
            json += detections_to_json(dets, names, ++frame, input);
        }
        if (!interactive) break;
    }
    if (!outfile.empty()) {
        json += "\n]";
        write_file_atomic(outfile, json.data(), json.size());
    }
    return 0;
}

}  // namespace

int run_detector(int argc, char** argv) {
    Args a(argc, argv, kValueFlags);
    std::string verb = a.pos(2);
    if (verb == "calc_anchors") return run_calc_anchors(a);
    if (a.npos() < 4 || (a.npos() < 5 && !(verb == "map" && a.flag("-results")))) {
        std::fprintf(stderr,
                     "usage: %s detector test <data> <cfg> <weights> [image] [-thresh 0.25] [-ext_output] [-dont_show]\n"
                     "                        [-out result.json] [-letter_box] [-nms 0.45] [-save_labels]\n"
                     "       %s detector train <data> <cfg> [weights] [-map] [-clear] [-dont_show] [-chart chart.png] [-show_imgs]\n"
                     "       %s detector map <data> <cfg> <weights> [-iou_thresh 0.5] [-points 0|11|101] [-thresh 0.25]\n"
                     "       %s detector map <data> -results <dir>   (score detector valid's files)\n"
                     "       %s detector valid <data> <cfg> <weights> [-prefix results] [-out comp4_det_test_]\n"
                     "       %s detector recall <data> <cfg> <weights> [-thresh 0.001] [-iou_thresh 0.5] [-nms 0.4]\n"
                     "       %s detector calc_anchors <data> [cfg] [-num_of_clusters 9] [-width 416 -height 416]\n"
                     "       %s detector demo <data> <cfg> <weights> [video | -c 0] [-thresh 0.25] [-ext_output]\n"
                     "                        [-dont_show] [-out_filename out.avi] [-out result.json]  (OPENCV=1)\n",
                     argv[0], argv[0], argv[0], argv[0], argv[0], argv[0], argv[0], argv[0]);
        return 1;
    }
    if (verb == "test") return detector_test(a.pos(3), a.pos(4), a.pos(5), a.pos(6), a);
    if (verb == "demo") return detector_demo(a.pos(3), a.pos(4), a.pos(5), a.pos(6), a);
    return run_detector_train(verb, argc, argv, kValueFlags);
}

// pjreddie's YOLOv1 verbs: `darknet yolo test|train|valid|recall <cfg> [weights] [image]` are the
// detector verbs on cfg/voc.data (VOC's 20 names); test's -thresh defaults to his 0.2.
int run_yolo(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s yolo test|train|valid|recall <cfg> [weights] [image] [-thresh 0.2] (VOC names, cfg/voc.data)\n",
                     argv[0]);
        return 1;
    }
    std::string voc = "cfg/voc.data", detector = "detector", thresh = "-thresh", point2 = "0.2";
    std::vector<char*> args = {argv[0], detector.data(), argv[2], voc.data()};
    for (int i = 3; i < argc; ++i) args.push_back(argv[i]);
    if (std::string(argv[2]) == "test" && !Args(argc, argv, kValueFlags).flag("-thresh")) {
        args.push_back(thresh.data());
        args.push_back(point2.data());
    }
    return run_detector(static_cast<int>(args.size()), args.data());
}

int run_detect(int argc, char** argv) {
    Args a(argc, argv, kValueFlags);
    if (a.npos() < 4) {
        std::fprintf(stderr, "usage: %s detect <cfg> <weights> [image] [-thresh 0.25]\n", argv[0]);
        return 1;
    }
    return detector_test("cfg/coco.data", a.pos(2), a.pos(3), a.pos(4), a);
}

}  // namespace dn
