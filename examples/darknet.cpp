// The darknet command line: `darknet <verb> ...` as in Darknet.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "darknet/buffer.hpp"
#include "darknet/error.hpp"
#include "darknet/network.hpp"
#include "darknet/random.hpp"

namespace dn {

namespace {
/// The common flags that take a value (every function accepts them).
const std::vector<std::string> kCommonValueFlags = {"-threads", "-seed", "-i", "-gpus"};
}  // namespace

void apply_common_flags(int argc, char** argv) {
    Args a(argc, argv, kCommonValueFlags);
    if (a.flag("-threads")) set_num_threads(a.integer("-threads", 0));
    // `rnn` takes -seed as its seed text and -srand as the random seed, as pjreddie's does
    const bool rnn = argc > 1 && !std::strcmp(argv[1], "rnn");
    if (a.flag("-seed") && !rnn) set_seed(static_cast<uint64_t>(a.integer("-seed", 0)));
#ifndef DN_GPU
    if (a.flag("-i") || a.flag("-gpus"))
        warn("this darknet was built without GPU support (make GPU=1); running on the CPU");
#endif
}

}  // namespace dn

namespace {

struct Verb {
    const char* name;
    int (*fn)(int, char**);
    const char* usage;
};

const Verb kVerbs[] = {
    {"detector", dn::run_detector, "detector test|train|map|valid|recall|calc_anchors|demo <data> <cfg> [weights] [image] [-thresh 0.25] "
                                   "[-ext_output] [-dont_show] [-out result.json] [-map] [-clear]"},
    {"classifier", dn::run_classifier, "classifier train|valid|predict <data> <cfg> [weights] [image]"},
    {"partial", dn::run_partial, "partial <cfg> <weights> <output> <layers> (first layers' weights, seen=0)"},
    {"detect", dn::run_detect, "detect <cfg> <weights> [image] (COCO names, cfg/coco.data)"},
    {"yolo", dn::run_yolo, "yolo test|train|valid|recall <cfg> [weights] [image] [-thresh 0.2] (YOLOv1; VOC names, cfg/voc.data)"},
    {"rnn", dn::run_rnn, "rnn train|generate|valid <cfg> [weights] [-file text] [-len 1000] [-seed TEXT] [-temp 0.7] [-srand N] (characters)"},
    {"average", dn::run_tool, "average <cfg> <output weights> <weights> [<weights>...] (the mean of every array)"},
    {"ops", dn::run_tool, "ops <cfg> (floating point operations of a forward pass)"},
    {"rgbgr", dn::run_tool, "rgbgr <cfg> <weights> <output weights> (first convolution takes BGR for RGB)"},
    {"denormalize", dn::run_tool, "denormalize <cfg> <weights> <output weights> (batchnorm folded into the weights)"},
    {"normalize", dn::run_tool, "normalize <cfg> <weights> <output weights> (identity batchnorm added)"},
    {"print", dn::run_tool, "print <cfg> <weights> <layer> (a layer's weights, a filter a line)"},
    {"gradcheck", dn::run_gradcheck, "gradcheck <cfg> [-layer i] [-eval] [-float32] [-batch 2] (exact backward check)"},
    {"benchmark", dn::run_benchmark, "benchmark <cfg> [weights] [-image img] [-runs 50] [-threads N] [-profile]"},
};

void usage(const char* prog) {
    std::fprintf(stderr, "usage: %s <function> [args]\n\nfunctions:\n", prog);
    for (const auto& v : kVerbs) std::fprintf(stderr, "  %s %s\n", prog, v.usage);
    std::fprintf(stderr, "\ncommon flags (anywhere): -threads N (CPU threads), -seed N, -i N (GPU index; GPU builds use 0\n"
                 "by default), -nogpu (the CPU in a GPU build)\n");
}

// First-touch page faults cost ~10 us per 4 KiB page in a virtual machine: a whole `detector
// test` process took ~2700 of them (~30 ms of its ~100). So the heap serves allocations up to
// 32 MiB, keeps what is freed, and its first 16 MiB are mapped in one call (~3 ms) before any
// network exists. DARKNET_NO_PREFAULT=1 turns this off.
void prefault_heap() {
    if (std::getenv("DARKNET_NO_PREFAULT")) return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const size_t bytes = size_t(16) << 20;
    if (void* p = std::malloc(bytes)) {
        dn::prefault(p, bytes);
        std::free(p);
    }
}

// Darknet reads its common flags anywhere, also before the function (`darknet -i 1 detector
// test ...`, `darknet -nogpu classifier train ...`): those moved behind the function's arguments.
std::vector<char*> common_flags_last(int argc, char** argv) {
    std::vector<char*> front{argv[0]}, moved;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && std::strcmp(argv[i], "-h") && std::strcmp(argv[i], "--help"); ++i) {
        moved.push_back(argv[i]);
        for (const std::string& f : dn::kCommonValueFlags)
            if (f == argv[i] && i + 1 < argc) moved.push_back(argv[++i]);
    }
    for (; i < argc; ++i) front.push_back(argv[i]);
    front.insert(front.end(), moved.begin(), moved.end());
    front.push_back(nullptr);
    return front;
}

int out_of_memory() {
    std::fprintf(stderr, "darknet: error: out of memory\n");
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    prefault_heap();
    std::vector<char*> args = common_flags_last(argc, argv);
    argv = args.data();
    if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
        usage(argv[0]);
        return argc < 2 ? 1 : 0;
    }
    try {
        dn::apply_common_flags(argc, argv);
        for (const auto& v : kVerbs)
            if (!std::strcmp(argv[1], v.name)) return v.fn(argc, argv);
        std::fprintf(stderr, "darknet: error: unknown function '%s'\n\n", argv[1]);
        usage(argv[0]);
        return 1;
    } catch (const dn::Error& e) {
        std::fprintf(stderr, "darknet: error: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        return out_of_memory();
    } catch (const std::length_error&) {  // a std::vector asked for more than it can hold
        return out_of_memory();
    }
}
