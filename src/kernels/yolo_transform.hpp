// The output transform of the detection heads, value by value: [yolo]'s, [Gaussian_yolo]'s (its
// layout with a sigma after each coordinate), and [region]'s (YOLOv2, [yolo]'s layout with s = 1
// and raw or softmax class scores). Shared by yolo_layer.cpp,
// region_layer.cpp and their GPU kernels (yolo_forward_gpu / yolo_backward_gpu in layers_gpu.cu),
// so that the CPU and the GPU cannot drift apart.
#pragma once

#include <cstddef>

#include "kernels/activations.hpp"
#include "kernels/gpu_index.hpp"  // DN_HD

namespace dn {

/// The layer's tensor is [N][masks][entries][S] (entries = 5 + classes, S = W*H); entry e of an
/// anchor slot is x, y (e < 2), w, h (2, 3), objectness and class scores (e >= 4):
///   x, y:        y = s * sigmoid(t) - (s - 1)/2     (s = scale_x_y; new_coords: y = s t - (s - 1)/2)
///   w, h:        y = t
///   obj, class:  y = sigmoid(t)                     (new_coords: y = t; the convolution applied it)
/// [region]'s class scores (classes = Raw or Softmax) are y = t here; with Softmax the layer then
/// applies the softmax over each cell's classes, and its backward adds the class gradient itself
/// (elementwise() is false for those entries).
/// [Gaussian_yolo] (gaussian, entries = 9 + classes): x, sigma_x, y, sigma_y, w, sigma_w, h,
/// sigma_h, objectness, classes; x, y as above, w, h raw, every sigma, objectness and class
/// score logistic (AlexeyAB's forward_gaussian_yolo_layer).
struct YoloTransform {
    enum class Classes : uint8_t { Logistic, Raw, Softmax };
    /// What an entry is: a box center (x, y), a box size (w, h: raw), a probability (logistic),
    /// or a raw class score ([region]).
    enum class Kind : uint8_t { Center, Size, Prob, Raw };
    float s = 1;              ///< scale_x_y
    double shift = 0;         ///< -(s - 1)/2
    bool new_coords = false;
    bool gaussian = false;    ///< [Gaussian_yolo]'s layout
    Classes classes = Classes::Logistic;
    uint32_t S = 1, entries = 5;

    YoloTransform() = default;
    YoloTransform(float scale_x_y, bool new_coords_, int spatial, int entries_)
        : s(scale_x_y), shift(-0.5 * (static_cast<double>(scale_x_y) - 1)), new_coords(new_coords_),
          S(static_cast<uint32_t>(spatial)), entries(static_cast<uint32_t>(entries_)) {}
    /// [region]'s transform: x, y, objectness logistic, w, h and the class scores raw (softmax:
    /// the softmax follows).
    static YoloTransform region(int spatial, int entries_, bool softmax) {
        YoloTransform t(1.f, false, spatial, entries_);
        t.classes = softmax ? Classes::Softmax : Classes::Raw;
        return t;
    }

    /// [Gaussian_yolo]'s transform (entries = 9 + classes).
    static YoloTransform gaussian_yolo(float scale_x_y, int spatial, int entries_) {
        YoloTransform t(scale_x_y, false, spatial, entries_);
        t.gaussian = true;
        return t;
    }

    DN_HD Kind kind(uint32_t e) const {
        if (gaussian) return e == 0 || e == 2 ? Kind::Center : e == 4 || e == 6 ? Kind::Size : Kind::Prob;
        if (e < 2) return Kind::Center;
        if (e < 4) return Kind::Size;
        return e == 4 || classes == Classes::Logistic ? Kind::Prob : Kind::Raw;
    }

    /// Whether the backward's elementwise pass covers entry e (not softmax class scores).
    DN_HD bool elementwise(uint32_t e) const { return classes != Classes::Softmax || kind(e) != Kind::Raw; }

    /// The entry (0 .. entries-1) of flat index i.
    DN_HD uint32_t entry(size_t i) const { return static_cast<uint32_t>((i / S) % entries); }

    /// y of input t in entry e.
    template <class T>
    DN_HD T forward(uint32_t e, T t) const {
        const Kind k = kind(e);
        if (k == Kind::Size || k == Kind::Raw) return t;
        const T v = new_coords ? t : act::logistic(t);
        if (k == Kind::Prob || s == 1) return v;
        return v * static_cast<T>(s) + static_cast<T>(shift);
    }

    /// dy/dt in entry e, from the output y: s sig (1 - sig) with sig = (y + (s-1)/2) / s for x, y
    /// (s with new_coords); 1 for w, h (and everything with new_coords but x, y); y (1 - y) for
    /// objectness and classes (1 for raw class scores).
    template <class T>
    DN_HD T grad(uint32_t e, T y) const {
        const Kind k = kind(e);
        if (k == Kind::Center) {
            const T sc = static_cast<T>(s);
            if (new_coords) return sc;
            const T sig = (y - static_cast<T>(shift)) / sc;
            return sc * sig * (T(1) - sig);
        }
        if (k != Kind::Prob || new_coords) return T(1);
        return y * (T(1) - y);
    }

    /// The forward over a host tensor of n values (whole planes of S): y[i] = forward(entry, x[i]).
    template <class T>
    void forward_host(const T* x, size_t n, T* y) const {
        for (size_t p = 0; p < n / S; ++p) {
            const uint32_t e = static_cast<uint32_t>(p % entries);
            for (size_t i = p * S; i < (p + 1) * S; ++i) y[i] = forward(e, x[i]);
        }
    }

    /// Its backward on the host: dx[i] += d[i] * grad(entry, y[i]) where elementwise(entry).
    template <class T>
    void backward_host(const T* y, const T* d, size_t n, T* dx) const {
        for (size_t p = 0; p < n / S; ++p) {
            const uint32_t e = static_cast<uint32_t>(p % entries);
            if (!elementwise(e)) continue;
            for (size_t i = p * S; i < (p + 1) * S; ++i) dx[i] += d[i] * grad(e, y[i]);
        }
    }
};

}  // namespace dn
