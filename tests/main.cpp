// Test runner: GoogleTest, ending with the plain line "N passed, N failed[, N skipped]".
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "darknet/error.hpp"
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
