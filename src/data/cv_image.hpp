// Conversions between dn::Image (RGB or gray, planar float 0..1) and OpenCV's cv::Mat (BGR or
// gray, interleaved 8-bit): OPENCV=1 builds only (image.cpp, video.cpp).
#pragma once

#ifdef DN_OPENCV
#include <opencv2/core.hpp>

#include "darknet/image.hpp"

namespace dn {

/// An 8-bit 1- or 3-channel Mat (BGR) as an image (RGB, values / 255).
Image image_from_mat(const cv::Mat& m);
/// A 1- or 3-channel image as an 8-bit Mat (BGR), values clipped to 0..1 and rounded.
cv::Mat mat_from_image(const Image& im);

}  // namespace dn
#endif
