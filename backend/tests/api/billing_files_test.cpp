// Files through the real binary (API.md §7): uploads sniffed by content, bytes on disk under ids,
// metadata in PostgreSQL, downloads with safe headers, tenancy and limits.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "auth/crypto.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"
#include "upload_test_util.hpp"

namespace flashbill::test {
namespace {

using namespace upload_util;

std::string read_disk(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(BillingFiles, UploadListDownloadDelete) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    std::string bytes = pdf_bytes("a\r\n--" + kBoundary.substr(0, 10) + " boundary-like text inside");
    // A name with path steps, a quote and a non-ASCII character: only the base name is kept.
    auto up =
        upload(port, "/api/v1/files/upload", "file", "..\\..\\etc/r\xC3\xA9\\\"cu.pdf", bytes, owner, "text/plain");
    ASSERT_EQ(up.status, 201) << up.body;
    EXPECT_CONFORMS("POST", "/api/v1/files/upload", up);
    auto f = parse(up);
    std::string id = str(f, "id");
    EXPECT_EQ(str(f, "file_name"), "r\xC3\xA9\"cu.pdf");
    EXPECT_EQ(str(f, "content_type"), "application/pdf");  // sniffed, not the declared text/plain
    EXPECT_EQ(num(f, "size"), std::to_string(bytes.size()));
    EXPECT_EQ(str(f, "sha256"), auth::sha256_hex(bytes));
    // Stored under <org>/<id>, nothing else (no temporary left behind, no client name used).
    EXPECT_EQ(dir.files(), std::set<std::string>{owner.org_id + "/" + id});
    EXPECT_EQ(read_disk(dir.path() + "/" + owner.org_id + "/" + id), bytes);

    auto got = http_get(port, "/api/v1/files/" + id, bearer(owner));
    ASSERT_EQ(got.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/files/{id}", got);
    EXPECT_EQ(got.body, bytes);
    EXPECT_EQ(got.header("Content-Type"), "application/pdf");
    EXPECT_EQ(got.header("ETag"), "\"" + auth::sha256_hex(bytes) + "\"");
    EXPECT_EQ(got.header("Content-Disposition"),
              "attachment; filename=\"r___cu.pdf\"; filename*=UTF-8''r%C3%A9%22cu.pdf");
    EXPECT_EQ(got.header("X-Content-Type-Options"), "nosniff");

    auto listed = http_get(port, "/api/v1/files", bearer(owner));
    ASSERT_EQ(listed.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/files", listed);
    EXPECT_EQ(listed.header("X-Total-Count"), "1");
    EXPECT_EQ(str(parse(listed).as_array().at(0), "id"), id);

    auto del = send(port, "DELETE", "/api/v1/files/" + id, "", bearer(owner));
    EXPECT_EQ(del.status, 204);
    EXPECT_CONFORMS("DELETE", "/api/v1/files/{id}", del);
    EXPECT_EQ(http_get(port, "/api/v1/files/" + id, bearer(owner)).status, 404);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/files/" + id, "", bearer(owner)).status, 404);
    EXPECT_TRUE(dir.files().empty());
    EXPECT_EQ(db.scalar("SELECT count(*) FROM files"), "0");
}

TEST(BillingFiles, EveryAllowedTypeIsSniffedAndOthersAre415) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto member = invite_member(port, register_account(port), "member");  // members may upload
    struct Case {
        std::string bytes, type;
    };
    std::string heic = std::string(
                           "\0\0\0\x18"
                           "ftypheic\0\0\0\0mif1heic",
                           24) +
                       "data";
    for (const auto& c : {Case{"\xFF\xD8\xFF\xE0jpegdata", "image/jpeg"}, Case{png_bytes(100), "image/png"},
                          Case{heic, "image/heic"}, Case{pdf_bytes(), "application/pdf"}}) {
        auto r = upload(port, "/api/v1/files/upload", "file", "x.bin", c.bytes, member);
        ASSERT_EQ(r.status, 201) << r.body;
        EXPECT_EQ(str(parse(r), "content_type"), c.type);
    }
    auto before = billing_snapshot(db);
    auto files_before = dir.files();
    // A text file dressed up as a PNG by name and declared type.
    auto fake = upload(port, "/api/v1/files/upload", "file", "photo.png", "hello, I am text", member, "image/png");
    EXPECT_EQ(fake.status, 415);
    EXPECT_EQ(error_code(fake), "UNSUPPORTED_MEDIA_TYPE");
    auto gif = upload(port, "/api/v1/files/upload", "file", "a.gif", "GIF89a....", member, "image/gif");
    EXPECT_EQ(gif.status, 415);
    auto empty = upload(port, "/api/v1/files/upload", "file", "e.png", "", member, "image/png");
    EXPECT_EQ(empty.status, 415);
    EXPECT_EQ(billing_snapshot(db), before);
    EXPECT_EQ(dir.files(), files_before);
}

TEST(BillingFiles, MalformedRequestsAreRefusedPrecisely) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    auto before = billing_snapshot(db);
    // Not multipart at all.
    auto json_body = send(port, "POST", "/api/v1/files/upload", R"({"file":"x"})", bearer(owner));
    EXPECT_EQ(json_body.status, 415);
    EXPECT_EQ(error_code(json_body), "UNSUPPORTED_MEDIA_TYPE");
    // Multipart without a closing boundary, or without a boundary parameter.
    std::string cut = multipart_body("file", "a.pdf", pdf_bytes());
    cut.resize(cut.size() - kBoundary.size() - 8);
    auto truncated = post_multipart(port, "/api/v1/files/upload", cut, owner);
    EXPECT_EQ(truncated.status, 400);
    EXPECT_EQ(error_code(truncated), "BAD_REQUEST");
    Request no_boundary{"POST", "/api/v1/files/upload", bearer(owner), multipart_body("file", "a.pdf", pdf_bytes())};
    no_boundary.headers.emplace_back("Content-Type", "multipart/form-data");
    auto nb = http(port, no_boundary);
    EXPECT_EQ(nb.status, 400);
    EXPECT_EQ(error_code(nb), "BAD_REQUEST");
    // Well-formed, but the field is missing: VALIDATION_ERROR naming it.
    auto wrong_field = upload(port, "/api/v1/files/upload", "document", "a.pdf", pdf_bytes(), owner);
    EXPECT_EQ(wrong_field.status, 400);
    EXPECT_EQ(error_code(wrong_field), "VALIDATION_ERROR");
    EXPECT_EQ(error_fields(wrong_field), "file");
    EXPECT_EQ(billing_snapshot(db), before);
    EXPECT_TRUE(dir.files().empty());
}

TEST(BillingFiles, UploadLimitIsExactAndOversizeIs413) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));  // the default MAX_UPLOAD_BYTES: 10 MiB
    auto port = server.port();
    auto owner = register_account(port);
    constexpr std::size_t kLimit = 10 * 1024 * 1024;
    auto at_limit = upload(port, "/api/v1/files/upload", "file", "big.png", png_bytes(kLimit - 8), owner);
    ASSERT_EQ(at_limit.status, 201) << at_limit.body;
    EXPECT_EQ(num(parse(at_limit), "size"), std::to_string(kLimit));
    auto before = billing_snapshot(db);
    auto over = upload(port, "/api/v1/files/upload", "file", "big.png", png_bytes(kLimit - 7), owner);
    EXPECT_EQ(over.status, 413);
    EXPECT_EQ(error_code(over), "PAYLOAD_TOO_LARGE");
    // Far above the limit the declared length alone is refused, before any body byte is read (the
    // server then closes, so the body is never sent).
    Connection c(port);
    c.send("POST /api/v1/files/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + owner.access_token +
           "\r\nContent-Type: multipart/form-data; boundary=" + kBoundary +
           "\r\nContent-Length: " + std::to_string(kLimit + 200 * 1024) + "\r\n\r\n");
    auto far_over = c.read_response();
    ASSERT_TRUE(far_over.has_value());
    EXPECT_EQ(far_over->status, 413);
    EXPECT_EQ(error_code(*far_over), "PAYLOAD_TOO_LARGE");
    EXPECT_EQ(billing_snapshot(db), before);
    EXPECT_EQ(dir.files().size(), 1u);
}

TEST(BillingFiles, ListPagesFollowLinkToTheEnd) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    std::set<std::string> created;
    for (int i = 0; i < 5; ++i) {
        auto r = upload(port, "/api/v1/files/upload", "file", "f" + std::to_string(i) + ".pdf", pdf_bytes(), owner);
        ASSERT_EQ(r.status, 201);
        created.insert(str(parse(r), "id"));
    }
    int pages = 0;
    auto ids = walk_pages(port, "/api/v1/files?limit=2", owner, &pages);
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(ids.size(), 5u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), created);
    EXPECT_EQ(http_get(port, "/api/v1/files?limit=2", bearer(owner)).header("X-Total-Count"), "5");
    EXPECT_EQ(error_fields(http_get(port, "/api/v1/files?limit=0", bearer(owner))), "limit");
}

TEST(BillingFiles, AnotherOrgsFileIs404) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    auto other = register_account(port);
    auto id = str(parse(upload(port, "/api/v1/files/upload", "file", "a.pdf", pdf_bytes(), owner)), "id");
    EXPECT_EQ(http_get(port, "/api/v1/files/" + id, bearer(other)).status, 404);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/files/" + id, "", bearer(other)).status, 404);
    EXPECT_EQ(http_get(port, "/api/v1/files", bearer(other)).header("X-Total-Count"), "0");
    EXPECT_EQ(http_get(port, "/api/v1/files/not-a-uuid", bearer(owner)).status, 404);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM files"), "1");
    EXPECT_EQ(http_get(port, "/api/v1/files/" + id, bearer(owner)).status, 200);
}

TEST(BillingFiles, FailedInsertRemovesTheWrittenBytes) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    db.exec(
        "CREATE FUNCTION refuse_files() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;"
        "CREATE TRIGGER refuse_files BEFORE INSERT ON files FOR EACH ROW EXECUTE FUNCTION refuse_files()");
    auto r = upload(port, "/api/v1/files/upload", "file", "a.pdf", pdf_bytes(), owner);
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(error_code(r), "INTERNAL_ERROR");
    EXPECT_TRUE(dir.files().empty());
    EXPECT_EQ(db.scalar("SELECT count(*) FROM files"), "0");
}

}  // namespace
}  // namespace flashbill::test
