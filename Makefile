# darknet — build flags as in Darknet:  make GPU=0/1 CUDNN=0/1 OPENCV=0/1 OPENMP=0/1 DEBUG=0/1
#                                      SANITIZE=address,undefined
# Targets: all (./darknet, libdarknet.a, libdarknet.so), test, bench, demo, clean.
GPU ?= 0
CUDNN ?= 0
OPENCV ?= 0
OPENMP ?= 1
DEBUG ?= 0
SANITIZE ?=
ARCH ?= -march=native
CUDA_PATH ?= /usr/local/cuda
# H100/H200 (sm_90) code plus PTX for newer GPUs
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90

CXX ?= g++
NVCC ?= $(CUDA_PATH)/bin/nvcc

# Objects of each flag combination live apart, so switching flags never mixes them (an ARCH other
# than the default adds its name: ARCH=-march=x86-64-v3 builds under ...-san-march_x86-64-v3).
comma := ,
ARCH_TAG := $(if $(filter -march=native,$(ARCH)),,$(subst =,_,$(subst $(eval) ,,$(ARCH))))
CONFIG := gpu$(GPU)-cudnn$(CUDNN)-cv$(OPENCV)-omp$(OPENMP)-dbg$(DEBUG)-san$(subst $(comma),_,$(SANITIZE))$(ARCH_TAG)
OBJDIR := build/$(CONFIG)

CPPFLAGS := -Iinclude -Isrc -I/usr/include/stb -MMD -MP
CXXFLAGS := -std=c++17 -Wall -Wextra -Wno-unused-function -fPIC -fopenmp-simd -fno-math-errno $(ARCH)
LDLIBS := -lopenblas -lstb -lm -lpthread
LDFLAGS :=

ifeq ($(DEBUG),1)
CXXFLAGS += -O0 -g
else
CXXFLAGS += -O3 -g1
endif
ifeq ($(OPENMP),1)
CXXFLAGS += -fopenmp
LDFLAGS += -fopenmp
# OpenBLAS built on OpenMP (Debian libopenblas0-openmp) shares our thread pool; the default pthread
# build would spin its own threads against ours on the same cores.
OPENBLAS_OMP := /usr/lib/x86_64-linux-gnu/openblas-openmp
ifneq ($(wildcard $(OPENBLAS_OMP)/libopenblas.so),)
LDFLAGS += -L$(OPENBLAS_OMP) -Wl,-rpath,$(OPENBLAS_OMP)
endif
endif
ifneq ($(SANITIZE),)
CXXFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
ifeq ($(OPENCV),1)
CPPFLAGS += -DDN_OPENCV $(shell pkg-config --cflags opencv4)
LDLIBS += $(shell pkg-config --libs opencv4)
endif
ifeq ($(GPU),emu)
# The GPU build run on the CPU, for machines without a device (make test runs its GPU agreement
# tests): tests/emu/ stands in for CUDA's runtime and cuBLAS on the host, tests/cuda_emu.hpp runs
# each CUDA thread of our kernels as a fiber; every GPU code path runs but cuDNN's.
ifneq ($(CUDNN),0)
$(error GPU=emu has no cuDNN: use CUDNN=0)
endif
CPPFLAGS += -DDN_GPU -DDN_GPU_EMU -Itests/emu
endif
ifeq ($(GPU),1)
CPPFLAGS += -DDN_GPU -I$(CUDA_PATH)/include
LDFLAGS += -L$(CUDA_PATH)/lib64 -Wl,-rpath,$(CUDA_PATH)/lib64
LDLIBS += -lcudart -lcublas -lcurand
NVCCFLAGS := -std=c++17 -O3 $(CUDA_ARCH) -Xcompiler -fPIC -Iinclude -Isrc -MMD -MP
ifeq ($(CUDNN),1)
CPPFLAGS += -DDN_CUDNN
LDLIBS += -lcudnn
endif
NVCCFLAGS += $(filter -D%,$(CPPFLAGS))
endif

LIB_SRCS := $(wildcard src/core/*.cpp src/kernels/*.cpp src/layers/*.cpp src/data/*.cpp src/train/*.cpp src/api/*.cpp)
CU_SRCS := $(if $(filter 1 emu,$(GPU)),$(wildcard src/*/*.cu),)
CLI_SRCS := $(wildcard examples/*.cpp)
TEST_SRCS := $(wildcard tests/*.cpp)
BENCH_SRCS := $(wildcard bench/*.cpp)

LIB_OBJS := $(LIB_SRCS:%.cpp=$(OBJDIR)/%.o) $(CU_SRCS:%.cu=$(OBJDIR)/%.cu.o)
CLI_OBJS := $(CLI_SRCS:%.cpp=$(OBJDIR)/%.o)
TEST_OBJS := $(TEST_SRCS:%.cpp=$(OBJDIR)/%.o)
ifeq ($(GPU),emu)
# the emulated device's runtime is part of the library there
LIB_OBJS += $(OBJDIR)/tests/cuda_emu.o
TEST_OBJS := $(filter-out $(OBJDIR)/tests/cuda_emu.o,$(TEST_OBJS))
endif
BENCH_OBJS := $(BENCH_SRCS:%.cpp=$(OBJDIR)/%.o)

TEST_BIN := $(OBJDIR)/test_darknet
BENCH_BIN := $(OBJDIR)/bench_darknet

.PHONY: all test test-sanitize bench bench-bin print-bench-bin demo clean
all: darknet libdarknet.a libdarknet.so

# std::regex in the tests trips GCC 12's -Wmaybe-uninitialized inside <functional> (a known false
# positive); keep the build output clean of it.
$(OBJDIR)/tests/%.o: CXXFLAGS += -Wno-maybe-uninitialized
# The emulated-kernel tests compile CUDA sources as C++: #pragma unroll is for nvcc.
$(OBJDIR)/tests/test_gpu_emu_%.o: CXXFLAGS += -Wno-unknown-pragmas

# Darknet's resampler is reproduced bit-for-bit: no FMA contraction in that file.
$(OBJDIR)/src/data/image.o: CXXFLAGS += -ffp-contract=off

# `make V=1` prints the full commands.
Q := $(if $(filter 1,$(V)),,@)

$(OBJDIR)/%.o: %.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

ifeq ($(GPU),emu)
$(OBJDIR)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $< (emulated GPU)")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -Wno-unknown-pragmas -x c++ -c $< -o $@
else
$(OBJDIR)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $<")
	$(Q)$(NVCC) $(NVCCFLAGS) -c $< -o $@
endif

# Layers register themselves from static initializers, so executables link the objects (or the
# shared library); static users link libdarknet.a with -Wl,--whole-archive.
# The top-level binaries are shared by every flag set: a stamp names the set they were linked
# with, so that switching flags (make GPU=1, then make) relinks them.
LINK_STAMP := build/.linked-$(CONFIG)
$(LINK_STAMP):
	@mkdir -p build && rm -f build/.linked-* && touch $@

darknet: $(CLI_OBJS) $(LIB_OBJS) $(LINK_STAMP)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) $(filter-out $(LINK_STAMP),$^) -o $@ $(LDLIBS)

libdarknet.a: $(LIB_OBJS) $(LINK_STAMP)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $(filter-out $(LINK_STAMP),$^)

libdarknet.so: $(LIB_OBJS) $(LINK_STAMP)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) -shared $(LDFLAGS) $(filter-out $(LINK_STAMP),$^) -o $@ $(LDLIBS)

# The CLI of this flag set in its object folder (what the GPU=emu tests run; ./darknet is untouched).
$(OBJDIR)/darknet: $(CLI_OBJS) $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(TEST_BIN): $(TEST_OBJS) $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lgtest

$(BENCH_BIN): $(BENCH_OBJS) $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lbenchmark

# Installs missing Debian packages (scripts/setup.sh), builds, runs every test: this build's, then
# the GPU agreement tests on the GPU build run on the CPU (GPU=emu); ends with the line
# "N passed, N failed[, N skipped]" over both (scripts/run_tests.sh).
EMU_DIR := build/gpuemu-cudnn0-cv$(OPENCV)-omp$(OPENMP)-dbg$(DEBUG)-san$(ARCH_TAG)
test:
	@OPENCV=$(OPENCV) bash scripts/setup.sh
	@$(MAKE) --no-print-directory darknet libdarknet.so $(TEST_BIN)
	@$(MAKE) --no-print-directory GPU=emu CUDNN=0 $(EMU_DIR)/test_darknet $(EMU_DIR)/darknet
	@bash scripts/run_tests.sh $(TEST_BIN) $(EMU_DIR)

# Under ASan + UBSan, on the GPU build run on the CPU (GPU=emu: device memory is host memory, so an
# index past a device buffer is a heap overflow here): the error-handling tests (malformed cfgs and
# weights, bad images, Adam checkpoints), the forward passes, every emulated kernel (tests/test_gpu_emu_*.cpp) and
# the GPU agreement tests (the layers' GPU code, training and detection on the emulated device);
# then scripts/fuzz_inputs.py: 500 mutated cfgs, weights files and images and 100 mutated training
# sets (.data, lists, labels, names, texts; fixed seed) through that darknet, each of which must end in a
# clean error or a result.
# Its own object directory; ./darknet is untouched.
SAN_DIR := build/gpuemu-cudnn0-cv$(OPENCV)-omp$(OPENMP)-dbg$(DEBUG)-sanaddress_undefined$(ARCH_TAG)
test-sanitize:
	$(MAKE) --no-print-directory SANITIZE=address,undefined GPU=emu CUDNN=0 $(SAN_DIR)/test_darknet $(SAN_DIR)/darknet
	@ASAN_OPTIONS=detect_leaks=1 DARKNET_BIN=$(CURDIR)/$(SAN_DIR)/darknet $(SAN_DIR)/test_darknet \
	    --gtest_filter='Cfg*:*Malformed*:Weights*:Optimizer*:Nms*:*Forward*:*GpuEmu*:GpuAgreement*:*/GpuAgreement*'
	@python3 scripts/fuzz_inputs.py $(SAN_DIR)/darknet

bench: darknet $(BENCH_BIN)
	@BENCH_BIN=$(BENCH_BIN) bash scripts/bench.sh

bench-bin: $(BENCH_BIN)
print-bench-bin:
	@echo $(BENCH_BIN)

demo:
	@bash scripts/demo.sh

clean:
	rm -rf build darknet libdarknet.a libdarknet.so predictions.jpg

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BENCH_OBJS:.o=.d)
