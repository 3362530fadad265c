// Darknet .weights I/O: header (major, minor, revision int32; seen uint64 when major*10+minor >= 2,
// else uint32), then each layer's float32 arrays in the layer's own order.
#include "darknet/weights.hpp"
#include "darknet/buffer.hpp"

#include <cmath>
#include <cstring>
#include <cstdio>
#include <sys/stat.h>
#include <algorithm>
#include <iterator>

#include "darknet/error.hpp"
#include "darknet/network.hpp"

namespace dn {

WeightsReader::WeightsReader(std::string path, std::vector<char> bytes, size_t offset)
    : path_(std::move(path)), bytes_(std::move(bytes)), offset_(offset) {}

template <class T>
void WeightsReader::read(T* dst, size_t n, const char* what) {
    const size_t need = n * sizeof(float);
    if (remaining() < need)
        fail("weights file '%s' is truncated: layer %d (%s) needs %zu bytes for '%s' at byte offset %zu, "
             "only %zu available (file size %zu)",
             path_.c_str(), layer_, type_, need, what, offset_, remaining(), bytes_.size());
    const char* src = bytes_.data() + offset_;
    for (size_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, src + i * sizeof(float), sizeof(float));
        // Darknet loads these silently, and a network with one NaN weight detects nothing.
        if (!std::isfinite(v))
            bad_value(what, i, n, offset_,
                      strfmt("is %s: the file is corrupt or was saved from a diverged training run",
                             std::isnan(v) ? "NaN" : (v > 0 ? "+inf" : "-inf")));
        dst[i] = static_cast<T>(v);
    }
    offset_ += need;
}

template <class T>
void WeightsReader::read_nonnegative(T* dst, size_t n, const char* what) {
    const size_t at = offset_;
    read(dst, n, what);
    for (size_t i = 0; i < n; ++i)
        if (dst[i] < 0)
            bad_value(what, i, n, at, strfmt("is %g: a variance cannot be negative (the file is corrupt)",
                                             static_cast<double>(dst[i])));
}

void WeightsReader::bad_value(const char* what, size_t i, size_t n, size_t at, const std::string& why) const {
    fail("weights file '%s': layer %d (%s) '%s' value %zu of %zu, at byte offset %zu, %s", path_.c_str(), layer_,
         type_, what, i, n, at + i * sizeof(float), why.c_str());
}

uint32_t WeightsReader::read_u32(const char* what) {
    if (remaining() < 4)
        fail("weights file '%s' is truncated: '%s' needs 4 bytes at byte offset %zu, only %zu available", path_.c_str(),
             what, offset_, remaining());
    uint32_t v;
    std::memcpy(&v, bytes_.data() + offset_, 4);
    offset_ += 4;
    return v;
}

uint64_t WeightsReader::read_u64(const char* what) {
    const uint64_t lo = read_u32(what);
    return lo | static_cast<uint64_t>(read_u32(what)) << 32;
}

void WeightsReader::skip(size_t n, const char* what) {
    if (remaining() < n)
        fail("weights file '%s' is truncated: '%s' needs %zu bytes at byte offset %zu, only %zu available",
             path_.c_str(), what, n, offset_, remaining());
    offset_ += n;
}

bool WeightsReader::at_magic(const char* magic) const {
    return remaining() >= 4 && std::memcmp(bytes_.data() + offset_, magic, 4) == 0;
}

template void WeightsReader::read<float>(float*, size_t, const char*);
template void WeightsReader::read<double>(double*, size_t, const char*);
template void WeightsReader::read_nonnegative<float>(float*, size_t, const char*);
template void WeightsReader::read_nonnegative<double>(double*, size_t, const char*);

template <class T>
void WeightsWriter::write(const T* src, size_t n) {
    size_t at = bytes_.size();
    bytes_.resize(at + n * sizeof(float));
    for (size_t i = 0; i < n; ++i) {
        float v = static_cast<float>(src[i]);
        std::memcpy(bytes_.data() + at + i * sizeof(float), &v, sizeof(float));
    }
}

void WeightsWriter::write_u32(uint32_t v) { write_raw(&v, 4); }

void WeightsWriter::write_raw(const void* p, size_t n) {
    size_t at = bytes_.size();
    bytes_.resize(at + n);
    std::memcpy(bytes_.data() + at, p, n);
}

template void WeightsWriter::write<float>(const float*, size_t);
template void WeightsWriter::write<double>(const double*, size_t);

namespace {

std::vector<char> read_binary(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("cannot open weights file '%s': %s", path.c_str(), std::strerror(errno));
    struct stat st;
    const size_t size = ::fstat(::fileno(f), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
    std::vector<char> out;
    out.reserve(size);
    prefault(out.data(), size);  // one call, not a page fault per 4 KiB
    out.resize(size);
    size_t got = size ? std::fread(out.data(), 1, size, f) : 0;
    out.resize(got);
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.insert(out.end(), buf, buf + n);  // pipes, growing files
    const bool err = std::ferror(f);
    std::fclose(f);
    if (err) fail("error reading weights file '%s'", path.c_str());
    return out;
}

bool seen_is_64bit(int32_t major, int32_t minor) { return major * 10 + minor >= 2; }

/// Whether a file of this layout holds nothing for layer l.
template <class T>
bool absent_in(const Layer<T>& l, WeightsLayout layout) {
    return (layout == WeightsLayout::Keyed && l.dontload) || (layout == WeightsLayout::Saved && l.dontsave);
}

/// Darknet's dontload=1, dontloadscales=1 and numload=N say the file lacks those arrays (a layer
/// inserted into a pretrained network, batchnorm added to one, filters added), and Darknet reads it
/// so (Keyed). A file that holds them anyway, such as a checkpoint saved from this very cfg, would
/// then be read shifted, and so would a file this cfg wrote when it has dontsave=1 layers (Saved).
/// Returns the first of Keyed, Saved, Whole whose layers' data ends exactly where the file or its
/// trailer does; Keyed when none does (a file with only the first layers, read partially).
template <class T>
WeightsLayout choose_layout(const Network<T>& net, const std::vector<char>& bytes, size_t off, const char* magic) {
    const bool any = std::any_of(net.layers.begin(), net.layers.end(), [](const auto& l) {
        return l->dontload || l->dontsave || l->unloaded_bytes() > 0;
    });
    if (!any) return WeightsLayout::Keyed;
    size_t whole = 0, keyed = 0, saved = 0;
    for (const auto& l : net.layers) {
        WeightsWriter probe;
        l->save_weights(probe);
        const size_t n = probe.bytes().size();
        whole += n;
        if (!l->dontload) keyed += n - l->unloaded_bytes();
        if (!l->dontsave) saved += n;
    }
    auto layers_end_at = [&](size_t n) {
        const size_t at = off + n;
        return at == bytes.size() || (at + 4 <= bytes.size() && std::memcmp(bytes.data() + at, magic, 4) == 0);
    };
    if (layers_end_at(keyed)) return WeightsLayout::Keyed;
    if (layers_end_at(saved)) return WeightsLayout::Saved;
    if (layers_end_at(whole)) return WeightsLayout::Whole;
    return WeightsLayout::Keyed;
}

}  // namespace

template <class T>
void load_weights(Network<T>& net, const std::string& path, bool allow_partial, LoadFor use) {
    load_weights_bytes(net, read_binary(path), path, allow_partial, use);
}

template <class T>
void load_weights_bytes(Network<T>& net, std::vector<char> bytes, const std::string& path, bool allow_partial,
                        LoadFor use) {
    if (bytes.size() < 12)
        fail("weights file '%s' is %zu bytes long; a Darknet weights header needs at least 16", path.c_str(),
             bytes.size());
    int32_t v[3];
    std::memcpy(v, bytes.data(), sizeof(v));
    if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[0] > 100000 || v[1] > 100000)
        fail("weights file '%s' does not look like a Darknet weights file (header version %d.%d.%d)",
             path.c_str(), v[0], v[1], v[2]);
    size_t off = 12;
    uint64_t seen = 0;
    if (seen_is_64bit(v[0], v[1])) {
        if (bytes.size() < off + 8)
            fail("weights file '%s' is truncated in its header: 'seen' needs 8 bytes at byte offset 12, only %zu available",
                 path.c_str(), bytes.size() - off);
        std::memcpy(&seen, bytes.data() + off, 8);
        off += 8;
    } else {
        uint32_t s32;
        if (bytes.size() < off + 4)
            fail("weights file '%s' is truncated in its header: 'seen' needs 4 bytes at byte offset 12, only %zu available",
                 path.c_str(), bytes.size() - off);
        std::memcpy(&s32, bytes.data() + off, 4);
        seen = s32;
        off += 4;
    }
    net.header.major = v[0];
    net.header.minor = v[1];
    net.header.revision = v[2];
    net.header.seen = seen;
    WeightsReader r(path, std::move(bytes), off);
    r.major = v[0];
    r.minor = v[1];
    r.revision = v[2];
    r.layout = choose_layout(net, r.bytes(), off, kTrailerMagic);
    if (!is_quiet() && r.layout == WeightsLayout::Whole)
        std::fprintf(stderr, "%s holds every layer's arrays, those of the dontload/dontloadscales/numload/dontsave "
                             "layers too: loading them all\n", path.c_str());
    if (!is_quiet() && r.layout == WeightsLayout::Saved)
        std::fprintf(stderr, "%s holds every layer but the dontsave=1 ones, as this cfg writes them: loading it so\n",
                     path.c_str());
    int loaded = 0, not_in_file = 0;
    for (auto& l : net.layers) {
        if (absent_in(*l, r.layout)) {  // the file holds nothing for it (as Darknet's load_weights_upto)
            ++loaded;
            ++not_in_file;
            continue;
        }
        // where the layers' data ends (the end of the file, or our checkpoints' trailer), the layers
        // left are complete when they have no weights (softmax, [yolo], maxpool, ...)
        if (r.remaining() == 0 || r.at_magic(kTrailerMagic)) {
            WeightsWriter probe;
            l->save_weights(probe);
            if (probe.bytes().empty()) {
                ++loaded;
                continue;
            }
            if (allow_partial) break;
            if (r.at_magic(kTrailerMagic))
                fail("weights file '%s' is truncated: its layers end at byte offset %zu, before layer %d (%s)",
                     path.c_str(), r.offset(), l->index, l->type());
        }
        r.set_layer(l->index, l->type());
        l->load_weights(r);
        l->params_changed();
        ++loaded;
    }
    if ((loaded < net.num_layers() || not_in_file > 0) && !is_quiet())
        std::fprintf(stderr, "Loaded %d of %d layers from %s (the rest keep their initial values%s)\n",
                     loaded - not_in_file, net.num_layers(), path.c_str(),
                     not_in_file == 0 ? "" : r.layout == WeightsLayout::Saved ? "; dontsave=1 on some" : "; dontload=1 on some");
    if (r.at_magic(kTrailerMagic)) {
        r.skip(4, "trailer magic");
        uint32_t version = r.read_u32("trailer version");
        if (version != 1)
            fail("weights file '%s': unknown trailer version %u at byte offset %zu", path.c_str(), version, r.offset() - 4);
        uint32_t records = r.read_u32("trailer record count");
        for (uint32_t i = 0; i < records; ++i) {
            const uint32_t kind = r.read_u32("trailer record kind");
            const int32_t idx = static_cast<int32_t>(r.read_u32("trailer layer index"));
            const uint32_t count = r.read_u32("trailer float count");
            if (idx < 0 || idx >= net.num_layers())
                fail("weights file '%s': trailer record for layer %d, but the cfg has %d layers", path.c_str(), idx,
                     net.num_layers());
            Layer<T>& l = *net.layers[idx];
            r.set_layer(idx, l.type());
            const size_t before = r.offset();
            // layers not loaded, and the state of the optimizer this cfg does not use, are skipped
            const bool training_state =
                kind == kTrailerOptimizerState || kind == kTrailerAdamState || kind == kTrailerEma;
            const bool other_optimizer = (kind == kTrailerOptimizerState && net.cfg.adam) ||
                                         (kind == kTrailerAdamState && !net.cfg.adam) ||
                                         (kind == kTrailerEma && net.cfg.ema_alpha == 0);
            if (idx >= loaded || absent_in(l, r.layout) || other_optimizer || (training_state && use == LoadFor::Inference)) {
                r.skip(static_cast<size_t>(count) * 4, "trailer record");
                continue;
            }
            if (kind == kTrailerLayerData) {
                if (!l.has_trailer())
                    fail("weights file '%s': trailer data for layer %d (%s), which has none in this cfg", path.c_str(),
                         idx, l.type());
                l.load_trailer(r);
                l.params_changed();
            } else if (kind == kTrailerOptimizerState) {
                net.ensure_grads();
                for (auto& p : l.params())
                    if (p.grad) r.read(p.grad, p.size, "optimizer state");
            } else if (kind == kTrailerAdamState) {
                net.ensure_grads();
                std::vector<Param<T>> ps = l.params();
                l.adam.clear();
                l.adam.t = static_cast<int64_t>(r.read_u64("Adam step count"));
                for (const auto& p : ps) {
                    const size_t n = p.grad ? p.size : 0;
                    l.adam.m.emplace_back(n);
                    l.adam.v.emplace_back(n);
                    r.read(l.adam.m.back().data(), n, "Adam first moment");
                    r.read_nonnegative(l.adam.v.back().data(), n, "Adam second moment");
                }
            } else if (kind == kTrailerEma) {
                net.ensure_grads();  // the trained arrays are those with a gradient
                l.ema.clear();
                for (const auto& p : l.params()) {
                    l.ema.emplace_back(p.grad ? p.size : 0);
                    r.read(l.ema.back().data(), l.ema.back().size(), "moving average of the weights");
                }
            } else {
                fail("weights file '%s': unknown trailer record kind %u for layer %d", path.c_str(), kind, idx);
            }
            if (r.offset() - before != static_cast<size_t>(count) * 4)
                fail("weights file '%s': trailer record for layer %d holds %u floats, the layer expects %zu",
                     path.c_str(), idx, count, (r.offset() - before) / 4);
        }
    }
    if (r.remaining() != 0)
        fail("weights file '%s' has %zu bytes left after the last layer (byte offset %zu of %zu): it holds more "
             "parameters than the cfg describes; check that the cfg and the weights belong together",
             path.c_str(), r.remaining(), r.offset(), r.offset() + r.remaining());
}

template <class T>
std::vector<char> weights_bytes(const Network<T>& net, int upto, bool optimizer_state) {
    WeightsWriter w;
    std::vector<char>& b = w.bytes();
    int32_t v[3] = {net.header.major, net.header.minor, net.header.revision};
    b.resize(12);
    std::memcpy(b.data(), v, 12);
    if (seen_is_64bit(v[0], v[1])) {
        uint64_t s = net.header.seen;
        b.resize(20);
        std::memcpy(b.data() + 12, &s, 8);
    } else {
        uint32_t s = static_cast<uint32_t>(net.header.seen);
        b.resize(16);
        std::memcpy(b.data() + 12, &s, 4);
    }
    int n = upto < 0 ? net.num_layers() : std::min(upto, net.num_layers());
    for (int i = 0; i < n; ++i)
        if (!net.layers[i]->dontsave) net.layers[i]->save_weights(w);  // as Darknet's save_weights_upto
    struct Record {
        uint32_t kind;
        int layer;
    };
    std::vector<Record> recs;
    for (int i = 0; i < n; ++i) {
        if (net.layers[i]->dontsave) continue;
        if (net.layers[i]->has_trailer()) recs.push_back({kTrailerLayerData, i});
        if (!optimizer_state) continue;
        if (!net.layers[i]->ema.empty()) recs.push_back({kTrailerEma, i});
        if (net.cfg.adam) {  // the grads are zero after an Adam step: only the moments are state
            if (!net.layers[i]->adam.empty()) recs.push_back({kTrailerAdamState, i});
            continue;
        }
        bool grads = false;
        for (auto& p : net.layers[i]->params()) grads = grads || (p.grad && p.size);
        if (grads) recs.push_back({kTrailerOptimizerState, i});
    }
    if (!recs.empty()) {
        w.write_raw(kTrailerMagic, 4);
        w.write_u32(1);
        w.write_u32(static_cast<uint32_t>(recs.size()));
        for (const Record& rec : recs) {
            w.write_u32(rec.kind);
            w.write_u32(static_cast<uint32_t>(rec.layer));
            const size_t count_at = w.bytes().size();
            w.write_u32(0);
            const size_t start = w.bytes().size();
            Layer<T>& l = *net.layers[rec.layer];
            if (rec.kind == kTrailerLayerData) {
                l.save_trailer(w);
            } else if (rec.kind == kTrailerEma) {
                for (const auto& e : l.ema) w.write(e.data(), e.size());
            } else if (rec.kind == kTrailerAdamState) {
                w.write_u32(static_cast<uint32_t>(l.adam.t));
                w.write_u32(static_cast<uint32_t>(static_cast<uint64_t>(l.adam.t) >> 32));
                for (size_t k = 0; k < l.adam.m.size(); ++k) {
                    w.write(l.adam.m[k].data(), l.adam.m[k].size());
                    w.write(l.adam.v[k].data(), l.adam.v[k].size());
                }
            } else {
                for (auto& p : l.params())
                    if (p.grad) w.write(p.grad, p.size);
            }
            const uint32_t count = static_cast<uint32_t>((w.bytes().size() - start) / 4);
            std::memcpy(w.bytes().data() + count_at, &count, 4);
        }
    }
    return std::move(w.bytes());
}

template <class T>
void save_weights(const Network<T>& net, const std::string& path, int upto, bool optimizer_state) {
    std::vector<char> b = weights_bytes(net, upto, optimizer_state);
    write_file_atomic(path, b.data(), b.size());
}

template <class T>
void copy_weights(Network<T>& from, Network<T>& to) {
    if (from.num_layers() != to.num_layers())
        fail("copy_weights: the networks have %d and %d layers", from.num_layers(), to.num_layers());
    for (int i = 0; i < from.num_layers(); ++i) {
        const std::vector<Param<T>> a = from.layers[i]->params(), b = to.layers[i]->params();
        bool same = a.size() == b.size();
        for (size_t k = 0; same && k < a.size(); ++k) same = a[k].name == b[k].name && a[k].size == b[k].size;
        if (!same)
            fail("copy_weights: layer %d (%s) holds other arrays in the two networks", i, from.layers[i]->type());
        for (size_t k = 0; k < a.size(); ++k)
            if (a[k].size) std::memcpy(b[k].value, a[k].value, a[k].size * sizeof(T));
        to.layers[i]->params_changed();
    }
}

template void copy_weights<float>(Network<float>&, Network<float>&);
template void copy_weights<double>(Network<double>&, Network<double>&);
template void load_weights<float>(Network<float>&, const std::string&, bool, LoadFor);
template void load_weights<double>(Network<double>&, const std::string&, bool, LoadFor);
template void load_weights_bytes<float>(Network<float>&, std::vector<char>, const std::string&, bool, LoadFor);
template void load_weights_bytes<double>(Network<double>&, std::vector<char>, const std::string&, bool, LoadFor);
template std::vector<char> weights_bytes<float>(const Network<float>&, int, bool);
template std::vector<char> weights_bytes<double>(const Network<double>&, int, bool);
template void save_weights<float>(const Network<float>&, const std::string&, int, bool);
template void save_weights<double>(const Network<double>&, const std::string&, int, bool);

}  // namespace dn
