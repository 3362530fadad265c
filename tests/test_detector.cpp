// End to end on the real COCO-pretrained yolo-fastest models and photos in ../shared:
// `darknet detector test`, its flags and outputs, and the cross-check against OpenCV's DNN module.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include "darknet/detect_data.hpp"
#include "darknet/detection.hpp"
#include "darknet/detector.hpp"
#include "darknet/image.hpp"
#include "darknet/map.hpp"
#include "test_util.hpp"

using namespace dn;
using dn::test::run;

namespace {

std::string xl_args() {
    std::string m = dn::test::model_dir();
    return dn::test::repo_root() + "/cfg/coco.data " + m + "/yolo-fastest-1.1-xl.cfg " + m + "/yolo-fastest-1.1-xl.weights";
}

std::string image(const char* name) { return dn::test::shared_dir() + "/images/" + name; }

// Runs the CLI in a fresh directory (it writes predictions.jpg there); returns stdout+stderr.
std::string cli(const std::string& args, int* rc, std::string* dir_out = nullptr) {
    std::string dir = dn::test::make_temp_dir();
    if (dir_out) *dir_out = dir;
    return run("cd " + dir + " && " + dn::test::darknet_bin() + " " + args, rc);
}

// Builds with OPENCV=1 decode JPEGs with OpenCV's imread (libjpeg), whose pixels differ from
// stb_image's by a step here and there: dog.jpg's cat is then 34.4% instead of 35.0%. The
// reference percentages below are stb_image's; an OpenCV build is allowed one point more.
#ifdef DN_OPENCV
constexpr int kDecoderPoints = 1;
#else
constexpr int kDecoderPoints = 0;
#endif

}  // namespace

// The confidences AlexeyAB's Darknet prints for yolo-fastest-1.1-xl on dog.jpg.
TEST(Detector, XlOnDogMatchesReferenceDarknet) {
    DN_REQUIRE_SHARED();
    int rc = 0;
    std::string out = cli("detector test " + xl_args() + " " + image("dog.jpg") + " -dont_show", &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(std::regex_search(out, std::regex("dog.jpg: Predicted in [0-9.]+ milli-seconds\\."))) << out;
    for (auto [name, pct] : {std::pair{"dog", 93}, {"bicycle", 90}, {"car", 80}, {"truck", 46}, {"cat", 35}}) {
        const std::regex line(std::string("\n") + name + ": ([0-9]+)%(?=\n)");
        bool found = false;
        for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it)
            found = found || std::abs(std::stoi((*it)[1]) - pct) <= kDecoderPoints;
        EXPECT_TRUE(found) << "missing " << name << ": " << pct << "% in\n" << out;
    }
}

TEST(Detector, ProbabilitiesAndBoxesThroughTheLibrary) {
    DN_REQUIRE_SHARED();
    std::string m = dn::test::model_dir();
    auto net = Network<float>::from_cfg_file(m + "/yolo-fastest-1.1-xl.cfg", 1);
    load_weights(*net, m + "/yolo-fastest-1.1-xl.weights");
    net->set_inference_fusion(true);
    Image im = load_image(image("dog.jpg"), 3);
    std::vector<Detection> dets = detect_image(*net, im, DetectOptions{});
    struct Want { int cls; float p; };
    // COCO ids: bicycle 1, car 2, truck 7, cat 15, dog 16; Darknet's printed percentages +- 0.5
    for (Want w : {Want{16, .93f}, Want{1, .90f}, Want{2, .80f}, Want{7, .46f}, Want{15, .35f}}) {
        int hits = 0;
        for (const auto& d : dets)
            if (d.prob[w.cls] > 0.25f) {
                ++hits;
                EXPECT_NEAR(d.prob[w.cls], w.p, 0.005f + 0.01f * kDecoderPoints) << "class " << w.cls;
            }
        EXPECT_EQ(hits, 1) << "class " << w.cls;
    }
    // the folded-batchnorm fast path and the exact eval path give the same detections
    net->set_inference_fusion(false);
    std::vector<Detection> exact = detect_image(*net, im, DetectOptions{});
    ASSERT_EQ(exact.size(), dets.size());
    for (size_t i = 0; i < dets.size(); ++i) {
        EXPECT_NEAR(exact[i].bbox.x, dets[i].bbox.x, 1e-4);
        EXPECT_NEAR(exact[i].bbox.w, dets[i].bbox.w, 1e-4);
        for (size_t k = 0; k < dets[i].prob.size(); ++k) EXPECT_NEAR(exact[i].prob[k], dets[i].prob[k], 1e-4);
    }
}

TEST(Detector, ExtOutputJsonAndPredictionsImage) {
    DN_REQUIRE_SHARED();
    int rc = 0;
    std::string dir;
    std::string out = cli("detector test " + xl_args() + " " + image("dog.jpg") +
                              " -dont_show -ext_output -out result.json -thresh 0.4",
                          &rc, &dir);
    ASSERT_EQ(rc, 0) << out;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("dog: 93%\t\\(left_x: +(\\d+) +top_y: +(\\d+) +width: +(\\d+) +height: +(\\d+)\\)")))
        << out;
    // the dog sits in the lower-left part of the 768x576 photo
    EXPECT_LT(std::stoi(m[1]), 200);
    EXPECT_GT(std::stoi(m[2]), 150);
    EXPECT_EQ(out.find("cat:"), std::string::npos) << "cat (35%) is under -thresh 0.4";
    std::string json = read_text_file(dir + "/result.json");
    EXPECT_EQ(json.substr(0, 2), "[\n");
    EXPECT_NE(json.find("\"frame_id\":1"), std::string::npos) << json;
    EXPECT_NE(json.find("\"filename\":\"" + image("dog.jpg") + "\""), std::string::npos) << json;
    EXPECT_TRUE(std::regex_search(json, std::regex("\\{\"class_id\":16, \"name\":\"dog\", \"relative_coordinates\":\\{\"center_x\":0\\.3[0-9]+, "
                                                   "\"center_y\":0\\.6[0-9]+, \"width\":[0-9.]+, \"height\":[0-9.]+\\}, \"confidence\":0\\.93[0-9]+\\}")))
        << json;
    // valid JSON, checked by Python's parser when available
    int prc = 0;
    run("/usr/bin/python3 -c \"import json,sys; d=json.load(open('" + dir + "/result.json')); "
        "assert d[0]['objects'] and all('confidence' in o for o in d[0]['objects'])\"", &prc);
    EXPECT_EQ(prc, 0);
    Image pred = load_image(dir + "/predictions.jpg");
    EXPECT_EQ(pred.w, 768);
    EXPECT_EQ(pred.h, 576);
}

// eval=coco lines by hand: pixel boxes clipped to the image, COCO's category ids.
TEST(CocoResults, IdsAndLinesByHand) {
    EXPECT_EQ(coco_image_id("/data/val2017/000000397133.jpg"), 397133);
    EXPECT_EQ(coco_image_id("COCO_val2014_000000000042.jpg"), 42);
    EXPECT_EQ(coco_image_id("images/7.png"), 7);
    for (const char* bad : {"dog.jpg", "COCO_val2014_.jpg", "/a/b_c.jpg", "x_12a.jpg"}) {
        std::string msg = dn::test::error_of([&] { coco_image_id(bad); });
        EXPECT_NE(msg.find(std::string("image '") + bad + "' has no COCO image id"), std::string::npos) << msg;
    }
    std::vector<Detection> dets(2);
    dets[0] = {{0.5f, 0.5f, 0.5f, 0.25f}, 0.9f, std::vector<float>(80, 0.f)};
    dets[0].prob[0] = 0.75f;   // person: id 1
    dets[0].prob[79] = 0.5f;   // toothbrush: id 90
    dets[1] = {{0.0625f, 0.9375f, 0.25f, 0.25f}, 0.6f, std::vector<float>(80, 0.f)};  // overhangs left and bottom
    dets[1].prob[11] = 0.25f;  // class 11 (stop sign): id 13, after COCO's gap at 12
    EXPECT_EQ(detections_to_coco(dets, 42, 200, 100),
              "{\"image_id\":42, \"category_id\":1, \"bbox\":[50.000000, 37.500000, 100.000000, 25.000000], \"score\":0.750000},\n"
              "{\"image_id\":42, \"category_id\":90, \"bbox\":[50.000000, 37.500000, 100.000000, 25.000000], \"score\":0.500000},\n"
              "{\"image_id\":42, \"category_id\":13, \"bbox\":[0.000000, 81.250000, 37.500000, 18.750000], \"score\":0.250000},\n");
    dets[1].prob.resize(81);
    EXPECT_NE(dn::test::error_of([&] { detections_to_coco(dets, 1, 10, 10); }).find("81 classes"), std::string::npos);
}

// detector valid with eval=coco on a COCO-named copy of dog.jpg: pycocotools' JSON, whose dog
// box is the one detector test -ext_output prints.
TEST(Detector, ValidWritesCocoResults) {
    DN_REQUIRE_SHARED();
    const std::string dir = dn::test::make_temp_dir();
    const std::string m = dn::test::model_dir();
    int rc = 0;
    run("ln -s " + image("dog.jpg") + " " + dir + "/000000000042.jpg && echo " + dir + "/000000000042.jpg > " + dir +
            "/val.txt && printf 'classes=80\\nnames=" + m + "/coco.names\\nvalid=" + dir + "/val.txt\\neval=coco\\n' > " +
            dir + "/coco.data",
        &rc);
    ASSERT_EQ(rc, 0);
    const std::string net = m + "/yolo-fastest-1.1-xl.cfg " + m + "/yolo-fastest-1.1-xl.weights";
    std::string out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector valid coco.data " + net, &rc);
    ASSERT_EQ(rc, 0) << out;
    // the highest-scoring dog (category 18) as "x y w h score", read by Python's JSON parser
    std::string py = run("/usr/bin/python3 -c \"import json; d=json.load(open('" + dir +
                             "/results/coco_results.json')); assert all(r['image_id']==42 for r in d); "
                             "b=max((r for r in d if r['category_id']==18), key=lambda r: r['score']); "
                             "print(*b['bbox'], b['score'])\"",
                         &rc);
    ASSERT_EQ(rc, 0) << py;
    std::istringstream in(py);
    double x, y, w, h, score;
    in >> x >> y >> w >> h >> score;
    EXPECT_NEAR(score, 0.93, 0.01);
    out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector test " + dn::test::repo_root() +
                  "/cfg/coco.data " + net + " " + image("dog.jpg") + " -dont_show -ext_output",
              &rc);
    std::smatch e;
    ASSERT_TRUE(std::regex_search(out, e, std::regex("dog: 93%\t\\(left_x: +(-?\\d+) +top_y: +(-?\\d+) +width: +(\\d+) +height: +(\\d+)\\)")))
        << out;
    EXPECT_NEAR(x, std::max(0, std::stoi(e[1])), 1.5);
    EXPECT_NEAR(y, std::max(0, std::stoi(e[2])), 1.5);
    EXPECT_NEAR(w, std::stoi(e[3]), 2.5);
    EXPECT_NEAR(h, std::stoi(e[4]), 2.5);
    // a name without an id, and classes other than COCO's 80, are errors before any detection
    run("ln -s " + image("dog.jpg") + " " + dir + "/dog.jpg && echo " + dir + "/dog.jpg > " + dir + "/val.txt", &rc);
    out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector valid coco.data " + net, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("has no COCO image id"), std::string::npos) << out;
    run("sed -i 's/classes=80/classes=3/; /names=/d' " + dir + "/coco.data", &rc);
    out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector valid coco.data " + net, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("eval=coco maps the 80 COCO classes"), std::string::npos) << out;
}

// -save_labels' lines: the best class above thresh, the box clipped to the image.
TEST(Detector, SaveLabelsLinesAreClippedYoloLabels) {
    auto det = [](float x, float y, float w, float h, std::vector<float> prob) {
        Detection d;
        d.bbox = {x, y, w, h};
        d.prob = std::move(prob);
        return d;
    };
    const std::vector<Detection> dets = {
        det(0.5f, 0.5f, 0.2f, 0.4f, {0.1f, 0.7f, 0.5f}),   // class 1
        det(0.3f, 0.3f, 0.1f, 0.1f, {0.2f, 0.0f, 0.24f}),  // nothing above .25: skipped
        det(0.95f, 0.1f, 0.2f, 0.4f, {0.0f, 0.0f, 0.9f}),  // overhangs right and top: x in [.85, 1], y in [0, .3]
        det(1.2f, 0.5f, 0.2f, 0.2f, {0.9f, 0.0f, 0.0f}),   // wholly outside: skipped
    };
    EXPECT_EQ(detections_to_labels(dets, 0.25f),
              "1 0.500000 0.500000 0.200000 0.400000\n"
              "2 0.925000 0.150000 0.150000 0.300000\n");
    EXPECT_EQ(detections_to_labels({}, 0.25f), "");
}

// detector test -save_labels writes the image's label file by Darknet's path rule, which reads
// back as the detections printed; an existing label file is kept.
TEST(Detector, SaveLabelsWritesTheImagesLabelFile) {
    DN_REQUIRE_SHARED();
    const std::string dir = dn::test::make_temp_dir();
    run("mkdir -p " + dir + "/images " + dir + "/labels && cp " + image("dog.jpg") + " " + dir + "/images/");
    int rc = 0;
    std::string out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector test " + xl_args() + " " + dir +
                              "/images/dog.jpg -dont_show -save_labels",
                          &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Labels saved to " + dir + "/labels/dog.txt"), std::string::npos) << out;
    std::vector<std::string> problems;
    const std::vector<BoxLabel> labels = read_box_labels(dir + "/labels/dog.txt", 80, problems);
    EXPECT_TRUE(problems.empty()) << problems[0];
    std::vector<int> classes;
    for (const auto& l : labels) classes.push_back(l.cls);
    std::sort(classes.begin(), classes.end());
    EXPECT_EQ(classes, (std::vector<int>{1, 2, 7, 15, 16})) << read_text_file(dir + "/labels/dog.txt");  // bicycle car truck cat dog
    const std::string before = read_text_file(dir + "/labels/dog.txt");
    out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector test " + xl_args() + " " + dir +
                  "/images/dog.jpg -dont_show -save_labels -thresh 0.9",
              &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("labels/dog.txt exists; not overwritten"), std::string::npos) << out;
    EXPECT_EQ(read_text_file(dir + "/labels/dog.txt"), before);
}

TEST(Detector, ReadsImagePathsFromStdinUntilEof) {
    DN_REQUIRE_SHARED();
    int rc = 0;
    std::string dir = dn::test::make_temp_dir();
    std::string out = run("cd " + dir + " && printf '%s\\n%s\\n/nonexistent.jpg\\n%s\\n' " + image("eagle.jpg") + " " +
                              image("horses.jpg") + " " + image("person.jpg") + " | " + dn::test::darknet_bin() +
                              " detector test " + xl_args() + " -dont_show -out all.json",
                          &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("eagle.jpg: Predicted in"), std::string::npos) << out;
    EXPECT_NE(out.find("horses.jpg: Predicted in"), std::string::npos) << out;
    EXPECT_NE(out.find("person.jpg: Predicted in"), std::string::npos) << out;
    EXPECT_NE(out.find("cannot load image '/nonexistent.jpg'"), std::string::npos) << out;
    EXPECT_NE(out.find("bird: "), std::string::npos) << out;
    EXPECT_NE(out.find("horse: "), std::string::npos) << out;
    EXPECT_NE(out.find("person: "), std::string::npos) << out;
    std::string json = read_text_file(dir + "/all.json");
    EXPECT_NE(json.find("\"frame_id\":3"), std::string::npos) << json;
}

TEST(Detector, NonXlModelAndDetectShorthand) {
    DN_REQUIRE_SHARED();
    std::string m = dn::test::model_dir();
    int rc = 0;
    std::string out = run("cd " + dn::test::repo_root() + " && " + dn::test::darknet_bin() + " detect " + m +
                              "/yolo-fastest-1.1.cfg " + m + "/yolo-fastest-1.1.weights " + image("person.jpg") +
                              " -dont_show && rm -f predictions.jpg",
                          &rc);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("\nperson: 99%\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\ndog: "), std::string::npos) << out;
}

// detector demo on a video (3 frames of dog.jpg, shifted, Motion-JPEG): each frame's "Objects:"
// block equals `detector test` on that frame decoded to a PNG, -out_filename writes the 3 frames
// at the video's size, -out one JSON element per frame. A build without OpenCV says what it needs.
TEST(Detector, DemoOnAVideoEqualsDetectorTestOnItsFrames) {
    DN_REQUIRE_SHARED();
    std::string m = dn::test::model_dir();
    const std::string args = dn::test::repo_root() + "/cfg/coco.data " + m + "/yolo-fastest-1.1.cfg " + m +
                             "/yolo-fastest-1.1.weights";
    int rc = 0;
#ifndef DN_OPENCV
    std::string out = cli("detector demo " + args + " video.avi -dont_show", &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("detector demo reads video through OpenCV: build with make OPENCV=1"), std::string::npos) << out;
#else
    const std::string dir = dn::test::make_temp_dir();
    std::string out = run("cd " + dir + " && /usr/bin/python3 -c \"import cv2, numpy as np\n"
                          "im = cv2.imread('" + image("dog.jpg") + "'); h, w = im.shape[:2]\n"
                          "v = cv2.VideoWriter('v.avi', cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h))\n"
                          "for i in range(3): v.write(np.roll(im, 24 * i, axis=1))\n"
                          "v.release(); c = cv2.VideoCapture('v.avi')\n"
                          "for i in range(3): cv2.imwrite('f%d.png' % i, c.read()[1])\n\"",
                          &rc);
    if (rc != 0) GTEST_SKIP() << "needs /usr/bin/python3 with cv2 (python3-opencv) to make the video: " << out;
    out = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector demo " + args +
                  " v.avi -dont_show -out_filename out.avi -out res.json 2>/dev/null",
              &rc);
    ASSERT_EQ(rc, 0) << out;
    std::vector<std::string> blocks;
    for (size_t at = out.find("\nObjects:\n\n"); at != std::string::npos; at = out.find("\nObjects:\n\n", at + 1)) {
        const size_t from = at + 11, to = out.find("\nFPS:", from);
        ASSERT_NE(to, std::string::npos) << out;
        blocks.push_back(out.substr(from, to - from));
    }
    ASSERT_EQ(blocks.size(), 3u) << out;
    EXPECT_NE(out.find("3 frames, written to out.avi"), std::string::npos) << out;
    for (int k = 0; k < 3; ++k) {
        std::string t = run("cd " + dir + " && " + dn::test::darknet_bin() + " detector test " + args +
                                strfmt(" f%d.png -dont_show 2>/dev/null", k),
                            &rc);
        ASSERT_EQ(rc, 0) << t;
        t = t.substr(t.find("milli-seconds.\n") + 15);
        EXPECT_EQ(blocks[k], t) << "frame " << k;
        EXPECT_NE(blocks[k].find("dog: "), std::string::npos) << blocks[k];
    }
    out = run("cd " + dir + " && /usr/bin/python3 -c \"import cv2, json\nc = cv2.VideoCapture('out.avi'); n = 0\n"
              "while c.read()[0]: n += 1\nprint(n, int(c.get(3)), int(c.get(4)), len(json.load(open('res.json'))))\"",
              &rc);
    EXPECT_EQ(out, "3 768 576 3\n");
#endif
}

TEST(Detector, LetterboxFlag) {
    DN_REQUIRE_SHARED();
    int rc = 0;
    std::string out = cli("detector test " + xl_args() + " " + image("dog.jpg") + " -dont_show -letter_box", &rc);
    ASSERT_EQ(rc, 0) << out;
    // letterboxing changes the input, so the scores move, but the dog is still found
    EXPECT_TRUE(std::regex_search(out, std::regex("\ndog: [0-9]+%\n"))) << out;
}

TEST(Detector, BadArgumentsGiveClearErrors) {
    DN_REQUIRE_SHARED();
    int rc = 0;
    std::string out = cli("detector test " + xl_args() + " /nonexistent.jpg -dont_show", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("darknet: error: cannot load image '/nonexistent.jpg'"), std::string::npos) << out;
    out = cli("detector test " + xl_args() + " " + image("dog.jpg") + " -thresh abc", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("flag -thresh expects a number, got 'abc'"), std::string::npos) << out;
    out = cli("detector bogus a b c", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("unknown detector command 'bogus'"), std::string::npos) << out;
}

// Independent implementation: OpenCV's DNN module on the same cfg, weights and input blob.
TEST(Detector, AgreesWithOpenCvDnn) {
    DN_REQUIRE_SHARED();
    int rc = 0;
    std::string root = dn::test::repo_root();
    std::string out = run("DARKNET_LIB=" + root + "/libdarknet.so /usr/bin/python3 " + root + "/tests/opencv_compare.py " +
                              dn::test::shared_dir(),
                          &rc);
    if (rc == 77) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    std::printf("%s", out.c_str());
}

// A [region] head's detections by hand (Darknet's get_region_detections): a 3x3 grid, anchors in
// grid cells. Every logit is 0 but anchor 1 at cell (col 2, row 1): x logit ln 3 (x = 0.75),
// w logit ln 2, objectness logit 2, class logits (0, ln 3) -> softmax (0.25, 0.75).
TEST(Detector, RegionDetectionsByHand) {
    auto net = dn::test::net_from<float>("[net]\nbatch=1\nwidth=3\nheight=3\nchannels=14\n"
                                         "[region]\nclasses=2\nnum=2\ncoords=4\nsoftmax=1\nanchors=1,1,2,1.5\n");
    std::vector<float> x(14 * 9, 0.f);
    const int loc = 1 * 3 + 2, n = 1;
    auto at = [&](int e) { return static_cast<size_t>(n) * 7 * 9 + e * 9 + loc; };
    x[at(0)] = std::log(3.f);
    x[at(2)] = std::log(2.f);
    x[at(4)] = 2.f;
    x[at(6)] = std::log(3.f);
    net->forward(x.data());
    const float obj = 1 / (1 + std::exp(-2.f));
    std::vector<Detection> d = net->get_detections(300, 300, 0.6f, false);
    ASSERT_EQ(d.size(), 1u) << "one slot has objectness above 0.6 (the others: 0.5)";
    EXPECT_NEAR(d[0].bbox.x, (2 + 0.75f) / 3, 1e-6);
    EXPECT_NEAR(d[0].bbox.y, (1 + 0.5f) / 3, 1e-6);
    EXPECT_NEAR(d[0].bbox.w, 2 * 2.f / 3, 1e-6);
    EXPECT_NEAR(d[0].bbox.h, 1.5f / 3, 1e-6);
    EXPECT_NEAR(d[0].objectness, obj, 1e-6);
    EXPECT_EQ(d[0].prob[0], 0.f) << "0.25 * objectness is under the threshold";
    EXPECT_NEAR(d[0].prob[1], 0.75f * obj, 1e-6);
}

// The YOLOv2 layers ([reorg], [region]) agree with OpenCV's DNN module on a small random-weights
// network (tests/opencv_compare_region.py).
TEST(Detector, Yolov2LayersAgreeWithOpenCvDnn) {
    int rc = 0;
    const std::string out = run("DARKNET_LIB=" + dn::test::repo_root() + "/libdarknet.so /usr/bin/python3 " +
                                    dn::test::repo_root() + "/tests/opencv_compare_region.py " + dn::test::make_temp_dir(),
                                &rc);
    if (rc == 77) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("PASS"), std::string::npos) << out;
}

TEST(Nms, IouDiouAndPerClassSuppression) {
    Box a{0.5f, 0.5f, 0.2f, 0.2f}, b{0.55f, 0.5f, 0.2f, 0.2f}, far{0.9f, 0.9f, 0.1f, 0.1f};
    // overlap 0.15 x 0.2 = 0.03; union 0.04 + 0.04 - 0.03 = 0.05
    EXPECT_NEAR(box_iou(a, b), 0.6f, 1e-6);
    EXPECT_EQ(box_iou(a, far), 0.f);
    // enclosing box 0.25 x 0.2: c = 0.0625 + 0.04; d = 0.05^2
    EXPECT_NEAR(box_diou(a, b, 0.6f), 0.6 - std::pow(0.0025 / 0.1025, 0.6), 1e-6);
    std::vector<Detection> dets(3);
    dets[0].bbox = a;
    dets[0].objectness = 0.9f;
    dets[0].prob = {0.8f, 0.f};
    dets[1].bbox = b;
    dets[1].objectness = 0.9f;
    dets[1].prob = {0.9f, 0.7f};
    dets[2].bbox = far;
    dets[2].objectness = 0.f;  // dropped by Darknet's rule
    dets[2].prob = {0.5f, 0.f};
    nms_sort(dets, 2, 0.45f, NmsKind::Default, 0.6f);
    // class 0: b (0.9) suppresses a (0.8); class 1: only b
    float a0 = 0, b0 = 0, b1 = 0;
    for (const auto& d : dets) {
        if (d.bbox.x == a.x) a0 = d.prob[0];
        if (d.bbox.x == b.x) {
            b0 = d.prob[0];
            b1 = d.prob[1];
        }
    }
    EXPECT_EQ(a0, 0.f);
    EXPECT_EQ(b0, 0.9f);
    EXPECT_EQ(b1, 0.7f);
    // with a threshold above the IoU nothing is suppressed
    for (auto& d : dets)
        if (d.bbox.x == a.x) d.prob = {0.8f, 0.f};
    nms_sort(dets, 2, 0.65f, NmsKind::Default, 0.6f);
    for (const auto& d : dets) {
        if (d.bbox.x == a.x) {
            EXPECT_EQ(d.prob[0], 0.8f);
        }
    }
}

// Darknet's do_nms_obj: one ranking by objectness for all classes.
TEST(Nms, ObjectnessNmsIgnoresTheClasses) {
    Box a{0.5f, 0.5f, 0.2f, 0.2f}, b{0.55f, 0.5f, 0.2f, 0.2f}, c{0.6f, 0.5f, 0.2f, 0.2f}, far{0.1f, 0.1f, 0.1f, 0.1f};
    std::vector<Detection> dets(5);
    dets[0] = {b, 0.7f, {0.f, 0.6f}};    // IoU(a, b) = 0.6: suppressed by a, although of another class
    dets[1] = {a, 0.9f, {0.8f, 0.f}};
    dets[2] = {far, 0.f, {0.5f, 0.f}};   // zero objectness: dropped
    dets[3] = {c, 0.5f, {0.4f, 0.f}};    // IoU(a, c) = 0.02 / 0.06 = 1/3, IoU(b, c) = 0.6 but b is gone
    dets[4] = {far, 0.3f, {0.f, 0.2f}};
    nms_obj(dets, 0.4f);
    ASSERT_EQ(dets.size(), 4u);
    EXPECT_EQ(dets[0].objectness, 0.9f);  // sorted by objectness
    EXPECT_EQ(dets[0].prob[0], 0.8f);
    EXPECT_EQ(dets[1].bbox.x, b.x);
    EXPECT_EQ(dets[1].objectness, 0.f);
    EXPECT_EQ(dets[1].prob[1], 0.f);
    EXPECT_EQ(dets[2].bbox.x, c.x);
    EXPECT_EQ(dets[2].objectness, 0.5f);  // kept: its only overlap above 0.4 is with a suppressed box
    EXPECT_EQ(dets[3].objectness, 0.3f);
}

// validate_detector_recall's counts by hand.
TEST(Recall, CountsProposalsAndBestOverlaps) {
    std::vector<Detection> dets(3);
    dets[0] = {{0.5f, 0.5f, 0.2f, 0.2f}, 0.9f, {0.f}};
    dets[1] = {{0.2f, 0.2f, 0.1f, 0.1f}, 0.0005f, {0.f}};  // below thresh: no proposal, not matched
    dets[2] = {{0.8f, 0.8f, 0.2f, 0.2f}, 0.2f, {0.f}};
    std::vector<BoxLabel> truths = {{3, 0.55f, 0.5f, 0.2f, 0.2f},   // IoU 0.6 with dets[0]
                                    {0, 0.2f, 0.2f, 0.1f, 0.1f},    // only dets[1] covers it
                                    {1, 0.8f, 0.85f, 0.2f, 0.2f}};  // IoU 0.15/0.25 = 0.6 with dets[2]
    RecallCounts r;
    add_recall(r, dets, truths, 0.001f, 0.5f);
    EXPECT_EQ(r.images, 1);
    EXPECT_EQ(r.proposals, 2);
    EXPECT_EQ(r.total, 3);
    EXPECT_EQ(r.correct, 2);
    EXPECT_NEAR(r.avg_iou(), (0.6 + 0 + 0.6) / 3, 1e-6);
    add_recall(r, {}, {{0, 0.5f, 0.5f, 0.1f, 0.1f}}, 0.001f, 0.5f);  // an image with nothing found
    EXPECT_EQ(r.images, 2);
    EXPECT_EQ(r.total, 4);
    EXPECT_DOUBLE_EQ(r.recall(), 0.5);
    add_recall(r, dets, truths, 0.001f, 0.7f);
    EXPECT_EQ(r.correct, 2);  // no IoU above 0.7
}

// An empty names file (no class names): the boxes are drawn in one colour. class_color divided by
// the name count, 0, and indexed its colour table with NaN cast to int (found by the fuzzer).
TEST(Draw, DetectionsWithoutClassNamesAreDrawn) {
    EXPECT_EQ(class_color(0, 0, 0), class_color(0, 0, 1));
    dn::Image im(40, 30, 3, 0.f);
    dn::Detection d;
    d.bbox = {0.5f, 0.5f, 0.5f, 0.5f};
    d.objectness = 0.9f;
    d.prob = {0.f, 0.8f, 0.f};
    draw_detections(im, {d}, 0.25f, {});
    float sum = 0;
    for (int y = 0; y < im.h; ++y)
        for (int x = 0; x < im.w; ++x) sum += im.at(x, y, 0) + im.at(x, y, 1) + im.at(x, y, 2);
    EXPECT_GT(sum, 0.f) << "the box is drawn";
}

// Labels with bytes outside printable ASCII (a names file in UTF-8, control bytes) are drawn as
// '?': stb_easy_font indexed its glyph table with (char - 32), out of bounds (found by the fuzzer
// under UBSan).
TEST(Draw, NonAsciiLabelsDrawAsQuestionMarks) {
    const float fg[3] = {1, 1, 1}, bg[3] = {0, 0, 0};
    dn::Image a(60, 20, 3, 0.5f), b(60, 20, 3, 0.5f), c(60, 20, 3, 0.5f);
    draw_text(a, 1, 1, "ca\xc3\xa9\x01", 1, fg, bg);
    draw_text(b, 1, 1, "ca???", 1, fg, bg);
    draw_text(c, 1, 1, "ca", 1, fg, bg);
    auto same = [](const dn::Image& p, const dn::Image& q) {
        return std::equal(p.data.begin(), p.data.end(), q.data.begin());
    };
    EXPECT_TRUE(same(a, b));
    EXPECT_FALSE(same(a, c)) << "the replaced bytes are drawn";
}
