#include "mail/outbox.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "core/uuid.hpp"

namespace flashbill::mail {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kStampSize = 16;  // 20300101T120000Z

std::string file_stamp(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// Injective, so two message ids never share a file name.
std::string file_safe(std::string_view id) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : id) {
        auto c = static_cast<unsigned char>(ch);
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view(".@_+=-").find(ch) != std::string_view::npos;
        if (keep) {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

SendResult failed(const std::string& what, const std::string& path, int err) {
    return {Outcome::kTransient, what + " " + path + ": " + std::strerror(err)};
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

SendResult write_outbox(const std::string& dir, const Message& m) {
    auto now = std::chrono::system_clock::now();
    std::string mime;
    try {
        mime = build_mime(m, now);
    } catch (const std::invalid_argument& e) {
        return {Outcome::kPermanent, std::string("invalid message: ") + e.what()};
    }

    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return {Outcome::kTransient, "cannot create outbox directory " + dir + ": " + ec.message()};

    const std::string suffix = "-" + file_safe(m.message_id) + ".eml";
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.size() == kStampSize + suffix.size() && name.compare(kStampSize, std::string::npos, suffix) == 0) {
            return {Outcome::kSent, it->path().string() + " (already in the outbox)"};
        }
    }
    if (ec) return {Outcome::kTransient, "cannot list outbox directory " + dir + ": " + ec.message()};

    const std::string final_path = (fs::path(dir) / (file_stamp(now) + suffix)).string();
    const std::string tmp_path =
        (fs::path(dir) / ("." + file_stamp(now) + suffix + "." + new_request_id() + ".tmp")).string();
    int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return failed("cannot create", tmp_path, errno);
    bool ok = write_all(fd, mime) && ::fsync(fd) == 0;
    int err = errno;
    if (::close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        ::unlink(tmp_path.c_str());
        return failed("cannot write", tmp_path, err);
    }
    // link(), unlike rename(), never replaces: a concurrent writer of the same message keeps its file.
    // Filesystems without hard links get rename(), atomic too.
    if (::link(tmp_path.c_str(), final_path.c_str()) != 0 && errno != EEXIST) {
        if ((errno == EPERM || errno == ENOTSUP) && ::rename(tmp_path.c_str(), final_path.c_str()) == 0) {
            return {Outcome::kSent, final_path};
        }
        err = errno;
        ::unlink(tmp_path.c_str());
        return failed("cannot publish", final_path, err);
    }
    ::unlink(tmp_path.c_str());
    return {Outcome::kSent, final_path};
}

}  // namespace flashbill::mail
