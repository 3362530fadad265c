// Images as planar float arrays [c][h][w] in 0..1 (Darknet's layout), and their I/O.
#pragma once

#include <string>
#include <vector>

#include "darknet/buffer.hpp"
#include "darknet/detection.hpp"

namespace dn {

/// A planar image: data[k*h*w + y*w + x], values 0..1.
struct Image {
    int w = 0, h = 0, c = 0;
    Buffer<float> data;
    Image() = default;
    Image(int w_, int h_, int c_, float fill = 0.f) : w(w_), h(h_), c(c_), data(static_cast<size_t>(w_) * h_ * c_, fill) {}
    float& at(int x, int y, int k) { return data[(static_cast<size_t>(k) * h + y) * w + x]; }
    float at(int x, int y, int k) const { return data[(static_cast<size_t>(k) * h + y) * w + x]; }
    bool empty() const { return data.empty(); }
};

/// Loads jpg/png/bmp/... with stb_image (OpenCV's imread when built with OPENCV=1).
/// channels = 0 keeps the file's channels; 1 or 3 converts. Throws dn::Error naming the path and
/// the decoder's reason.
Image load_image(const std::string& path, int channels = 0);
/// An image list (a .data file's train= or valid=): one image path per line, blank lines
/// skipped; each path keeps its line number for messages.
struct ImageList {
    std::string list_path;
    std::vector<std::string> paths;
    std::vector<int> lines;  ///< 1-based line of paths[i] in list_path
    /// "list_path:line" of paths[i].
    std::string where(size_t i) const;
};
/// Reads an image list. Throws dn::Error when the list cannot be read or lists no images.
ImageList read_image_list(const std::string& list_path);
/// Checks that every listed image exists and is a regular file (one stat each), so that a wrong
/// path fails before training starts. Throws dn::Error naming the first line at fault and how
/// many there are.
void require_listed_images(const ImageList& list);
/// What a batch loader does with a listed image that does not decode.
enum class BadImage {
    Error,        ///< throw dn::Error naming the list's file and line (evaluation)
    UseAnother,   ///< training, as AlexeyAB's Darknet goes on: warn once per image (list file and line)
                  ///< and use another image of the list that decodes; dn::Error when none does
};
/// load_image() of paths[i] of a list, under `bad` (above). With UseAnother, *used is the index of
/// the image returned (i unless paths[i] did not decode), so that the caller takes its labels. The
/// stand-in is the first image that decodes from position i + 1 + mix(salt) % (n - 1) on
/// (cyclically, skipping i; mix is splitmix64's finalizer, mix(0) = 0: the next image first):
/// a salt that differs per draw (the batch seed and slot) spreads a bad image's draws over the
/// others, rather than drawing the image after it twice as often.
Image load_listed_image(const ImageList& list, size_t i, int channels, BadImage bad = BadImage::Error,
                        size_t* used = nullptr, uint64_t salt = 0);

/// Width and height from the file's header (no decoding); throws dn::Error like load_image.
void image_size(const std::string& path, int* w, int* h);
/// Decodes an in-memory encoded image (same rules).
Image decode_image(const unsigned char* bytes, size_t n, int channels, const std::string& label);
/// Saves by extension (.jpg quality 80 as Darknet, .png, .bmp); throws dn::Error on failure.
void save_image(const Image& im, const std::string& path);

/// Darknet's separable bilinear resize (AlexeyAB image.c resize_image), bit-for-bit: scale
/// (in-1)/(out-1), horizontal pass then vertical pass. Returns a copy when the size is unchanged.
Image resize_image(const Image& im, int w, int h);
/// Aspect-preserving resize into a w x h canvas filled with 0.5 (Darknet's letterbox_image).
Image letterbox_image(const Image& im, int w, int h);

/// Draws Darknet-style boxes with labels for detections whose best class prob > thresh.
void draw_detections(Image& im, const std::vector<Detection>& dets, float thresh,
                     const std::vector<std::string>& names);
/// Darknet's class color: component k (0=b, 1=g, 2=r order as in get_color) for class offset.
float class_color(int k, int x, int max);
/// Draws text with its top-left at (x, y), pixel size `scale`, color rgb, on a filled background;
/// bytes outside printable ASCII (the font's) are drawn as '?'.
void draw_text(Image& im, int x, int y, const std::string& text, int scale, const float rgb[3], const float bg[3]);
/// Box outline of `width` pixels, clipped to the image.
void draw_box(Image& im, int x1, int y1, int x2, int y2, int width, const float rgb[3]);

}  // namespace dn
