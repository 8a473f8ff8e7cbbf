#include "domain/files/storage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/uuid.hpp"
#include "spdlog/spdlog.h"

namespace flashbill::domain::files {

namespace asio = boost::asio;

namespace {

std::string g_upload_dir = "var/uploads";

std::mutex g_pool_mutex;
std::unique_ptr<asio::thread_pool> g_pool;

asio::thread_pool& pool() {
    std::lock_guard lock(g_pool_mutex);
    // Two threads: disk latency (fsync) must not queue every upload behind one slow write.
    if (!g_pool) g_pool = std::make_unique<asio::thread_pool>(2);
    return *g_pool;
}

// Runs fn() on the file pool and resumes on the awaiting coroutine's executor. fn must not throw.
template <class R, class F>
asio::awaitable<R> offload(F fn) {
    asio::thread_pool& p = pool();
    return asio::async_initiate<const asio::use_awaitable_t<>, void(R)>(
        [&p](auto handler, F f) {
            asio::post(p, [handler = std::move(handler), f = std::move(f)]() mutable {
                R result = f();
                auto ex = asio::get_associated_executor(handler);
                asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
                    std::move(handler)(std::move(result));
                });
            });
        },
        asio::use_awaitable, std::move(fn));
}

std::string org_dir(const std::string& org_id) { return g_upload_dir + "/" + org_id; }

Error io_error(const char* what, const std::string& path, int err) {
    Error e = Error::internal("the file could not be stored");
    e.cause = std::string(what) + " " + path + ": " + std::strerror(err);
    return e;
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

Result<void> write_sync(const std::string& org_id, const std::string& file_id, std::string_view bytes) {
    std::string dir = org_dir(org_id);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return io_error("mkdir", dir, ec.value());
    std::string tmp = dir + "/.tmp-" + new_uuid();
    std::string final_path = dir + "/" + file_id;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("open", tmp, errno);
    bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
    int err = errno;
    if (::close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
        if (ok) err = errno;
        ::unlink(tmp.c_str());
        return io_error("write", tmp, err);
    }
    // The rename itself is durable only once the directory is synced.
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return Result<void>{};
}

Result<std::string> read_sync(const std::string& org_id, const std::string& file_id) {
    std::string path = org_dir(org_id) + "/" + file_id;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return Error::not_found("file not found");
        return io_error("open", path, errno);
    }
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[64 * 1024];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return io_error("read", path, err);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace

void set_upload_dir(std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    g_upload_dir = std::move(dir);
}

asio::awaitable<Result<void>> write_bytes(std::string org_id, std::string file_id, std::string_view bytes) {
    auto work = [org_id = std::move(org_id), file_id = std::move(file_id), bytes] {
        return write_sync(org_id, file_id, bytes);
    };
    auto r = co_await offload<Result<void>>(std::move(work));
    if (!r) spdlog::error("upload: {}", r.error().cause);
    co_return r;
}

asio::awaitable<Result<std::string>> read_bytes(std::string org_id, std::string file_id) {
    auto work = [org_id = std::move(org_id), file_id = std::move(file_id)] { return read_sync(org_id, file_id); };
    auto r = co_await offload<Result<std::string>>(std::move(work));
    if (!r && r.error().code != ErrorCode::kNotFound) spdlog::error("download: {}", r.error().cause);
    co_return r;
}

asio::awaitable<void> remove_bytes(std::string org_id, std::string file_id) {
    auto work = [org_id = std::move(org_id), file_id = std::move(file_id)] {
        std::string path = org_dir(org_id) + "/" + file_id;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            spdlog::warn("could not remove {}: {}", path, std::strerror(errno));
        }
        return 0;
    };
    co_await offload<int>(std::move(work));
}

}  // namespace flashbill::domain::files
