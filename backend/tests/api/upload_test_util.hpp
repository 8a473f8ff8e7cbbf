#pragma once
// Helpers shared by the billing_expenses and billing_files API tests: multipart bodies, an upload
// directory per test, table snapshots.

#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <string>

#include "auth_test_util.hpp"

namespace flashbill::test::upload_util {

using namespace auth_util;

inline const std::string kBoundary = "----FlashBillTestBoundary7MA4YWxk";

// One file part named `field`, as a browser sends it.
inline std::string multipart_body(const std::string& field, const std::string& filename, const std::string& bytes,
                                  const std::string& declared_type = "application/octet-stream") {
    return "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" + filename +
           "\"\r\nContent-Type: " + declared_type + "\r\n\r\n" + bytes + "\r\n--" + kBoundary + "--\r\n";
}

inline HttpResponse post_multipart(std::uint16_t port, const std::string& target, const std::string& body,
                                   const TestAccount& a, std::vector<std::pair<std::string, std::string>> extra = {}) {
    Request r;
    r.method = "POST";
    r.target = target;
    r.headers = bearer(a);
    r.headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + kBoundary);
    for (auto& h : extra) r.headers.push_back(h);
    r.body = body;
    return http(port, r);
}

inline HttpResponse upload(std::uint16_t port, const std::string& target, const std::string& field,
                           const std::string& filename, const std::string& bytes, const TestAccount& a,
                           const std::string& declared_type = "application/octet-stream") {
    return post_multipart(port, target, multipart_body(field, filename, bytes, declared_type), a);
}

// A PNG signature followed by `n` pseudo-random bytes (incl. CR, LF and '-'): the server sniffs
// the signature only.
inline std::string png_bytes(std::size_t n, unsigned seed = 1) {
    std::string s = std::string("\x89PNG\r\n\x1A\n", 8);
    std::mt19937 rng(seed);
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() & 0xFF));
    return s;
}

inline std::string pdf_bytes(const std::string& text = "receipt") { return "%PDF-1.4\n% " + text + "\n%%EOF\n"; }

// A fresh upload directory, removed afterwards.
class UploadDir {
public:
    UploadDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "fb-uploads-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~UploadDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    // Every regular file below the directory (relative paths), temporary ones included.
    std::set<std::string> files() const {
        std::set<std::string> out;
        for (const auto& e : std::filesystem::recursive_directory_iterator(path_)) {
            if (e.is_regular_file()) out.insert(std::filesystem::relative(e.path(), path_).string());
        }
        return out;
    }

private:
    std::string path_;
};

inline std::map<std::string, std::string> upload_env(const TestDatabase& db, const UploadDir& dir,
                                                     std::map<std::string, std::string> extra = {}) {
    extra["UPLOAD_DIR"] = dir.path();
    return env(db, std::move(extra));
}

// Every row of the tables this feature writes, hashed: equal snapshots mean nothing changed.
inline std::string billing_snapshot(const TestDatabase& db) {
    std::string all;
    for (const char* t : {"expenses", "files"}) {
        all += db.scalar(std::string("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM ") + t +
                         " t");
        all += ";";
    }
    return all;
}

inline std::string num(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_number() ? std::string(f->number_text()) : std::string("?");
}

// Follows Link rel="next" from `first` to the end; returns every id seen, in order.
inline std::vector<std::string> walk_pages(std::uint16_t port, const std::string& first, const TestAccount& a,
                                           int* pages = nullptr) {
    std::vector<std::string> ids;
    std::string target = first;
    int n = 0;
    while (!target.empty() && n < 100) {
        auto r = http_get(port, target, bearer(a));
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status != 200) break;
        ++n;
        json::Value page = parse(r);
        for (const auto& item : page.as_array()) ids.push_back(str(item, "id"));
        std::string link = r.header("Link");
        target.clear();
        if (!link.empty()) {
            auto lt = link.find('<'), gt = link.find('>');
            EXPECT_NE(link.find("rel=\"next\""), std::string::npos);
            target = link.substr(lt + 1, gt - lt - 1);
        }
    }
    if (pages) *pages = n;
    return ids;
}

}  // namespace flashbill::test::upload_util
