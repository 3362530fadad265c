// Reader and writer for the body of Darknet .weights files (little-endian float32 arrays).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dn {

/// Magic of the trailer that follows the last layer in files we write when some layer has data
/// Darknet's layout cannot hold (docs/cfg.md): "DNXT", u32 version 1, u32 records, then per record
/// u32 kind, i32 layer index, u32 float count, floats. Darknets stop reading before it.
constexpr char kTrailerMagic[5] = "DNXT";
/// Trailer record kinds.
enum TrailerKind : uint32_t {
    kTrailerLayerData = 1,      ///< Layer::save_trailer (standalone [batchnorm] beta)
    kTrailerOptimizerState = 2, ///< every Param::grad of the layer (SGD momentum), in params() order
    kTrailerAdamState = 3,      ///< Layer::adam: t (u64, two words), then m and v of each trained Param
    kTrailerEma = 4,            ///< Layer::ema: the moving average of each trained Param ([net] ema_alpha)
};

/// How a weights file lays out the layers of the cfg it is loaded into; the loader tells them apart
/// by where the layers' data ends (docs/cfg.md, "Weights layouts").
enum class WeightsLayout {
    Keyed,  ///< Darknet's reading: nothing for dontload=1 layers, nor the arrays dontloadscales / numload leave out
    Saved,  ///< what this cfg writes: nothing for dontsave=1 layers, every other layer whole
    Whole,  ///< every layer whole (a file written before the keys were added)
};

/// Sequential reader over a weights file held in memory. Every read names what it reads so that a
/// short file gives "layer 12 (convolutional): weights need 18432 bytes at offset 40000, 120
/// available".
class WeightsReader {
public:
    WeightsReader(std::string path, std::vector<char> bytes, size_t offset);
    /// Reads n float32 values into dst (converted to T). Throws dn::Error when fewer remain, or
    /// when a value is NaN or infinite (naming the value's index and byte offset).
    template <class T>
    void read(T* dst, size_t n, const char* what);
    /// read(), and every value must be >= 0 (a variance); throws dn::Error naming the first that
    /// is not.
    template <class T>
    void read_nonnegative(T* dst, size_t n, const char* what);
    /// Reads a little-endian uint32 (trailer fields).
    uint32_t read_u32(const char* what);
    /// True when the next 4 bytes are `magic` (does not consume them).
    bool at_magic(const char* magic) const;
    /// Skips n bytes; throws dn::Error naming `what` when fewer remain.
    void skip(size_t n, const char* what);
    /// Reads a little-endian uint64 as two uint32 words (trailer fields).
    uint64_t read_u64(const char* what);
    size_t remaining() const { return bytes_.size() - offset_; }
    size_t offset() const { return offset_; }
    const std::string& path() const { return path_; }
    const std::vector<char>& bytes() const { return bytes_; }
    /// Set by the loader before each layer, for messages.
    void set_layer(int index, const char* type) { layer_ = index; type_ = type; }
    int major = 0, minor = 0, revision = 0;
    /// The file's layout, set by the loader before the layers read.
    WeightsLayout layout = WeightsLayout::Keyed;
    /// Whether the file follows the cfg's dontload / dontloadscales / numload keys (it lacks those
    /// arrays). False for a file that holds them anyway, e.g. a checkpoint saved from this cfg.
    bool follows_load_keys() const { return layout == WeightsLayout::Keyed; }

private:
    /// Throws the error for value i of the n being read as `what`, starting at byte offset `at`.
    [[noreturn]] void bad_value(const char* what, size_t i, size_t n, size_t at, const std::string& why) const;
    std::string path_;
    std::vector<char> bytes_;
    size_t offset_;
    int layer_ = -1;
    const char* type_ = "";
};

/// Appends float32 arrays to a byte buffer.
class WeightsWriter {
public:
    template <class T>
    void write(const T* src, size_t n);
    void write_u32(uint32_t v);
    void write_raw(const void* p, size_t n);
    std::vector<char>& bytes() { return bytes_; }

private:
    std::vector<char> bytes_;
};

}  // namespace dn
