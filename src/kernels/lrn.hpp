// Local response normalization across channels (Krizhevsky et al. 2012, Sec. 3.3) with Darknet's
// conventions, on NCHW tensors x[N][C][S], S = H*W:
//
//   norms_c = kappa + alpha * sum_{j in win(c)} x_j^2,   win(c) = [c - (size-1)/2, c + size/2] ∩ [0, C-1]
//   y_c     = x_c * norms_c^-beta
//
// alpha is NOT divided by size (Darknet's, not the paper's alpha/n); cfg defaults size 5,
// alpha .0001, beta .75, kappa 1. Darknet's own forward leaves channel size/2 out of the first
// window and slides from there, so each of its sums is short by alpha * x_{c+size/2}^2 at the edge
// it started from; this is the definition above, exactly.
#pragma once

namespace dn {

struct LrnParams {
    int size = 5;
    double alpha = 0.0001, beta = 0.75, kappa = 1;
};

/// y[N,C,S] = LRN(x). Window sums add the size non-negative squares directly (no cancellation).
template <class T>
void lrn_forward(const T* x, int N, int C, int S, const LrnParams& p, T* y);

/// dx = dL/dx for dy = dL/dy; written (accumulate=false) or added (accumulate=true). Recomputes the
/// norms from x (reads x and dy once from memory, writes dx once).
template <class T>
void lrn_backward(const T* x, const T* dy, int N, int C, int S, const LrnParams& p, T* dx, bool accumulate);

}  // namespace dn
