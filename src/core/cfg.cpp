#include "darknet/cfg.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "darknet/error.hpp"

namespace dn {

namespace {

std::string strip_comment(const std::string& line) {
    size_t p = line.find_first_of("#;");
    return p == std::string::npos ? line : line.substr(0, p);
}

std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

bool parse_float_strict(const std::string& v, double* out) {
    if (v.empty()) return false;
    const char* b = v.c_str();
    char* e = nullptr;
    errno = 0;
    double d = std::strtod(b, &e);
    if (e == b || *e != '\0' || errno == ERANGE || !std::isfinite(d)) return false;
    *out = d;
    return true;
}

}  // namespace

const CfgEntry* CfgSection::find(const std::string& key) const {
    for (const auto& e : entries)
        if (e.key == key) return &e;  // first occurrence wins, as in Darknet; repeats stay unused
    return nullptr;
}

bool CfgSection::has(const std::string& key) const { return find(key) != nullptr; }

std::string CfgSection::where(const std::string& key) const {
    const CfgEntry* e = find(key);
    return strfmt("%s:%d", file.c_str(), e ? e->line : line);
}

void CfgSection::error(const std::string& key, const std::string& msg) const {
    fail("%s: [%s] key '%s': %s", where(key).c_str(), name.c_str(), key.c_str(), msg.c_str());
}

void CfgSection::error_section(const std::string& msg) const {
    fail("%s:%d: [%s]: %s", file.c_str(), line, name.c_str(), msg.c_str());
}

int CfgSection::get_int(const std::string& key, int def) const {
    const CfgEntry* e = find(key);
    if (!e) return def;
    e->used = true;
    double d;
    if (!parse_float_strict(e->value, &d))
        error(key, strfmt("expected an integer, got '%s'", e->value.c_str()));
    if (d != std::floor(d) || std::fabs(d) > 2147483647.0)
        error(key, strfmt("expected an integer, got '%s'", e->value.c_str()));
    return static_cast<int>(d);
}

int CfgSection::require_int(const std::string& key) const {
    if (!has(key)) error(key, "is required");
    return get_int(key, 0);
}

int CfgSection::get_int_min(const std::string& key, int def, int min) const {
    int v = get_int(key, def);
    if (v < min) error(key, strfmt("must be >= %d, got %d", min, v));
    return v;
}

float CfgSection::get_float(const std::string& key, float def) const {
    const CfgEntry* e = find(key);
    if (!e) return def;
    e->used = true;
    double d;
    if (!parse_float_strict(e->value, &d))
        error(key, strfmt("expected a number, got '%s'", e->value.c_str()));
    return static_cast<float>(d);
}

std::string CfgSection::get_str(const std::string& key, const std::string& def) const {
    const CfgEntry* e = find(key);
    if (!e) return def;
    e->used = true;
    return e->value;
}

std::vector<int> CfgSection::get_ints(const std::string& key) const {
    std::vector<int> out;
    const CfgEntry* e = find(key);
    if (!e) return out;
    e->used = true;
    for (const auto& item : split(e->value, ',')) {
        if (item.empty()) continue;  // tolerate a trailing comma, as Darknet does
        double d;
        if (!parse_float_strict(item, &d) || d != std::floor(d))
            error(key, strfmt("expected a list of integers, got '%s' in '%s'", item.c_str(),
                              e->value.c_str()));
        out.push_back(static_cast<int>(d));
    }
    return out;
}

std::vector<float> CfgSection::get_floats(const std::string& key) const {
    std::vector<float> out;
    const CfgEntry* e = find(key);
    if (!e) return out;
    e->used = true;
    for (const auto& item : split(e->value, ',')) {
        if (item.empty()) continue;
        double d;
        if (!parse_float_strict(item, &d))
            error(key, strfmt("expected a list of numbers, got '%s' in '%s'", item.c_str(),
                              e->value.c_str()));
        out.push_back(static_cast<float>(d));
    }
    return out;
}

Cfg parse_cfg_string(const std::string& text, const std::string& label) {
    Cfg cfg;
    cfg.path = label;
    std::istringstream in(text);
    std::string raw;
    int lineno = 0;
    while (std::getline(in, raw)) {
        ++lineno;
        std::string line = trim(strip_comment(raw));
        if (line.empty()) continue;
        if (line[0] == '[') {
            size_t close = line.find(']');
            if (close == std::string::npos || trim(line.substr(close + 1)) != "")
                fail("%s:%d: malformed section header '%s' (expected [name])", label.c_str(), lineno,
                     line.c_str());
            std::string name = lower(trim(line.substr(1, close - 1)));
            if (name.empty()) fail("%s:%d: empty section name '[]'", label.c_str(), lineno);
            CfgSection s;
            s.name = name;
            s.file = label;
            s.line = lineno;
            cfg.sections.push_back(std::move(s));
            continue;
        }
        size_t eq = line.find('=');
        if (eq == std::string::npos)
            fail("%s:%d: expected 'key=value', got '%s'", label.c_str(), lineno, line.c_str());
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (key.empty()) fail("%s:%d: missing key before '=' in '%s'", label.c_str(), lineno, line.c_str());
        if (cfg.sections.empty())
            fail("%s:%d: key '%s' appears before the first [section]", label.c_str(), lineno,
                 key.c_str());
        CfgEntry e;
        e.key = key;
        e.value = value;
        e.line = lineno;
        cfg.sections.back().entries.push_back(std::move(e));
    }
    return cfg;
}

Cfg parse_cfg_file(const std::string& path) { return parse_cfg_string(read_text_file(path), path); }

int warn_unused(const Cfg& cfg) {
    int n = 0;
    for (const auto& s : cfg.sections) {
        for (const auto& e : s.entries) {
            if (e.used) continue;
            bool repeated = false;
            for (const auto& o : s.entries)
                if (&o != &e && o.key == e.key && o.line < e.line) repeated = true;
            warn("%s:%d: [%s] key '%s' is not used%s", s.file.c_str(), e.line, s.name.c_str(),
                 e.key.c_str(), repeated ? " (repeated key; the first one wins)" : "");
            ++n;
        }
    }
    return n;
}

namespace {
// "file:line" of a key of a .data file (only "file" for a DataConfig built by hand)
std::string key_where(const DataConfig& d, const std::string& key) {
    auto it = d.lines.find(key);
    return it == d.lines.end() ? d.path : strfmt("%s:%d", d.path.c_str(), it->second);
}
}  // namespace

bool DataConfig::has(const std::string& key) const { return values.count(key) != 0; }

std::string DataConfig::get_str(const std::string& key, const std::string& def) const {
    auto it = values.find(key);
    return it == values.end() ? def : it->second;
}

std::string DataConfig::get_path(const std::string& key, const std::string& def) const {
    const std::string v = get_str(key, def);
    if (v.empty()) return v;
    // Darknet resolves from the working directory (its repository root); also accept paths relative
    // to the .data file and to its parent (cfg/x.data naming data/x.names).
    std::vector<std::string> tried = {v};
    if (v[0] != '/')
        for (const std::string& base : {dirname_of(path), dirname_of(dirname_of(path))})
            if (base != "." && std::find(tried.begin(), tried.end(), base + "/" + v) == tried.end())
                tried.push_back(base + "/" + v);
    // "x.data:3: names=n.names: <what>", or "x.data has no names= and its default 'n.names' <what>"
    auto bad = [&](const std::string& what) -> std::string {
        if (has(key)) fail("%s: %s=%s: %s", key_where(*this, key).c_str(), key.c_str(), v.c_str(), what.c_str());
        fail("%s has no %s= and its default '%s' %s", path.c_str(), key.c_str(), v.c_str(), what.c_str());
    };
    for (const std::string& p : tried) {
        const PathKind kind = path_kind(p);
        if (kind == PathKind::Missing) continue;
        if (kind == PathKind::Directory) return bad(p == v ? "is a directory, not a file" : "'" + p + "' is a directory, not a file");
        return p;
    }
    std::string also;
    for (size_t i = 1; i < tried.size(); ++i) also += (i > 1 ? ", " : " (nor ") + tried[i] + (i + 1 == tried.size() ? ")" : "");
    return bad("does not exist" + also);
}

int DataConfig::get_int(const std::string& key, int def) const {
    auto it = values.find(key);
    if (it == values.end()) return def;
    double d;
    if (!parse_float_strict(it->second, &d) || d != std::floor(d) || std::fabs(d) > INT_MAX)
        fail("%s: key '%s': expected an integer, got '%s'", key_where(*this, key).c_str(), key.c_str(),
             it->second.c_str());
    return static_cast<int>(d);
}

DataConfig parse_data_file(const std::string& path) {
    DataConfig dc;
    dc.path = path;
    std::istringstream in(read_text_file(path));
    std::string raw;
    int lineno = 0;
    while (std::getline(in, raw)) {
        ++lineno;
        std::string line = trim(strip_comment(raw));
        if (line.empty()) continue;
        size_t eq = line.find('=');
        if (eq == std::string::npos)
            fail("%s:%d: expected 'key=value', got '%s'", path.c_str(), lineno, line.c_str());
        std::string key = trim(line.substr(0, eq));
        if (!dc.values.count(key)) {
            dc.values[key] = trim(line.substr(eq + 1));
            dc.lines[key] = lineno;
        }
    }
    return dc;
}

std::vector<std::string> read_names(const std::string& path) {
    std::string text = read_text_file(path);
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        out.push_back(line);
    }
    while (!out.empty() && out.back().empty()) out.pop_back();
    return out;
}

}  // namespace dn
