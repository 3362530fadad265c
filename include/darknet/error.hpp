// Error type and small string helpers shared by the whole library.
#pragma once

#include <cstdarg>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dn {

/// The one exception type the library throws for bad input (cfg, weights, images, data files) and
/// for misuse of the API. `what()` is a complete, user-facing message that names the file and line
/// (cfg), the byte offset (weights) or the argument at fault.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// printf-style formatting into a std::string.
std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Throws dn::Error with a printf-style message; control characters other than newline and tab
/// (from quoted user input) appear as \xNN.
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Prints "darknet: warning: <msg>" to stderr (respects set_quiet()); control characters as fail().
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Silences warn() and the informational messages of the library (for tests and the C API).
void set_quiet(bool quiet);
bool is_quiet();

std::string trim(const std::string& s);
std::vector<std::string> split(const std::string& s, char sep);
bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);

/// Reads a whole file; throws dn::Error naming the path when it is a directory or cannot be opened
/// or read.
std::string read_text_file(const std::string& path);
/// Non-empty, trimmed lines of a text file (names files, image lists).
std::vector<std::string> read_lines(const std::string& path);
/// The non-empty, trimmed lines of `text`, each with its 1-based line number (for messages).
std::vector<std::pair<int, std::string>> numbered_lines(const std::string& text);
bool file_exists(const std::string& path);
/// What a path names (stat(2), following links): nothing, a regular file, a directory, or
/// something else (a device, a socket, ...).
enum class PathKind { Missing, File, Directory, Other };
PathKind path_kind(const std::string& path);
std::string dirname_of(const std::string& path);
std::string basename_of(const std::string& path);

/// Writes `bytes` to `path` atomically: to `path.tmp.<pid>` first, then rename(2), so a crash or a
/// full disk never leaves a half-written file where a good one was. Throws dn::Error on failure.
void write_file_atomic(const std::string& path, const void* bytes, size_t n);

/// Monotonic wall clock in seconds.
double now_seconds();

}  // namespace dn
