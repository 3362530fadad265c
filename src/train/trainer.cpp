#include "darknet/trainer.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <future>

#include "darknet/error.hpp"
#include "darknet/image.hpp"

namespace dn {

namespace {

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

// mkdir -p; a path that exists but is not a directory is an error now, not at the first save
void make_dir(const std::string& d) {
    if (d.empty()) return;
    if (const PathKind kind = path_kind(d); kind != PathKind::Missing) {
        if (kind != PathKind::Directory) fail("backup directory '%s' exists and is not a directory", d.c_str());
        return;
    }
    make_dir(dirname_of(d));
    if (::mkdir(d.c_str(), 0755) != 0 && !file_exists(d))
        fail("cannot create directory '%s': %s", d.c_str(), std::strerror(errno));
}

// Ctrl-C sets g_interrupted while training; the previous handler comes back however train() ends
struct SigintHandler {
    void (*old)(int) = std::signal(SIGINT, on_sigint);
    ~SigintHandler() { std::signal(SIGINT, old); }
};

[[noreturn]] void not_finite(const Network<float>& net, int64_t iteration, double loss) {
    const char* what = std::isnan(loss) ? "NaN" : "infinite";
    for (const auto& l : net.layers) {
        for (float v : l->output)
            if (!std::isfinite(v))
                fail("iteration %lld: the loss is %s; layer %d (%s, %s) is the first whose output is not finite. "
                     "Lower learning_rate (or raise burn_in) in [net], or check the training data",
                     static_cast<long long>(iteration), what, l->index, l->type(), l->where.c_str());
    }
    fail("iteration %lld: the loss is %s although every layer's output is finite (labels out of range?)",
         static_cast<long long>(iteration), what);
}

}  // namespace

TrainResult train(Network<float>& net, const BatchLoader& load, size_t truth_per_image, const TrainOptions& opt) {
    const int64_t max_batches = opt.max_batches > 0 ? opt.max_batches : net.cfg.max_batches;
    if (max_batches <= 0) fail("%s: [net] needs max_batches > 0 to train", net.cfg.where.c_str());
    make_dir(opt.backup_dir);
    const std::string prefix = opt.backup_dir + "/" + opt.base;
    const int passes = net.cfg.subdivisions;
    const size_t xs = static_cast<size_t>(net.batch) * std::max<size_t>(opt.max_inputs, net.inputs());
    const size_t ys = static_cast<size_t>(net.batch) * truth_per_image;
    std::vector<float> X[2] = {std::vector<float>(xs), std::vector<float>(xs)};
    std::vector<float> Y[2] = {std::vector<float>(ys), std::vector<float>(ys)};

    TrainResult res;
    std::vector<std::pair<int64_t, double>> avg_curve, metric;
    int64_t it = net.current_batch();
    if (it >= max_batches) {
        if (!opt.quiet) std::printf("Already trained for %lld iterations (max_batches=%lld)\n", static_cast<long long>(it),
                                    static_cast<long long>(max_batches));
        res.iterations = it;
        return res;
    }
    g_interrupted = false;
    const SigintHandler sigint;
    int cur = 0;
    auto start = [&](int64_t i, int p, int buf) {
        return std::async(std::launch::async, [&, i, p, buf] { load(i, p, X[buf].data(), Y[buf].data()); });
    };
    std::future<void> pending = start(it, 0, cur);
    const double t_begin = now_seconds();
    double avg_loss = -1, avg_time = -1, best_metric = -1;
    int64_t saved_at = -1;  // iteration of the last _last.weights checkpoint
    auto save_last = [&] {
        saved_at = it;
        save_weights(net, prefix + "_last.weights", -1, true);
        if (!opt.quiet) std::fprintf(stderr, "Saving weights to %s_last.weights\n", prefix.c_str());
    };
    const bool gpu = net.gpu_index >= 0;  // Network::use_gpu was called: every pass runs on the device
    const int64_t first_it = it;
    // A batch that cannot be loaded (every image of the list failing, e.g. their disk gone) stops
    // training; what was trained since the last checkpoint is kept first. Between iterations
    // (pass 0) the checkpoint is exact. Within one, the weights and `seen` are those of the last
    // whole iteration, and so is Adam's state; SGD's momentum, which holds this iteration's
    // partial gradients by now, is not saved (it restarts from zero when resumed). Nothing is
    // written before the first iteration, so an older _last.weights is never replaced by the
    // untrained start.
    auto save_on_load_error = [&](int pass, uint64_t seen_at_start) {
        if (pending.valid()) pending.wait();
        if (it == first_it || saved_at == it) return;  // nothing trained, or already saved exactly
        if (gpu) net.pull_params();
        net.header.seen = seen_at_start;
        const bool exact = pass == 0 || net.cfg.adam;
        save_weights(net, prefix + "_last.weights", -1, exact);
        saved_at = it;
        if (!opt.quiet)
            std::fprintf(stderr, "Saving weights to %s_last.weights (iteration %lld%s)\n", prefix.c_str(),
                         static_cast<long long>(it), exact ? "" : "; SGD's momentum restarts from zero when resumed");
    };
    while (it < max_batches && !g_interrupted) {
        const double t0 = now_seconds();
        const uint64_t seen_at_start = net.header.seen;
        if (opt.input_size) {
            const auto [w, h] = opt.input_size(it);
            if (w != net.w || h != net.h) {
                if (static_cast<size_t>(w) * h * net.c > xs / net.batch)
                    fail("input_size(%lld) = %dx%d exceeds max_inputs", static_cast<long long>(it), w, h);
                if (!opt.quiet) std::printf("Resizing the network to %d x %d\n", w, h);
                net.resize(w, h);
            }
        }
        double loss_sum = 0;
        for (int p = 0; p < passes; ++p) {
            try {
                pending.get();
            } catch (const Error&) {
                save_on_load_error(p, seen_at_start);
                throw;
            }
            const int mine = cur;
            cur ^= 1;
            if (p + 1 < passes) pending = start(it, p + 1, cur);
            else if (it + 1 < max_batches) pending = start(it + 1, 0, cur);
            if (gpu) net.forward_gpu(X[mine].data(), true, Y[mine].data());
            else net.forward(X[mine].data(), true, Y[mine].data());
            const double cost = net.total_cost();
            if (!std::isfinite(cost)) {
                if (pending.valid()) pending.wait();
                if (gpu) net.pull_outputs();
                not_finite(net, it + 1, cost);
            }
            if (gpu) net.backward_gpu();
            else net.backward();
            net.header.seen += static_cast<uint64_t>(net.batch);
            loss_sum += cost / net.batch;
        }
        const float rate = net.current_rate();
        if (gpu) net.update_gpu(rate);
        else net.update(rate);
        it = net.current_batch();
        if (ema_due(net.cfg, it, max_batches)) {  // [net] ema_alpha
            const EmaAction e = ema_step(net, it, max_batches, gpu);
            if (!opt.quiet && e == EmaAction::Started)
                std::fprintf(stderr, "Iteration %lld: the moving average of the weights starts (ema_alpha=%g)\n",
                             static_cast<long long>(it), net.cfg.ema_alpha);
            if (!opt.quiet && e == EmaAction::Applied)
                std::fprintf(stderr, "Iteration %lld: the weights are now their moving average; training goes on from it\n",
                             static_cast<long long>(it));
        }
        const double loss = loss_sum / passes, dt = now_seconds() - t0;
        avg_loss = avg_loss < 0 ? loss : avg_loss * 0.9 + loss * 0.1;
        avg_time = avg_time < 0 ? dt : avg_time * 0.9 + dt * 0.1;
        res.losses.push_back({it, loss});
        avg_curve.push_back({it, avg_loss});
        if (!opt.quiet) {
            const double epoch = opt.train_images ? static_cast<double>(net.header.seen) / opt.train_images : 0;
            std::printf("%lld, %.3f: %f, %f avg, %f rate, %f seconds, %llu images, %.2f hours left\n",
                        static_cast<long long>(it), epoch, loss, avg_loss, rate, dt,
                        static_cast<unsigned long long>(net.header.seen), avg_time * (max_batches - it) / 3600.0);
            std::fflush(stdout);
        }
        const bool last = it >= max_batches || g_interrupted;
        const bool eval_now = opt.evaluate && ((opt.eval_every > 0 && it % opt.eval_every == 0) || last);
        if (gpu && (eval_now || it % opt.save_every == 0 || last)) net.pull_params();  // device -> host before use
        if (eval_now) {
            double v;
            try {
                v = opt.evaluate(it);
            } catch (const Error&) {
                // e.g. a valid= image that does not decode. This is between iterations, so the
                // checkpoint is exact: what was trained since the last one is kept, then the error.
                if (pending.valid()) pending.wait();
                if (saved_at != it) save_last();
                throw;
            }
            if (v >= 0) {
                metric.push_back({it, v});
                if (!opt.quiet) std::printf("%lld: %s %.4f\n", static_cast<long long>(it), opt.eval_name.c_str(), v);
                if (opt.keep_best && v > best_metric) {
                    best_metric = v;
                    save_weights(net, prefix + "_best.weights");
                    if (!opt.quiet)
                        std::fprintf(stderr, "New best %s %.4f: saving weights to %s_best.weights\n",
                                     opt.eval_name.c_str(), v, prefix.c_str());
                }
            }
        }
        if (it % opt.save_every == 0 || last) save_last();
        if (!opt.chart_path.empty() && (it % 10 == 0 || last))
            write_chart(opt.chart_path, avg_curve, metric, max_batches, opt.eval_name, net.cfg.max_chart_loss);
    }
    if (pending.valid()) pending.wait();
    res.interrupted = g_interrupted;
    if (gpu) net.pull_params();
    if (res.interrupted && saved_at != it) save_last();  // Ctrl-C after this iteration's checkpoint test
    if (!res.interrupted) {
        save_weights(net, prefix + "_final.weights");
        if (!opt.quiet) std::fprintf(stderr, "Saving weights to %s_final.weights\n", prefix.c_str());
    } else if (!opt.quiet) {
        std::fprintf(stderr, "Interrupted: resume with the same command and %s_last.weights\n", prefix.c_str());
    }
    res.iterations = it;
    res.loss = res.losses.empty() ? 0 : res.losses.back().second;
    res.avg_loss = avg_loss;
    res.seconds = now_seconds() - t_begin;
    return res;
}

void write_chart(const std::string& path, const std::vector<std::pair<int64_t, double>>& losses,
                 const std::vector<std::pair<int64_t, double>>& metric, int64_t max_batches,
                 const std::string& metric_name, double max_loss) {
    const int W = 800, H = 480, L = 70, R = 70, T = 30, B = 50;
    Image im(W, H, 3, 1.f);
    const float black[3] = {0, 0, 0}, grey[3] = {.85f, .85f, .85f}, blue[3] = {.1f, .2f, .8f}, red[3] = {.85f, .1f, .1f},
                white[3] = {1, 1, 1};
    // the first few iterations' loss (a detector's starts 10-100x higher) would flatten the curve
    double ymax = 0;
    for (size_t i = losses.size() / 20; i < losses.size(); ++i) ymax = std::max(ymax, losses[i].second);
    if (ymax <= 0) ymax = 1;
    ymax *= 1.1;
    if (max_loss > 0) ymax = max_loss;
    const double xmax = static_cast<double>(std::max<int64_t>(1, max_batches));
    auto px = [&](double x) { return L + static_cast<int>((W - L - R) * x / xmax); };
    auto py = [&](double y, double top) { return H - B - static_cast<int>((H - T - B) * std::min(1.0, y / top)); };
    for (int g = 0; g <= 10; ++g) {
        const int y = T + (H - T - B) * g / 10, x = L + (W - L - R) * g / 10;
        draw_box(im, L, y, W - R, y, 1, grey);
        draw_box(im, x, T, x, H - B, 1, grey);
        draw_text(im, L - 52, y - 6, strfmt("%.3g", ymax * (10 - g) / 10), 1, blue, white);
        draw_text(im, x - 12, H - B + 6, strfmt("%lld", static_cast<long long>(xmax * g / 10)), 1, black, white);
        if (!metric.empty()) draw_text(im, W - R + 6, y - 6, strfmt("%.0f%%", 100.0 * (10 - g) / 10), 1, red, white);
    }
    draw_box(im, L, T, W - R, H - B, 1, black);
    for (size_t i = 1; i < losses.size(); ++i) {
        const int x0 = px(losses[i - 1].first), y0 = py(losses[i - 1].second, ymax);
        const int x1 = px(losses[i].first), y1 = py(losses[i].second, ymax);
        const int n = std::max({1, std::abs(x1 - x0), std::abs(y1 - y0)});
        for (int k = 0; k <= n; ++k) draw_box(im, x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n, x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n, 1, blue);
    }
    for (const auto& m : metric) draw_box(im, px(m.first) - 2, py(m.second, 1.0) - 2, px(m.first) + 2, py(m.second, 1.0) + 2, 3, red);
    draw_text(im, L, 8, "avg loss (blue)" + (metric.empty() ? std::string() : ", " + metric_name + " (red)") + "  vs iteration",
              1, black, white);
    const std::string tmp = path + ".tmp.png";
    save_image(im, tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot write chart '%s'", path.c_str());
}

}  // namespace dn
