#include "darknet/error.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace dn {

namespace {
std::atomic<bool> g_quiet{false};

std::string vformat(const char* fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap2);
    va_end(ap2);
    std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(&out[0], static_cast<size_t>(n) + 1, fmt, ap);
    return out;
}

// A message quotes what the user gave (cfg values, paths, lines of a list); control characters
// in it (a binary file given as a list, an escape sequence) are shown as \xNN instead of being
// sent to the terminal. Newlines and tabs stay; bytes >= 0x80 stay (UTF-8 file names).
std::string printable(std::string s) {
    std::string out;
    for (unsigned char ch : s) {
        if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) out += strfmt("\\x%02x", ch);
        else out += static_cast<char>(ch);
    }
    return out;
}
}  // namespace

std::string strfmt(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

void fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = vformat(fmt, ap);
    va_end(ap);
    throw Error(printable(std::move(s)));
}

void warn(const char* fmt, ...) {
    if (g_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    std::string s = vformat(fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "darknet: warning: %s\n", printable(std::move(s)).c_str());
}

void set_quiet(bool quiet) { g_quiet = quiet; }
bool is_quiet() { return g_quiet; }

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s) {
        if (ch == sep) {
            out.push_back(trim(cur));
            cur.clear();
        } else {
            cur += ch;
        }
    }
    out.push_back(trim(cur));
    return out;
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string read_text_file(const std::string& path) {
    // an ifstream opens a directory and then reads nothing: say so instead of returning ""
    if (path_kind(path) == PathKind::Directory) fail("'%s' is a directory, not a file", path.c_str());
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
    std::stringstream ss;
    if (f.peek() != std::ifstream::traits_type::eof()) ss << f.rdbuf();
    if (f.bad()) fail("cannot read '%s': %s", path.c_str(), std::strerror(errno));
    return ss.str();
}

std::vector<std::pair<int, std::string>> numbered_lines(const std::string& text) {
    std::vector<std::pair<int, std::string>> out;
    size_t pos = 0;
    for (int lineno = 1; pos < text.size(); ++lineno) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = trim(text.substr(pos, nl - pos));
        pos = nl + 1;
        if (!line.empty()) out.emplace_back(lineno, std::move(line));
    }
    return out;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> out;
    for (auto& [lineno, line] : numbered_lines(read_text_file(path))) out.push_back(std::move(line));
    return out;
}

bool file_exists(const std::string& path) { return path_kind(path) != PathKind::Missing; }

PathKind path_kind(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PathKind::Missing;
    return S_ISREG(st.st_mode) ? PathKind::File : S_ISDIR(st.st_mode) ? PathKind::Directory : PathKind::Other;
}

std::string dirname_of(const std::string& path) {
    size_t p = path.find_last_of('/');
    if (p == std::string::npos) return ".";
    if (p == 0) return "/";
    return path.substr(0, p);
}

std::string basename_of(const std::string& path) {
    size_t p = path.find_last_of('/');
    return p == std::string::npos ? path : path.substr(p + 1);
}

void write_file_atomic(const std::string& path, const void* bytes, size_t n) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("cannot write '%s': %s", tmp.c_str(), std::strerror(errno));
    bool ok = std::fwrite(bytes, 1, n, f) == n;
    ok = (std::fflush(f) == 0) && ok;
    ok = (::fsync(::fileno(f)) == 0) && ok;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        int e = errno;
        std::remove(tmp.c_str());
        fail("writing '%s' failed (%s); the previous file, if any, is untouched", path.c_str(),
             std::strerror(e));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        std::remove(tmp.c_str());
        fail("cannot rename '%s' to '%s': %s", tmp.c_str(), path.c_str(), std::strerror(e));
    }
}

double now_seconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace dn
