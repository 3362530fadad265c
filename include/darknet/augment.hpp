// Data augmentation with Darknet's semantics. Every random draw comes from the generator passed in,
// so a batch is reproducible from its seed whatever thread loads it.
#pragma once

#include <random>
#include <vector>

#include "darknet/image.hpp"

namespace dn {

using Rng = std::mt19937_64;

/// Uniform in [a, b).
float uniform(Rng& g, float a, float b);
/// Darknet's rand_scale: a factor in [1, s] or its inverse, each with probability 1/2.
float rand_scale(Rng& g, float s);

/// Bilinear sample at (x, y) of channel k; 0 outside the image.
float bilinear(const Image& im, float x, float y, int k);
/// Output w x h: the image rotated by `rad` about its center, scaled by `scale`, shifted by
/// (dx, dy) output pixels, with horizontal stretch `aspect` (Darknet's rotate_crop_image).
Image rotate_crop(const Image& im, float rad, float scale, int w, int h, float dx, float dy, float aspect);
/// Darknet's random_augment_image for classifiers: random aspect (rand_scale(aspect)), a random
/// size in [low, high] for the shorter side, a random angle in [-angle, angle] degrees, a random
/// shift, cropped to size x size.
Image random_augment(const Image& im, Rng& g, float angle, float aspect, int low, int high, int size);
void flip_horizontal(Image& im);
/// HSV distortion (3 channels): hue shift, saturation and value (exposure) scaling; for other
/// channel counts only the exposure scaling. Result clamped to [0, 1].
void distort(Image& im, float dhue, float dsat, float dexp);
/// The 1-D Gaussian kernel of OpenCV's getGaussianKernel(ksize, sigma <= 0) (ksize odd >= 1): the
/// fixed tables of OpenCV 4 for ksize 1 to 9, else exp(-x^2 / (2 s^2)) normalized with
/// s = 0.3 ((ksize - 1) / 2 - 1) + 0.8. Throws dn::Error for an even or non-positive ksize.
std::vector<float> gaussian_kernel(int ksize);
/// OpenCV's GaussianBlur(im, ksize x ksize, sigma 0) per channel: separable, the border
/// reflected without repeating the edge (BORDER_REFLECT_101: ...c b | a b c ... | ... b a | b c).
void gaussian_blur(Image& im, int ksize);

/// Random distort with Darknet's ranges: hue in [-hue, hue], rand_scale(saturation), rand_scale(exposure).
void random_distort(Image& im, Rng& g, float hue, float saturation, float exposure);

}  // namespace dn
