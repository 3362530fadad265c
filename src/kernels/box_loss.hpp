// Box regression losses of the YOLO head: 1 - IoU, 1 - GIoU (Rezatofighi et al. 2019),
// 1 - DIoU and 1 - CIoU (Zheng et al. 2020), written once over a scalar type S and evaluated with
// forward-mode dual numbers to get their exact gradient w.r.t. the predicted box (x, y, w, h).
// (Darknet hand-codes approximate derivatives; CIoU's alpha is differentiated here too.)
#pragma once

#include <algorithm>
#include <cmath>

namespace dn {

/// A value and its partial derivatives with respect to N inputs.
template <int N>
struct Dual {
    double v = 0;
    double d[N] = {};
    Dual() = default;
    Dual(double value) : v(value) {}  // NOLINT: constants convert implicitly
    static Dual var(double value, int i) {
        Dual r(value);
        r.d[i] = 1;
        return r;
    }
};

template <int N>
inline Dual<N> operator+(Dual<N> a, const Dual<N>& b) {
    a.v += b.v;
    for (int i = 0; i < N; ++i) a.d[i] += b.d[i];
    return a;
}
template <int N>
inline Dual<N> operator-(Dual<N> a, const Dual<N>& b) {
    a.v -= b.v;
    for (int i = 0; i < N; ++i) a.d[i] -= b.d[i];
    return a;
}
template <int N>
inline Dual<N> operator-(Dual<N> a) {
    a.v = -a.v;
    for (int i = 0; i < N; ++i) a.d[i] = -a.d[i];
    return a;
}
template <int N>
inline Dual<N> operator*(const Dual<N>& a, const Dual<N>& b) {
    Dual<N> r(a.v * b.v);
    for (int i = 0; i < N; ++i) r.d[i] = a.d[i] * b.v + a.v * b.d[i];
    return r;
}
template <int N>
inline Dual<N> operator/(const Dual<N>& a, const Dual<N>& b) {
    Dual<N> r(a.v / b.v);
    for (int i = 0; i < N; ++i) r.d[i] = (a.d[i] * b.v - a.v * b.d[i]) / (b.v * b.v);
    return r;
}
template <int N>
inline Dual<N> operator+(Dual<N> a, double b) { return a + Dual<N>(b); }
template <int N>
inline Dual<N> operator-(Dual<N> a, double b) { return a - Dual<N>(b); }
template <int N>
inline Dual<N> operator*(Dual<N> a, double b) { return a * Dual<N>(b); }
template <int N>
inline Dual<N> operator/(Dual<N> a, double b) { return a / Dual<N>(b); }
template <int N>
inline Dual<N> operator-(double a, const Dual<N>& b) { return Dual<N>(a) - b; }
template <int N>
inline Dual<N> operator*(double a, const Dual<N>& b) { return Dual<N>(a) * b; }

template <int N>
inline Dual<N> sqrt(const Dual<N>& a) {
    Dual<N> r(std::sqrt(a.v));
    for (int i = 0; i < N; ++i) r.d[i] = a.d[i] / (2 * r.v);
    return r;
}
template <int N>
inline Dual<N> atan(const Dual<N>& a) {
    Dual<N> r(std::atan(a.v));
    for (int i = 0; i < N; ++i) r.d[i] = a.d[i] / (1 + a.v * a.v);
    return r;
}

inline double value(double x) { return x; }
template <int N>
inline double value(const Dual<N>& x) { return x.v; }
template <class S>
inline S smin(const S& a, const S& b) { return value(a) <= value(b) ? a : b; }
template <class S>
inline S smax(const S& a, const S& b) { return value(a) >= value(b) ? a : b; }

enum class BoxLoss { Iou, Giou, Diou, Ciou };

/// 1 - (IoU | GIoU | DIoU | CIoU) of the predicted box (x, y, w, h) and the truth (tx, ty, tw, th),
/// all centers and sizes in the same units.
///   IoU  = I / U;  GIoU = IoU - (C - U)/C (C: enclosing area);
///   DIoU = IoU - rho^2/c^2 (rho: center distance, c: enclosing diagonal);
///   CIoU = DIoU - alpha v,  v = 4/pi^2 (atan(tw/th) - atan(w/h))^2,  alpha = v / (1 - IoU + v).
template <class S>
S box_loss(S x, S y, S w, S h, double tx, double ty, double tw, double th, BoxLoss kind) {
    const S l = x - w * 0.5, r = x + w * 0.5, t = y - h * 0.5, b = y + h * 0.5;
    const double tl = tx - tw / 2, tr = tx + tw / 2, tt = ty - th / 2, tb = ty + th / 2;
    const S iw = smin(r, S(tr)) - smax(l, S(tl)), ih = smin(b, S(tb)) - smax(t, S(tt));
    const S inter = (value(iw) > 0 && value(ih) > 0) ? iw * ih : S(0.0);
    const S uni = w * h + tw * th - inter;
    const S iou = inter / uni;
    if (kind == BoxLoss::Iou) return 1.0 - iou;
    const S cw = smax(r, S(tr)) - smin(l, S(tl)), ch = smax(b, S(tb)) - smin(t, S(tt));
    if (kind == BoxLoss::Giou) {
        const S c = cw * ch;
        return 1.0 - (iou - (c - uni) / c);
    }
    const S c2 = cw * cw + ch * ch;
    const S rho2 = (x - tx) * (x - tx) + (y - ty) * (y - ty);
    const S diou = iou - rho2 / c2;
    if (kind == BoxLoss::Diou) return 1.0 - diou;
    const double k = 4 / (M_PI * M_PI);
    const S da = atan(S(tw / th)) - atan(w / h);
    const S v = k * da * da;
    const S alpha = v / ((1.0 - iou) + v + 1e-12);
    return 1.0 - (diou - alpha * v);
}

}  // namespace dn
