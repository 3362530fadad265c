// darknet detector train|map|valid, and darknet partial.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "darknet/augment.hpp"
#include "darknet/cfg.hpp"
#include "darknet/detect_data.hpp"
#include "darknet/detector.hpp"
#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "darknet/map.hpp"
#include "darknet/network.hpp"
#include "darknet/trainer.hpp"

namespace dn {

namespace {

void check_head(const Network<float>& net, int classes, const std::string& cfg) {
    const int c = detection_classes(net);
    if (c == 0) fail("%s has no detection layer ([yolo] or [region])", cfg.c_str());
    if (c != classes) fail("%s: its detection layers have classes=%d but the data has classes=%d", cfg.c_str(), c, classes);
}

// random=1 in a [yolo] head: every 10 iterations a size from rand_scale(1.4) of the cfg's, in
// steps of [net] resize_step (32, AlexeyAB's default), and the cfg's size for the last 10% of the run.
struct MultiScale {
    int init_w, init_h, step = 32;
    int64_t max_batches;
    uint64_t seed;
    std::pair<int, int> operator()(int64_t it) const {
        if (it >= max_batches - max_batches / 10) return {init_w, init_h};
        Rng g(seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(it / 10) + 11);
        const float r = rand_scale(g, 1.4f);
        auto dim = [&](int v) { return std::max(step, static_cast<int>(std::lround(r * v / step)) * step); };
        return {dim(init_w), dim(init_h)};
    }
    size_t max_inputs(int c) const {
        auto dim = [&](int v) { return std::max(step, static_cast<int>(std::lround(1.4f * v / step)) * step); };
        return static_cast<size_t>(dim(init_w)) * dim(init_h) * c;
    }
};

// A network for detector map/valid: the cfg at -batch images per pass (8), the weights, the
// device of -i/-gpus (else the CPU's inference folding), and *dopt from thresh, -nms, -letter_box.
std::unique_ptr<Network<float>> eval_net(const DetData& d, const std::string& cfgfile, const std::string& weightfile,
                                         const Args& a, float thresh, DetectOptions* dopt) {
    auto net = Network<float>::from_cfg_file(cfgfile, a.integer("-batch", 8));
    check_head(*net, d.classes, cfgfile);
    load_weights(*net, weightfile, false, LoadFor::Inference);
    if (const int gpu = gpu_flag(a); gpu >= 0) net->use_gpu(gpu);
    else net->optimize_for_inference();
    dopt->thresh = thresh;
    dopt->nms = a.num("-nms", 0.45f);
    dopt->letterbox = a.flag("-letter_box") || net->cfg.letter_box;
    return net;
}

// -show_imgs: the batch's images [n, c, h, w] with their truth boxes [n, max_boxes * 5] drawn, as
// aug_<iteration>_<pass>_<i>.jpg in the working directory.
void save_augmented(const float* X, const float* Y, int n, int w, int h, int c, int max_boxes, int64_t it, int pass) {
    const float colour[3] = {1.f, 0.f, 1.f};
    for (int i = 0; i < n; ++i) {
        Image im(w, h, c);
        std::memcpy(im.data.data(), X + static_cast<size_t>(i) * w * h * c, sizeof(float) * w * h * c);
        if (c == 3)
            for (int k = 0; k < max_boxes; ++k) {
                const float* t = Y + (static_cast<size_t>(i) * max_boxes + k) * 5;
                if (!(t[2] > 0)) break;
                draw_box(im, static_cast<int>((t[0] - t[2] / 2) * w), static_cast<int>((t[1] - t[3] / 2) * h),
                         static_cast<int>((t[0] + t[2] / 2) * w), static_cast<int>((t[1] + t[3] / 2) * h), 1, colour);
            }
        save_image(im, strfmt("aug_%lld_%d_%d.jpg", static_cast<long long>(it), pass, i));
    }
}

int detector_train(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                   const Args& a) {
    DetData d = read_det_data(datacfg);
    DetectionSet train = load_detection_set(d.data.get_path("train", "data/train.list"), d.classes);
    auto net = Network<float>::from_cfg_file(cfgfile);
    net->print_summary();
    check_head(*net, d.classes, cfgfile);
    start_training(*net, weightfile, a);
    warn_unimplemented_augmentation(net->cfg, true);
    const DetectorAugment aug = DetectorAugment::from(*net);
    const uint64_t seed = static_cast<uint64_t>(a.integer("-seed", 0));
    const int n = static_cast<int>(train.paths.size());
    const size_t truth_size = net->layers.back()->truth_size();
    const int max_boxes = static_cast<int>(truth_size / 5), random = aug.random;
    for (const auto& l : net->layers) {
        int c;
        NmsKind k;
        float b;
        if (!l->detection_head(&c, &k, &b)) continue;
        if (l->truth_size() != truth_size)
            fail("%s: every detection layer ([yolo], [Gaussian_yolo], [region], [detection]) needs the same max= (layer %d differs from the last)", cfgfile.c_str(), l->index);
    }
    MultiScale ms{net->w, net->h, net->cfg.resize_step, net->cfg.max_batches, seed};
    TrainOptions opt;
    if (random) {
        opt.input_size = ms;
        opt.max_inputs = ms.max_inputs(net->c);
    }
    // each pass: net.batch images drawn at random (Darknet draws with replacement), seeded by
    // (run seed, iteration, pass) so that a resumed run sees the same sequence
    // -show_imgs (AlexeyAB's): every training image as the network gets it, with its boxes
    const bool show_imgs = a.flag("-show_imgs");
    if (show_imgs)
        std::printf("-show_imgs: writing every augmented training image to aug_<iteration>_<pass>_<image>.jpg\n");
    BatchLoader load = [&, random](int64_t it, int pass, float* X, float* Y) {
        const uint64_t s = seed * 1000003ull + static_cast<uint64_t>(it) * 97ull + static_cast<uint64_t>(pass);
        std::mt19937_64 g(s);
        std::uniform_int_distribution<int> u(0, n - 1);
        std::vector<int> idx(net->batch);
        for (auto& i : idx) i = u(g);
        const auto wh = random ? ms(it) : std::pair<int, int>{net->w, net->h};
        load_detection_batch(train, idx, wh.first, wh.second, net->c, &aug, s, max_boxes, X, Y, BadImage::UseAnother);
        if (show_imgs) save_augmented(X, Y, net->batch, wh.first, wh.second, net->c, max_boxes, it + 1, pass);
    };
    opt.backup_dir = backup_dir(d.data);
    opt.base = base_name(cfgfile);
    opt.save_every = a.integer("-save_every", 100);
    opt.chart_path = a.str("-chart", "chart.png");
    opt.train_images = train.paths.size();
    // -map: mAP@0.5 on valid= every 4 epochs (at least 100 iterations; -eval_every N overrides),
    // <cfg>_best.weights kept
    std::unique_ptr<Network<float>> eval_net;
    DetectionSet valid;
    if (a.flag("-map")) {
        valid = load_detection_set(d.data.get_path("valid", ""), d.classes);
        const int per_iter = net->batch * net->cfg.subdivisions;
        opt.eval_every = a.integer("-eval_every", std::max(100, 4 * n / std::max(1, per_iter)));
        opt.keep_best = true;
        opt.eval_name = "mAP@0.5";
        opt.evaluate = [&](int64_t) {
            if (!eval_net) {
                const bool q = is_quiet();
                set_quiet(true);
                eval_net = Network<float>::from_cfg_file(cfgfile, 16);
                set_quiet(q);
            }
            copy_weights(*net, *eval_net);
            DetectOptions dopt;
            dopt.thresh = 0.005f;
            dopt.letterbox = net->cfg.letter_box != 0;
            MapOptions mopt;
            const MapResult r = compute_map(detect_images(*eval_net, valid, dopt), valid.boxes, d.classes, mopt);
            std::printf("mAP@0.5 on %zu valid images: %.4f (precision %.2f, recall %.2f at thresh 0.25)\n",
                        valid.paths.size(), r.map, r.precision, r.recall);
            return r.map;
        };
    }
    std::printf("Learning Rate: %g, Momentum: %g, Decay: %g\n", net->cfg.learning_rate, net->cfg.momentum, net->cfg.decay);
    std::printf("%zu training images, batch %d x %d subdivisions, %d iterations%s\n", train.paths.size(), net->batch,
                net->cfg.subdivisions, net->cfg.max_batches, random ? ", multi-scale (random=1)" : "");
    TrainResult r = dn::train(*net, load, truth_size, opt);
    std::printf("Trained %lld iterations in %.1f s (%.1f images/s), final loss %f (avg %f)%s\n",
                static_cast<long long>(r.iterations), r.seconds,
                r.losses.size() * double(net->batch) * net->cfg.subdivisions / std::max(1e-9, r.seconds), r.loss,
                r.avg_loss, r.interrupted ? " -- interrupted" : "");
    return r.interrupted ? 130 : 0;
}

// Detections from the per-class files `detector valid` writes (<dir>/comp4_det_test_<name>.txt:
// "<image id> <prob> <xmin> <ymin> <xmax> <ymax>", 1-based pixels), per image of `paths`.
std::vector<std::vector<Detection>> read_results(const std::string& dir, const std::vector<std::string>& paths,
                                                 const std::vector<std::string>& names, int classes) {
    std::map<std::string, size_t> by_id;
    for (size_t i = 0; i < paths.size(); ++i) {
        std::string id = basename_of(paths[i]);
        id = id.substr(0, id.rfind('.'));
        by_id[id] = i;
    }
    std::vector<std::pair<int, int>> sizes(paths.size(), {0, 0});
    std::vector<std::vector<Detection>> out(paths.size());
    for (int c = 0; c < classes; ++c) {
        const std::string f = dir + "/comp4_det_test_" + (c < static_cast<int>(names.size()) ? names[c] : std::to_string(c)) + ".txt";
        if (!file_exists(f)) continue;
        const std::string text = read_text_file(f);
        int lineno = 0;
        for (const std::string& raw : split(text, '\n')) {
            ++lineno;
            const std::string line = trim(raw);
            if (line.empty()) continue;
            char id[512];
            float p, x0, y0, x1, y1;
            if (std::sscanf(line.c_str(), "%511s %f %f %f %f %f", id, &p, &x0, &y0, &x1, &y1) != 6)
                fail("%s:%d: expected '<image id> <prob> <xmin> <ymin> <xmax> <ymax>'", f.c_str(), lineno);
            auto it = by_id.find(id);
            if (it == by_id.end()) fail("%s:%d: image id '%s' is not in the valid list", f.c_str(), lineno, id);
            auto& sz = sizes[it->second];
            if (sz.first == 0) image_size(paths[it->second], &sz.first, &sz.second);
            Detection d;
            d.bbox = {((x0 - 1) + (x1 - 1)) / 2 / sz.first, ((y0 - 1) + (y1 - 1)) / 2 / sz.second, (x1 - x0) / sz.first,
                      (y1 - y0) / sz.second};
            d.objectness = p;
            d.prob.assign(classes, 0.f);
            d.prob[c] = p;
            out[it->second].push_back(std::move(d));
        }
    }
    return out;
}

int detector_map(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile, const Args& a) {
    DetData d = read_det_data(datacfg);
    DetectionSet valid = load_detection_set(d.data.get_path("valid", "data/valid.list"), d.classes);
    MapOptions mopt;
    mopt.iou_thresh = a.num("-iou_thresh", 0.5f);
    mopt.points = a.integer("-points", d.data.get_int("map_points", 0));
    mopt.thresh = a.num("-thresh", 0.25f);
    if (mopt.points != 0 && mopt.points != 11 && mopt.points != 101) fail("-points must be 0, 11 or 101");
    std::vector<std::vector<Detection>> dets;
    const double t0 = now_seconds();
    if (a.flag("-results")) {
        dets = read_results(a.str("-results", "results"), valid.paths, d.names, d.classes);
    } else {
        if (cfgfile.empty() || weightfile.empty()) fail("detector map needs <cfg> <weights> (or -results <dir>)");
        DetectOptions dopt;
        auto net = eval_net(d, cfgfile, weightfile, a, 0.005f, &dopt);
        std::printf("\n calculation mAP (mean average precision)...\n%zu\n", valid.paths.size());
        dets = detect_images(*net, valid, dopt);
    }
    print_map(stdout, compute_map(dets, valid.boxes, d.classes, mopt), d.names, mopt);
    std::printf("Total Detection Time: %d Seconds\n", static_cast<int>(now_seconds() - t0));
    return 0;
}

// Darknet's print_detector_detections (.data eval=voc, the default): per class, a file
// <prefix>/<-out comp4_det_test_><name>.txt of "<id> <prob> <xmin> <ymin> <xmax> <ymax>" in 1-based
// pixels, clipped to the image; eval=coco: AlexeyAB's <prefix>/<-out coco_results>.json.
int detector_valid(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile, const Args& a) {
    DetData d = read_det_data(datacfg);
    const ImageList list = read_image_list(d.data.get_path("valid", "data/valid.list"));
    require_listed_images(list);
    const std::vector<std::string>& paths = list.paths;
    const std::string eval = d.data.get_str("eval", "voc");
    std::vector<long> coco_ids;
    if (eval == "coco") {
        if (d.classes != 80)
            fail("%s: eval=coco maps the 80 COCO classes to their category ids; this .data has classes=%d",
                 datacfg.c_str(), d.classes);
        for (const std::string& p : paths) coco_ids.push_back(coco_image_id(p));
    } else if (eval != "voc") {
        fail("%s: eval=%s: detector valid writes eval=voc (one comp4 file per class, the default) or eval=coco "
             "(coco_results.json)",
             datacfg.c_str(), eval.c_str());
    }
    DetectOptions dopt;
    auto net = eval_net(d, cfgfile, weightfile, a, a.num("-thresh", 0.005f), &dopt);
    const std::string dir = a.str("-prefix", "results");
    ::mkdir(dir.c_str(), 0755);
    const double t0 = now_seconds();
    const auto dets = detect_images(*net, list, dopt);
    if (eval == "coco") {  // for pycocotools
        std::string json = "[\n";
        for (size_t i = 0; i < paths.size(); ++i) {
            int w, h;
            image_size(paths[i], &w, &h);
            json += detections_to_coco(dets[i], coco_ids[i], w, h);
        }
        if (json.size() > 2) json.resize(json.size() - 2);  // the last ",\n"
        json += "\n]\n";
        const std::string f = dir + "/" + a.str("-out", "coco_results") + ".json";
        write_file_atomic(f, json.data(), json.size());
        std::fprintf(stderr, "Wrote %s for %zu images in %.1f seconds\n", f.c_str(), paths.size(), now_seconds() - t0);
        return 0;
    }
    std::vector<std::string> text(d.classes);
    for (size_t i = 0; i < paths.size(); ++i) {
        int w, h;
        image_size(paths[i], &w, &h);
        std::string id = basename_of(paths[i]);
        id = id.substr(0, id.rfind('.'));
        for (const Detection& det : dets[i]) {
            float xmin = (det.bbox.x - det.bbox.w / 2) * w + 1, xmax = (det.bbox.x + det.bbox.w / 2) * w + 1;
            float ymin = (det.bbox.y - det.bbox.h / 2) * h + 1, ymax = (det.bbox.y + det.bbox.h / 2) * h + 1;
            xmin = std::max(xmin, 1.f), ymin = std::max(ymin, 1.f), xmax = std::min(xmax, float(w)), ymax = std::min(ymax, float(h));
            for (int c = 0; c < d.classes; ++c)
                if (det.prob[c] > 0) text[c] += strfmt("%s %f %f %f %f %f\n", id.c_str(), det.prob[c], xmin, ymin, xmax, ymax);
        }
    }
    for (int c = 0; c < d.classes; ++c) {
        const std::string f = dir + "/" + a.str("-out", "comp4_det_test_") +
                              (c < static_cast<int>(d.names.size()) ? d.names[c] : std::to_string(c)) + ".txt";
        write_file_atomic(f, text[c].data(), text[c].size());
    }
    std::fprintf(stderr, "Wrote %d class files to %s/ for %zu images in %.1f seconds\n", d.classes, dir.c_str(),
                 paths.size(), now_seconds() - t0);
    return 0;
}

// Darknet's validate_detector_recall: the valid= images through the network (thresh .001, no
// per-class NMS, then class-agnostic NMS by objectness at -nms .4), and after each image the
// running counts: "<image> <correct> <total>\tRPs/Img: <proposals per image>\tIOU: <mean best IoU
// of the truths>%\tRecall:<truths found at IoU > -iou_thresh>%". Darknet prints nan for these
// before the first truth; this prints 0.
int detector_recall(const std::string& datacfg, const std::string& cfgfile, const std::string& weightfile,
                    const Args& a) {
    DetData d = read_det_data(datacfg);
    DetectionSet valid = load_detection_set(d.data.get_path("valid", "data/valid.list"), d.classes);
    DetectOptions dopt;
    const float thresh = a.num("-thresh", 0.001f), iou_thresh = a.num("-iou_thresh", 0.5f), nms = a.num("-nms", 0.4f);
    auto net = eval_net(d, cfgfile, weightfile, a, thresh, &dopt);
    dopt.nms = 0;  // Darknet's recall suppresses by objectness only, below
    const double t0 = now_seconds();
    auto dets = detect_images(*net, valid, dopt);
    RecallCounts r;
    for (size_t i = 0; i < dets.size(); ++i) {
        if (nms > 0) nms_obj(dets[i], nms);
        add_recall(r, dets[i], valid.boxes[i], thresh, iou_thresh);
        std::fprintf(stderr, "%5zu %5d %5d\tRPs/Img: %.2f\tIOU: %.2f%%\tRecall:%.2f%%\n", i, r.correct, r.total,
                     static_cast<double>(r.proposals) / r.images, 100 * r.avg_iou(), 100 * r.recall());
    }
    std::fprintf(stderr, "Total Detection Time: %.1f Seconds\n", now_seconds() - t0);
    return 0;
}

}  // namespace

int run_detector_train(const std::string& verb, int argc, char** argv, const std::vector<std::string>& value_flags) {
    Args a(argc, argv, value_flags);
    if (verb == "train") return detector_train(a.pos(3), a.pos(4), a.pos(5), a);
    if (verb == "map") return detector_map(a.pos(3), a.pos(4), a.pos(5), a);
    if (verb == "valid") return detector_valid(a.pos(3), a.pos(4), a.pos(5), a);
    if (verb == "recall") return detector_recall(a.pos(3), a.pos(4), a.pos(5), a);
    fail("unknown detector command '%s' (test, train, map, valid, recall, calc_anchors, demo)", verb.c_str());
}

// darknet partial <cfg> <weights> <output> <layers>: the first <layers> layers' weights, seen = 0
// (Darknet's partial), e.g. a pretrained backbone without its detection heads.
int run_partial(int argc, char** argv) {
    Args a(argc, argv, {"-threads", "-seed", "-i", "-gpus"});
    if (a.npos() < 6) {
        std::fprintf(stderr, "usage: %s partial <cfg> <weights> <output weights> <number of layers>\n", argv[0]);
        return 1;
    }
    auto net = Network<float>::from_cfg_file(a.pos(2), 1);
    const std::string count = a.pos(5);
    char* end = nullptr;
    const long upto = std::strtol(count.c_str(), &end, 10);
    if (!end || *end || upto <= 0) fail("partial: <number of layers> must be a positive integer, not '%s'", count.c_str());
    load_weights(*net, a.pos(3), true);
    net->header.seen = 0;
    save_weights(*net, a.pos(4), static_cast<int>(std::min<long>(upto, net->num_layers())));
    std::fprintf(stderr, "Saved the first %ld of %d layers of %s to %s\n", std::min<long>(upto, net->num_layers()),
                 net->num_layers(), a.pos(3).c_str(), a.pos(4).c_str());
    return 0;
}

}  // namespace dn
