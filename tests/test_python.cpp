// The Python binding (python/darknet.py over the C API) and the comparison with PyTorch that users run.
#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace dn::test;

namespace {
// Runs python/<script> with Debian's interpreter on this build's libdarknet.so; *rc its exit status
// (77: torch or numpy missing).
std::string torch_check(const std::string& script, int* rc) {
    return run("DARKNET_LIB=" + repo_root() + "/libdarknet.so /usr/bin/python3 " + repo_root() + "/python/" + script, rc);
}
}  // namespace

TEST(Python, LayersAgreeWithPyTorch) {
    int rc = 0;
    std::string out = torch_check("example_check_vs_torch.py", &rc);
    if (rc == 77) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("PASS"), std::string::npos) << out;
}

// [deconvolutional], antialiasing=1|2 ([convolutional], [maxpool]), [l2norm] and [logistic]
// against PyTorch's conv_transpose2d, conv2d + a depthwise blur, normalize and sigmoid: outputs,
// input gradients and parameter gradients.
TEST(Python, DeconvAntialiasL2normAgreeWithPyTorch) {
    int rc = 0;
    std::string out = torch_check("check_layers_vs_torch.py", &rc);
    if (rc == 77) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("deconv k4 s2 p1"), std::string::npos) << out;
    EXPECT_NE(out.find("PASS"), std::string::npos) << out;
}

// Network.update (dn_network_update): darknet's Adam and SGD steps equal torch.optim's.
TEST(Python, OptimizersAgreeWithPyTorch) {
    int rc = 0;
    std::string out = torch_check("check_adam_vs_torch.py", &rc);
    if (rc == 77) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Adam: 8 steps"), std::string::npos) << out;
    EXPECT_NE(out.find("PASS"), std::string::npos) << out;
}

TEST(Python, BindingReportsErrorsWithTheLibraryMessage) {
    int rc = 0;
    std::string out = run("cd " + repo_root() + " && DARKNET_LIB=" + repo_root() +
                              "/libdarknet.so /usr/bin/python3 -c \"import sys; sys.path.insert(0, 'python'); import darknet\n"
                              "try:\n    darknet.Network('/nonexistent.cfg')\nexcept darknet.DarknetError as e:\n    print('caught:', e)\n"
                              "n = darknet.Network('cfg/classifier-demo.cfg', batch=2)\n"
                              "try:\n    n.param(0, 'bogus')\nexcept darknet.DarknetError as e:\n    print('caught:', e)\n"
                              "try:\n    n.forward(__import__('numpy').zeros(3))\nexcept ValueError as e:\n    print('caught:', e)\n\"",
                          &rc);
    if (out.find("No module named 'numpy'") != std::string::npos) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("caught: cannot open '/nonexistent.cfg'"), std::string::npos) << out;
    EXPECT_NE(out.find("has no parameter 'bogus' (it has: biases, scales, rolling_mean, rolling_variance, weights)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("caught: expected 512 values"), std::string::npos) << out;
}
