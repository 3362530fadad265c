// [crop]: pjreddie's input augmentation (alexnet.cfg, vgg-16.cfg): a crop_width x crop_height window
// of the input, at random in training (offset, flip, rotation, HSV levels, shift) and centered at
// inference, its values mapped to 2v - 1 (v unless noadjust=1). The math is kernels/crop.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "darknet/layer.hpp"
#include "kernels/crop.hpp"
#include "layers/gpu_decls.hpp"

namespace dn {

/// Keys (Darknet's, with its defaults): crop_height, crop_width (1; at most the input's sides),
/// flip (0), angle (0, degrees), saturation (1), exposure (1) (both >= 0; other than 1 only on a
/// 3-channel input), shift (0), noadjust (0). Input [N][c][h][w], output [N][c][crop_height][crop_width].
///
/// As pjreddie's GPU forward (the one his classifiers were trained with), not his CPU one, which
/// ignores angle, saturation and exposure and takes whole-pixel offsets: each image draws its own
/// levels, fractional offset, flip and angle (CropDraw), and the output reads the levelled input
/// bilinearly. At inference the window is centered ((w - crop_width)/2, possibly half a pixel, as
/// his GPU's) with no flip, rotation or levels. Unlike his, the draws are per image for the shift
/// too (his shares one image's three draws across the batch) and the input is not modified in
/// place. Backward is exact (crop_backward_pixel), so the layer may stand anywhere; Darknet's
/// has none. Resizing (random=1) keeps crop_height/h as the ratio of both sides, as Darknet's.
template <class T>
class CropLayer : public Layer<T> {
public:
    explicit CropLayer(const BuildContext<T>& b);
    const char* type() const override { return "crop"; }
    void forward(Network<T>& net) override;
    void backward(Network<T>& net) override;
    DN_GPU_LAYER_DECLS
    std::string describe() const override;
    void resize(Network<T>& net, int new_w, int new_h) override;
    void freeze_randomness(bool on) override { frozen_ = on; }

    /// The draws of the last forward pass, one per image.
    const std::vector<CropDraw>& draws() const { return draws_; }
    CropGeom geom() const;

    bool flip = false, noadjust = false;
    float angle = 0, saturation = 1, exposure = 1, shift = 0;

private:
    /// Sets draws_ for this forward (kept while frozen and the mode is unchanged).
    void draw(const Network<T>& net);
    std::vector<CropDraw> draws_;
    bool drawn_train_ = false;
    bool frozen_ = false;
    float ratio_ = 1;  ///< crop_height / h at build (Darknet's l.scale), for resize
    uint64_t seed_;    ///< draws come from (seed_, images seen), so resumed training repeats them
#ifdef DN_GPU
    DeviceBuffer<CropDraw> draws_gpu_;
#endif
};

}  // namespace dn
