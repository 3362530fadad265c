// Darknet .cfg and .data parsing.
//
// Syntax (Darknet's): `[section]` headers, `key=value` lines (spaces around `=` allowed), comments
// starting with `#` or `;` (whole-line or trailing), lists written `a,b,c`. Every getter marks its
// key used; warn_unused() then names each key no layer read, with its file:line. Malformed values
// are dn::Error naming file:line, the section and the key.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dn {

/// One `key=value` line of a cfg section.
struct CfgEntry {
    std::string key;
    std::string value;
    int line = 0;
    mutable bool used = false;
};

/// One `[name]` section with its entries in file order.
class CfgSection {
public:
    std::string name;  ///< section name without brackets, lower-cased, e.g. "convolutional"
    std::string file;  ///< path of the cfg file (or a label for in-memory text)
    int line = 0;      ///< line of the `[name]` header
    std::vector<CfgEntry> entries;

    bool has(const std::string& key) const;
    /// Integer value or `def` when absent. Throws dn::Error on a non-integer value.
    int get_int(const std::string& key, int def) const;
    /// Like get_int but the key must be present.
    int require_int(const std::string& key) const;
    float get_float(const std::string& key, float def) const;
    std::string get_str(const std::string& key, const std::string& def) const;
    /// Comma-separated integers ("400,450"); empty vector when absent.
    std::vector<int> get_ints(const std::string& key) const;
    std::vector<float> get_floats(const std::string& key) const;

    /// get_int() that also checks `value >= min` (e.g. sizes > 0); the error names the key.
    int get_int_min(const std::string& key, int def, int min) const;

    /// "file:line" of the key (or of the section header when the key is absent).
    std::string where(const std::string& key) const;
    /// Throws dn::Error "file:line: [section] key 'key': msg".
    [[noreturn]] void error(const std::string& key, const std::string& msg) const;
    /// Throws dn::Error "file:line: [section]: msg" (section-level problem).
    [[noreturn]] void error_section(const std::string& msg) const;

private:
    const CfgEntry* find(const std::string& key) const;
};

/// A parsed cfg file.
struct Cfg {
    std::string path;
    std::vector<CfgSection> sections;
};

/// Parses a cfg file. Throws dn::Error when the file cannot be read, a line is not `key=value`, or
/// keys appear before the first section.
Cfg parse_cfg_file(const std::string& path);
/// Parses cfg text held in memory; `label` is used as the file name in messages.
Cfg parse_cfg_string(const std::string& text, const std::string& label);

/// Prints one warning per key no one read ("file:line: [section] key 'k' is not used").
/// Returns the number of warnings.
int warn_unused(const Cfg& cfg);

/// A Darknet `.data` file: `classes=80`, `names=coco.names`, `train=`, `valid=`, `backup=`.
/// Relative paths that do not exist from the working directory are tried relative to the .data
/// file's directory and then its parent (Darknet's cfg/ and data/ side by side).
struct DataConfig {
    std::string path;
    std::map<std::string, std::string> values;
    std::map<std::string, int> lines;  ///< the line of each key (its first occurrence, which wins)
    bool has(const std::string& key) const;
    std::string get_str(const std::string& key, const std::string& def) const;
    /// Resolved path value (see above); `def` when absent, "" when that is "". Throws dn::Error
    /// naming the .data file, line and key (or the default taken) when the file does not exist.
    std::string get_path(const std::string& key, const std::string& def) const;
    /// Throws dn::Error naming the file, line and key when the value is not an integer in int's range.
    int get_int(const std::string& key, int def) const;
};

/// Parses a .data file. Throws dn::Error naming file:line for malformed lines.
DataConfig parse_data_file(const std::string& path);

/// Reads a names file (one class name per line, trailing whitespace/CR removed).
std::vector<std::string> read_names(const std::string& path);

}  // namespace dn
