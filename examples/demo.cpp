// darknet detector demo: detection on every frame of a video file or camera (OPENCV=1 builds).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "darknet/cfg.hpp"
#include "darknet/detector.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "darknet/network.hpp"
#include "darknet/video.hpp"

namespace dn {

// Darknet's (AlexeyAB's) demo: per frame "Objects:" then the detections above -thresh, and
// "FPS:x AVG_FPS:y" (the detector's frames per second: forward, decoding and NMS); -out_filename
// writes the frames with their boxes (MJPG .avi), -out the detections as AlexeyAB's JSON (one
// element per frame), -dont_show runs without a window. The video's end, or Esc in the window,
// ends it.
int detector_demo(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                  const std::string& filename, const Args& a) {
    if (!have_video())
        fail("detector demo reads video through OpenCV: build with make OPENCV=1 (Debian package libopencv-dev), "
             "or run detector test on the frames as images");
    VideoSource src(filename, a.integer("-c", 0));
    auto net = Network<float>::from_cfg_file(cfgfile, 1);
    net->print_summary();
    if (!weightfile.empty()) load_weights(*net, weightfile, false, LoadFor::Inference);
    if (const int gpu = gpu_flag(a); gpu >= 0) net->use_gpu(gpu);
    else net->optimize_for_inference();
    const std::vector<std::string> names = load_names(datacfg, detection_classes(*net));
    DetectOptions opt;
    opt.thresh = a.num("-thresh", 0.25f);
    opt.hier_thresh = a.num("-hier_thresh", a.num("-hier", 0.5f));
    opt.nms = a.num("-nms", 0.45f);
    opt.letterbox = a.flag("-letter_box") || net->cfg.letter_box;
    const bool ext_output = a.flag("-ext_output"), show = !a.flag("-dont_show");
    const std::string out_video = a.str("-out_filename", ""), out_json = a.str("-out", "");
    std::printf("Video stream: %s\n", src.name().c_str());
    std::unique_ptr<VideoSink> sink;
    std::string json = "[\n";
    Image frame;
    int frames = 0;
    double avg_fps = 0;
    while (src.read(&frame)) {
        const double t0 = now_seconds();
        const std::vector<Detection> dets = detect_image(*net, frame, opt);
        const double fps = 1.0 / std::max(1e-9, now_seconds() - t0);
        avg_fps = frames == 0 ? fps : avg_fps + (fps - avg_fps) / (frames + 1);
        ++frames;
        std::printf("\nObjects:\n\n");
        print_detections(stdout, dets, opt.thresh, names, ext_output, frame.w, frame.h);
        std::printf("\nFPS:%.1f \t AVG_FPS:%.1f\n", fps, avg_fps);
        std::fflush(stdout);
        if (!out_json.empty()) {
            if (frames > 1) json += ", \n";
            json += detections_to_json(dets, names, frames, src.name());
        }
        if (!out_video.empty() || show) draw_detections(frame, dets, opt.thresh, names);
        if (!out_video.empty()) {
            if (!sink) sink = std::make_unique<VideoSink>(out_video, frame.w, frame.h, src.fps());
            sink->write(frame);
        }
        if (show && show_image(frame, "Demo", 1) == 27) break;  // Esc
    }
    if (frames == 0) fail("video %s: no frame could be read", src.name().c_str());
    if (!out_json.empty()) {
        json += "\n]";
        write_file_atomic(out_json, json.data(), json.size());
    }
    std::printf("\n%d frames%s%s\n", frames, out_video.empty() ? "" : ", written to ", out_video.c_str());
    return 0;
}

}  // namespace dn
