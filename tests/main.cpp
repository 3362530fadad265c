// Test runner: GoogleTest, ending with the plain line "N passed, N failed[, N skipped]".
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet/error.hpp"
#include "darknet/image.hpp"
#include "test_util.hpp"

namespace dn::test {

std::string repo_root() {
    const char* r = std::getenv("DARKNET_ROOT");
    if (r && *r) return r;
    char buf[4096];
    return getcwd(buf, sizeof(buf)) ? std::string(buf) : std::string(".");
}

std::string shared_dir() {
    const char* s = std::getenv("DARKNET_SHARED");
    if (s && *s) return s;
    return repo_root() + "/../shared";
}

bool have_shared() { return file_exists(model_dir() + "/yolo-fastest-1.1-xl.weights"); }

std::string darknet_path() {
    const char* b = std::getenv("DARKNET_BIN");
    return b && *b ? std::string(b) : repo_root() + "/darknet";
}

std::string darknet_bin() {
    // -nogpu: the CLI tests check the CPU specification, also in a GPU build on a GPU machine (which
    // uses device 0 by default, as Darknet); test_gpu_agreement.cpp runs the CLI on the device.
    return darknet_path() + " -nogpu";
}

std::string model_dir() { return shared_dir() + "/models/yolo-fastest-1.1"; }

std::string make_temp_dir() {
    char tmpl[] = "/tmp/dn_test_XXXXXX";
    char* d = mkdtemp(tmpl);
    if (!d) throw Error("mkdtemp failed");
    return d;
}

const char* const kFashionLabels[10] = {"tee",   "trouser", "pullover", "dress", "coat",
                                        "sandal", "shirt",  "sneaker", "bag",   "boot"};

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
}

std::string small_classification_set() {
    static std::string dir;
    if (!dir.empty()) return dir;
    dir = make_temp_dir();
    int rc = 0;
    if (file_exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
        std::string out = run("python3 " + repo_root() + "/scripts/fashion_mnist_to_darknet.py "
                              "/usr/share/datasets/fashion-mnist " + dir + " --limit 600", &rc);
        if (rc == 0) return dir;
        ADD_FAILURE() << out;
    }
    std::string labels;
    for (const char* l : kFashionLabels) labels += std::string(l) + "\n";
    write_text(dir + "/labels.txt", labels);
    std::mt19937 g(3);
    std::uniform_real_distribution<float> noise(0, 0.3f);
    for (const char* split : {"train", "test"}) {
        std::string list;
        const int n = std::string(split) == "train" ? 600 : 200;
        for (int i = 0; i < n; ++i) {
            const int k = i % 10;
            Image im(28, 28, 1);
            for (auto& v : im.data) v = noise(g);
            for (int y = 0; y < 10; ++y)
                for (int x = 0; x < 5; ++x) im.at(2 + (k % 5) * 5 + x, 4 + (k / 5) * 12 + y, 0) = 1.f;
            std::string p = dir + "/" + split + "_" + std::to_string(i) + "_" + kFashionLabels[k] + ".png";
            save_image(im, p);
            list += p + "\n";
        }
        write_text(dir + "/" + split + ".list", list);
    }
    write_text(dir + "/fashion.data", "classes=10\ntrain=" + dir + "/train.list\nvalid=" + dir +
                                          "/test.list\nlabels=" + dir + "/labels.txt\nbackup=backup/\ntop=2\n");
    return dir;
}

std::vector<double> losses(const std::string& log) {
    std::vector<double> v;
    std::regex re("^\\d+, [0-9.]+: ([0-9.eE+-]+), ");
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_search(line, m, re)) v.push_back(std::stod(m[1]));
    }
    return v;
}

void expect_loss_curves_close(const std::vector<double>& gpu, const std::vector<double>& cpu, size_t iterations,
                              double rel) {
    ASSERT_EQ(cpu.size(), iterations);
    ASSERT_EQ(gpu.size(), cpu.size());
    for (size_t i = 0; i < cpu.size(); ++i)
        EXPECT_NEAR(gpu[i], cpu[i], rel * std::max(1.0, std::fabs(cpu[i]))) << "iteration " << i + 1;
}

std::string run(const std::string& cmd, int* rc) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) throw Error("popen failed: " + cmd);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    int status = pclose(p);
    if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<char>& b) {
    std::ofstream f(path, std::ios::binary);
    f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

}  // namespace dn::test

namespace {
class Tally : public testing::EmptyTestEventListener {
public:
    void OnTestEnd(const testing::TestInfo& info) override {
        const testing::TestResult* r = info.result();
        if (r->Skipped()) ++skipped;
        else if (r->Failed()) ++failed;
        else ++passed;
    }
    int passed = 0, failed = 0, skipped = 0;
};
}  // namespace

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    dn::set_quiet(true);
    auto* tally = new Tally;
    testing::UnitTest::GetInstance()->listeners().Append(tally);
    int rc = RUN_ALL_TESTS();
    std::printf("%d passed, %d failed", tally->passed, tally->failed);
    if (tally->skipped) std::printf(", %d skipped", tally->skipped);
    std::printf("\n");
    return rc;
}
