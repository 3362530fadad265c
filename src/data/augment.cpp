#include "darknet/augment.hpp"

#include <algorithm>
#include <cmath>

#include "darknet/error.hpp"

namespace dn {

float uniform(Rng& g, float a, float b) {
    if (b < a) std::swap(a, b);
    std::uniform_real_distribution<float> d(a, b);
    return a == b ? a : d(g);
}

float rand_scale(Rng& g, float s) {
    float scale = uniform(g, 1, s < 1 ? 1 / s : s);
    return std::uniform_int_distribution<int>(0, 1)(g) ? scale : 1 / scale;
}

float bilinear(const Image& im, float x, float y, int k) {
    const int ix = static_cast<int>(std::floor(x)), iy = static_cast<int>(std::floor(y));
    const float dx = x - ix, dy = y - iy;
    auto px = [&](int xx, int yy) { return (xx < 0 || yy < 0 || xx >= im.w || yy >= im.h) ? 0.f : im.at(xx, yy, k); };
    return (1 - dy) * (1 - dx) * px(ix, iy) + dy * (1 - dx) * px(ix, iy + 1) + (1 - dy) * dx * px(ix + 1, iy) +
           dy * dx * px(ix + 1, iy + 1);
}

Image rotate_crop(const Image& im, float rad, float scale, int w, int h, float dx, float dy, float aspect) {
    const float cx = im.w / 2.f, cy = im.h / 2.f, cr = std::cos(rad), sr = std::sin(rad);
    Image out(w, h, im.c);
    for (int k = 0; k < im.c; ++k)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const float u = (x - w / 2.f) / scale * aspect + dx / scale * aspect;
                const float v = (y - h / 2.f) / scale + dy / scale;
                out.at(x, y, k) = bilinear(im, cr * u - sr * v + cx, sr * u + cr * v + cy, k);
            }
    return out;
}

Image random_augment(const Image& im, Rng& g, float angle, float aspect, int low, int high, int size) {
    aspect = rand_scale(g, aspect);
    const int r = std::uniform_int_distribution<int>(std::min(low, high), std::max(low, high))(g);
    const float shorter = std::min(static_cast<float>(im.h), im.w * aspect);
    const float scale = r / shorter;
    const float rad = uniform(g, -angle, angle) * static_cast<float>(M_PI) / 180.f;
    float dx = std::max(0.f, (im.w * scale / aspect - size) / 2.f);
    float dy = std::max(0.f, (im.h * scale - size) / 2.f);
    dx = uniform(g, -dx, dx);
    dy = uniform(g, -dy, dy);
    return rotate_crop(im, rad, scale, size, size, dx, dy, aspect);
}

void flip_horizontal(Image& im) {
    for (int k = 0; k < im.c; ++k)
        for (int y = 0; y < im.h; ++y)
            for (int x = 0; x < im.w / 2; ++x) std::swap(im.at(x, y, k), im.at(im.w - 1 - x, y, k));
}

namespace {
void rgb_to_hsv(float r, float g, float b, float* h, float* s, float* v) {
    const float mx = std::max({r, g, b}), mn = std::min({r, g, b}), d = mx - mn;
    *v = mx;
    if (mx == 0) {
        *s = *h = 0;
        return;
    }
    *s = d / mx;
    if (d == 0) {
        *h = 0;
        return;
    }
    float hh = r == mx ? (g - b) / d : (g == mx ? 2 + (b - r) / d : 4 + (r - g) / d);
    if (hh < 0) hh += 6;
    *h = hh / 6;
}

void hsv_to_rgb(float h, float s, float v, float* r, float* g, float* b) {
    if (s == 0) {
        *r = *g = *b = v;
        return;
    }
    h *= 6;
    const int i = static_cast<int>(std::floor(h));
    const float f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (i % 6) {
        case 0: *r = v, *g = t, *b = p; break;
        case 1: *r = q, *g = v, *b = p; break;
        case 2: *r = p, *g = v, *b = t; break;
        case 3: *r = p, *g = q, *b = v; break;
        case 4: *r = t, *g = p, *b = v; break;
        default: *r = v, *g = p, *b = q; break;
    }
}
}  // namespace

void distort(Image& im, float dhue, float dsat, float dexp) {
    const size_t plane = static_cast<size_t>(im.w) * im.h;
    if (im.c >= 3) {
        float* R = im.data.data();
        float* G = R + plane;
        float* B = G + plane;
        for (size_t i = 0; i < plane; ++i) {
            float h, s, v;
            rgb_to_hsv(R[i], G[i], B[i], &h, &s, &v);
            s *= dsat;
            v *= dexp;
            h += dhue;
            if (h > 1) h -= 1;
            if (h < 0) h += 1;
            hsv_to_rgb(h, s, v, &R[i], &G[i], &B[i]);
        }
    } else {
        for (size_t i = 0; i < plane; ++i) im.data[i] *= dexp;
    }
    for (auto& v : im.data) v = std::min(1.f, std::max(0.f, v));
}

void random_distort(Image& im, Rng& g, float hue, float saturation, float exposure) {
    const float dhue = uniform(g, -hue, hue), dsat = rand_scale(g, saturation), dexp = rand_scale(g, exposure);
    if (dhue == 0 && dsat == 1 && dexp == 1) return;
    distort(im, dhue, dsat, dexp);
}

std::vector<float> gaussian_kernel(int ksize) {
    if (ksize < 1 || ksize % 2 == 0) fail("gaussian_kernel: ksize %d must be odd and >= 1", ksize);
    switch (ksize) {  // OpenCV's small_gaussian_tab
        case 1: return {1.f};
        case 3: return {0.25f, 0.5f, 0.25f};
        case 5: return {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
        case 7: return {0.03125f, 0.109375f, 0.21875f, 0.28125f, 0.21875f, 0.109375f, 0.03125f};
        case 9: return {4 / 256.f, 13 / 256.f, 30 / 256.f, 51 / 256.f, 60 / 256.f, 51 / 256.f, 30 / 256.f, 13 / 256.f, 4 / 256.f};
        default: break;
    }
    const double s = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
    std::vector<double> k(ksize);
    double sum = 0;
    for (int i = 0; i < ksize; ++i) {
        const double x = i - (ksize - 1) / 2.0;
        k[i] = std::exp(-x * x / (2 * s * s));
        sum += k[i];
    }
    std::vector<float> out(ksize);
    for (int i = 0; i < ksize; ++i) out[i] = static_cast<float>(k[i] / sum);
    return out;
}

namespace {
// BORDER_REFLECT_101 index into [0, n)
int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}
}  // namespace

void gaussian_blur(Image& im, int ksize) {
    const std::vector<float> k = gaussian_kernel(ksize);
    const int r = ksize / 2;
    std::vector<float> line;
    for (int c = 0; c < im.c; ++c) {
        // rows, then columns
        line.resize(im.w);
        for (int y = 0; y < im.h; ++y) {
            for (int x = 0; x < im.w; ++x) {
                float v = 0;
                for (int j = -r; j <= r; ++j) v += k[j + r] * im.at(reflect101(x + j, im.w), y, c);
                line[x] = v;
            }
            for (int x = 0; x < im.w; ++x) im.at(x, y, c) = line[x];
        }
        line.resize(im.h);
        for (int x = 0; x < im.w; ++x) {
            for (int y = 0; y < im.h; ++y) {
                float v = 0;
                for (int j = -r; j <= r; ++j) v += k[j + r] * im.at(x, reflect101(y + j, im.h), c);
                line[y] = v;
            }
            for (int y = 0; y < im.h; ++y) im.at(x, y, c) = line[y];
        }
    }
}

}  // namespace dn
