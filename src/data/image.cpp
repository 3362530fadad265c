// Image I/O (stb_image, Debian's libstb), Darknet's resampler, and drawing.
// This file is compiled with -ffp-contract=off so that resize_image rounds exactly like Darknet's C.
#include "darknet/image.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>

#include "darknet/error.hpp"

#include <stb_image.h>
#include <stb_image_write.h>
#include <stb_easy_font.h>

#ifdef DN_OPENCV
#include <opencv2/imgcodecs.hpp>

#include "data/cv_image.hpp"
#endif

namespace dn {

namespace {
Image from_interleaved(const unsigned char* data, int w, int h, int c) {
    // Darknet's (float)(v / 255.) for each byte value, tabulated
    static const auto lut = [] {
        std::array<float, 256> t{};
        for (int v = 0; v < 256; ++v) t[v] = static_cast<float>(v / 255.);
        return t;
    }();
    Image im(w, h, c);
    const size_t plane = static_cast<size_t>(w) * h;
    for (size_t i = 0; i < plane; ++i)
        for (int k = 0; k < c; ++k) im.data[k * plane + i] = lut[data[i * c + k]];
    return im;
}
}  // namespace

Image decode_image(const unsigned char* bytes, size_t n, int channels, const std::string& label) {
    int w, h, c;
    unsigned char* data = stbi_load_from_memory(bytes, static_cast<int>(n), &w, &h, &c, channels);
    if (!data) fail("cannot decode image '%s': %s", label.c_str(), stbi_failure_reason());
    if (channels) c = channels;
    Image im = from_interleaved(data, w, h, c);
    stbi_image_free(data);
    return im;
}

#ifdef DN_OPENCV
Image image_from_mat(const cv::Mat& m) {
    const int c = m.channels();
    if (m.depth() != CV_8U || (c != 1 && c != 3)) fail("an OpenCV image of %d channels, depth %d: expected 8-bit 1 or 3", c, m.depth());
    Image im(m.cols, m.rows, c);
    for (int y = 0; y < m.rows; ++y) {
        const unsigned char* row = m.ptr<unsigned char>(y);
        for (int x = 0; x < m.cols; ++x)
            for (int k = 0; k < c; ++k)  // BGR -> RGB
                im.at(x, y, c == 3 ? 2 - k : k) = static_cast<float>(row[x * c + k] / 255.);
    }
    return im;
}

cv::Mat mat_from_image(const Image& im) {
    if (im.c != 1 && im.c != 3) fail("an image of %d channels cannot be shown or written as video (1 or 3)", im.c);
    cv::Mat m(im.h, im.w, im.c == 3 ? CV_8UC3 : CV_8UC1);
    for (int y = 0; y < im.h; ++y) {
        unsigned char* row = m.ptr<unsigned char>(y);
        for (int x = 0; x < im.w; ++x)
            for (int k = 0; k < im.c; ++k) {  // RGB -> BGR
                const float v = std::min(1.f, std::max(0.f, im.at(x, y, im.c == 3 ? 2 - k : k)));
                row[x * im.c + k] = static_cast<unsigned char>(255.f * v + 0.5f);
            }
    }
    return m;
}
#endif

Image load_image(const std::string& path, int channels) {
#ifdef DN_OPENCV
    cv::Mat m = cv::imread(path, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    if (m.empty()) fail("cannot load image '%s' (OpenCV imread failed)", path.c_str());
    return image_from_mat(m);
#else
    int w, h, c;
    unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, channels);
    if (!data) fail("cannot load image '%s': %s", path.c_str(), stbi_failure_reason());
    if (channels) c = channels;
    Image im = from_interleaved(data, w, h, c);
    stbi_image_free(data);
    return im;
#endif
}

void image_size(const std::string& path, int* w, int* h) {
    int c = 0;
    if (!stbi_info(path.c_str(), w, h, &c)) fail("cannot read the size of image '%s': %s", path.c_str(), stbi_failure_reason());
}

std::string ImageList::where(size_t i) const {
    return strfmt("%s:%d", list_path.c_str(), i < lines.size() ? lines[i] : 0);
}

ImageList read_image_list(const std::string& list_path) {
    ImageList list;
    list.list_path = list_path;
    for (auto& [lineno, line] : numbered_lines(read_text_file(list_path))) {
        list.paths.push_back(std::move(line));
        list.lines.push_back(lineno);
    }
    if (list.paths.empty()) fail("%s lists no images", list_path.c_str());
    return list;
}

void require_listed_images(const ImageList& list) {
    size_t bad = 0, first = 0;
    const char* why = "";
    for (size_t i = 0; i < list.paths.size(); ++i) {
        // one stat per image: a wrong path fails here, not hours into training
        const PathKind kind = path_kind(list.paths[i]);
        if (kind == PathKind::File) continue;
        if (bad++ == 0) {
            first = i;
            why = kind == PathKind::Missing     ? "does not exist"
                  : kind == PathKind::Directory ? "is a directory"
                                                : "is not a regular file";
        }
    }
    if (bad)
        fail("%s: image '%s' %s (%zu of the %zu listed images are missing or not files)", list.where(first).c_str(),
             list.paths[first].c_str(), why, bad, list.paths.size());
}

Image load_listed_image(const ImageList& list, size_t i, int channels, BadImage bad, size_t* used, uint64_t salt) {
    if (used) *used = i;
    try {
        return load_image(list.paths[i], channels);
    } catch (const Error& e) {
        if (bad == BadImage::Error) fail("%s: %s", list.where(i).c_str(), e.what());
        // once per image: its path appended to bad.list in the working directory (AlexeyAB's
        // Darknet appends one line per failed load there)
        static std::mutex mu;
        static std::set<std::string> seen_bad;
        bool first;
        {
            std::lock_guard<std::mutex> lock(mu);
            first = seen_bad.insert(list.paths[i]).second;
            if (first) {
                std::ofstream out("bad.list", std::ios::app);
                out << list.paths[i] << "\n";
                if (!out) warn("cannot append '%s' to bad.list in the working directory", list.paths[i].c_str());
            }
        }
        const size_t n = list.paths.size();
        uint64_t z = salt;  // splitmix64's finalizer (0 stays 0: the next image first)
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const size_t start = n > 1 ? static_cast<size_t>(z % (n - 1)) : 0;
        for (size_t k = 1; k < n; ++k) {
            const size_t j = (i + 1 + (start + k - 1) % (n - 1)) % n;  // every other image once
            Image im;
            try {
                im = load_image(list.paths[j], channels);
            } catch (const Error&) {
                continue;
            }
            if (first)
                warn("%s: %s; training uses other images of the list that load in its place (fix or remove "
                     "this line; bad.list lists such images)",
                     list.where(i).c_str(), e.what());
            if (used) *used = j;
            return im;
        }
        fail("%s: %s, and no other image of %s loads either", list.where(i).c_str(), e.what(), list.list_path.c_str());
    }
}

void save_image(const Image& im, const std::string& path) {
    std::vector<unsigned char> buf(static_cast<size_t>(im.w) * im.h * im.c);
    for (int k = 0; k < im.c; ++k)
        for (int i = 0; i < im.w * im.h; ++i) {
            float v = std::min(1.f, std::max(0.f, im.data[static_cast<size_t>(k) * im.w * im.h + i]));
            buf[static_cast<size_t>(i) * im.c + k] = static_cast<unsigned char>(255 * v);
        }
    int ok = 0;
    if (ends_with(path, ".png"))
        ok = stbi_write_png(path.c_str(), im.w, im.h, im.c, buf.data(), im.w * im.c);
    else if (ends_with(path, ".bmp"))
        ok = stbi_write_bmp(path.c_str(), im.w, im.h, im.c, buf.data());
    else
        ok = stbi_write_jpg(path.c_str(), im.w, im.h, im.c, buf.data(), 80);
    if (!ok) fail("cannot write image '%s'", path.c_str());
}

// Darknet's resize_image (AlexeyAB image.c): the same float expressions in the same order.
Image resize_image(const Image& im, int w, int h) {
    if (im.w == w && im.h == h) return im;
    if (w <= 0 || h <= 0) fail("resize_image: bad target size %d x %d", w, h);
    Image resized(w, h, im.c);
    Image part(w, im.h, im.c);
    float w_scale = static_cast<float>(im.w - 1) / (w - 1);
    float h_scale = static_cast<float>(im.h - 1) / (h - 1);
    for (int k = 0; k < im.c; ++k) {
        for (int r = 0; r < im.h; ++r) {
            for (int c = 0; c < w; ++c) {
                float val = 0;
                if (c == w - 1 || im.w == 1) {
                    val = im.at(im.w - 1, r, k);
                } else {
                    float sx = c * w_scale;
                    int ix = static_cast<int>(sx);
                    float dx = sx - ix;
                    val = (1 - dx) * im.at(ix, r, k) + dx * im.at(ix + 1, r, k);
                }
                part.at(c, r, k) = val;
            }
        }
    }
    for (int k = 0; k < im.c; ++k) {
        for (int r = 0; r < h; ++r) {
            float sy = r * h_scale;
            int iy = static_cast<int>(sy);
            float dy = sy - iy;
            for (int c = 0; c < w; ++c) resized.at(c, r, k) = (1 - dy) * part.at(c, iy, k);
            if (r == h - 1 || im.h == 1) continue;
            for (int c = 0; c < w; ++c) resized.at(c, r, k) += dy * part.at(c, iy + 1, k);
        }
    }
    return resized;
}

Image letterbox_image(const Image& im, int w, int h) {
    int new_w = im.w, new_h = im.h;
    if (static_cast<float>(w) / im.w < static_cast<float>(h) / im.h) {
        new_w = w;
        new_h = (im.h * w) / im.w;
    } else {
        new_h = h;
        new_w = (im.w * h) / im.h;
    }
    Image resized = resize_image(im, new_w, new_h);
    Image boxed(w, h, im.c, 0.5f);
    int dx = (w - new_w) / 2, dy = (h - new_h) / 2;
    for (int k = 0; k < im.c; ++k)
        for (int y = 0; y < new_h; ++y)
            for (int x = 0; x < new_w; ++x) {
                int X = x + dx, Y = y + dy;
                if (X >= 0 && Y >= 0 && X < w && Y < h) boxed.at(X, Y, k) = resized.at(x, y, k);
            }
    return boxed;
}

float class_color(int k, int x, int max) {
    static const float colors[6][3] = {{1, 0, 1}, {0, 0, 1}, {0, 1, 1}, {0, 1, 0}, {1, 1, 0}, {1, 0, 0}};
    if (max <= 0) max = 1;  // no class names (an empty names file): one colour
    float ratio = (static_cast<float>(x) / max) * 5;
    int i = static_cast<int>(std::floor(ratio));
    int j = static_cast<int>(std::ceil(ratio));
    ratio -= i;
    return (1 - ratio) * colors[i][k] + ratio * colors[j][k];
}

namespace {
void set_px(Image& im, int x, int y, const float rgb[3]) {
    if (x < 0 || y < 0 || x >= im.w || y >= im.h) return;
    if (im.c >= 3) {
        for (int k = 0; k < 3; ++k) im.at(x, y, k) = rgb[k];
    } else {
        im.at(x, y, 0) = (rgb[0] + rgb[1] + rgb[2]) / 3;
    }
}
}  // namespace

void draw_box(Image& im, int x1, int y1, int x2, int y2, int width, const float rgb[3]) {
    for (int i = 0; i < width; ++i) {
        int a = std::clamp(x1 + i, 0, im.w - 1), b = std::clamp(x2 - i, 0, im.w - 1);
        int t = std::clamp(y1 + i, 0, im.h - 1), d = std::clamp(y2 - i, 0, im.h - 1);
        for (int x = a; x <= b; ++x) {
            set_px(im, x, t, rgb);
            set_px(im, x, d, rgb);
        }
        for (int y = t; y <= d; ++y) {
            set_px(im, a, y, rgb);
            set_px(im, b, y, rgb);
        }
    }
}

void draw_text(Image& im, int x, int y, const std::string& text, int scale, const float rgb[3], const float bg[3]) {
    // stb_easy_font draws printable ASCII only and indexes its table with (char - 32): any other
    // byte (a names file's UTF-8 or control bytes) read outside it (a fuzz case, UBSan) and is '?' here
    std::vector<char> txt;
    for (char ch : text) {
        const unsigned char u = static_cast<unsigned char>(ch);
        txt.push_back(u >= 32 && u < 127 ? ch : '?');
    }
    txt.push_back('\0');
    static thread_local std::vector<char> vbuf(1 << 16);
    unsigned char col[4] = {255, 255, 255, 255};
    int quads = stb_easy_font_print(0, 0, txt.data(), col, vbuf.data(), static_cast<int>(vbuf.size()));
    int tw = stb_easy_font_width(txt.data()) * scale, th = stb_easy_font_height(txt.data()) * scale;
    int pad = scale;
    for (int yy = -pad; yy < th + pad; ++yy)
        for (int xx = -pad; xx < tw + pad; ++xx) set_px(im, x + pad + xx, y + pad + yy, bg);
    struct V {
        float x, y, z;
        unsigned char c[4];
    };
    const V* v = reinterpret_cast<const V*>(vbuf.data());
    for (int q = 0; q < quads; ++q) {
        const V* a = v + q * 4;
        int qx0 = static_cast<int>(a[0].x), qy0 = static_cast<int>(a[0].y);
        int qx1 = static_cast<int>(a[2].x), qy1 = static_cast<int>(a[2].y);
        for (int yy = qy0 * scale; yy < qy1 * scale; ++yy)
            for (int xx = qx0 * scale; xx < qx1 * scale; ++xx) set_px(im, x + pad + xx, y + pad + yy, rgb);
    }
}

void draw_detections(Image& im, const std::vector<Detection>& dets, float thresh,
                     const std::vector<std::string>& names) {
    struct Sel {
        const Detection* d;
        int best;
    };
    std::vector<Sel> sel;
    for (const auto& d : dets) {
        int best = -1;
        float bp = thresh;
        for (size_t j = 0; j < d.prob.size(); ++j)
            if (d.prob[j] > bp) {
                best = static_cast<int>(j);
                bp = d.prob[j];
            }
        if (best >= 0) sel.push_back({&d, best});
    }
    // Darknet draws the most confident last, so it ends on top.
    std::stable_sort(sel.begin(), sel.end(),
                     [](const Sel& a, const Sel& b) { return a.d->prob[a.best] < b.d->prob[b.best]; });
    const int classes = static_cast<int>(names.size());
    const int width = std::max(1, static_cast<int>(im.h * .006));
    const int scale = std::max(1, static_cast<int>(std::lround(im.h * 0.025 / 7)));
    for (const auto& s : sel) {
        const int offset = static_cast<int>(static_cast<long long>(s.best) * 123457 % std::max(1, classes));
        float rgb[3] = {class_color(2, offset, classes), class_color(1, offset, classes),
                        class_color(0, offset, classes)};
        const Box& b = s.d->bbox;
        int left = static_cast<int>((b.x - b.w / 2.) * im.w), right = static_cast<int>((b.x + b.w / 2.) * im.w);
        int top = static_cast<int>((b.y - b.h / 2.) * im.h), bot = static_cast<int>((b.y + b.h / 2.) * im.h);
        left = std::max(left, 0);
        right = std::min(right, im.w - 1);
        top = std::max(top, 0);
        bot = std::min(bot, im.h - 1);
        draw_box(im, left, top, right, bot, width, rgb);
        std::string label = s.best < classes ? names[s.best] : std::to_string(s.best);
        for (size_t j = 0; j < s.d->prob.size(); ++j)
            if (static_cast<int>(j) != s.best && s.d->prob[j] > thresh && static_cast<int>(j) < classes)
                label += ", " + names[j];
        const float black[3] = {0, 0, 0};
        int th = 12 * scale + 2 * scale;
        int ty = top - th >= 0 ? top - th : top + width;
        draw_text(im, left, ty, label, scale, black, rgb);
    }
}

}  // namespace dn
