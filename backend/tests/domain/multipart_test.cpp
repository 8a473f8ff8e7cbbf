// The multipart/form-data parser (RFC 7578) and the upload allow-list, without sockets.

#include "domain/files/multipart.hpp"

#include <gtest/gtest.h>

#include <string>

#include "domain/files/files.hpp"
#include "domain/files/sniff.hpp"

namespace flashbill::domain::files {
namespace {

constexpr std::string_view kType = "multipart/form-data; boundary=XyZ";

std::string part(std::string_view name, std::string_view filename, std::string_view data) {
    std::string s = "--XyZ\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"";
    if (!filename.empty()) s += "; filename=\"" + std::string(filename) + "\"";
    s += "\r\nContent-Type: image/png\r\n\r\n" + std::string(data) + "\r\n";
    return s;
}

ErrorCode code_of(std::string_view type, std::string_view body, MultipartLimits limits = {}) {
    auto r = parse_multipart(type, body, limits);
    EXPECT_FALSE(r.ok());
    return r ? ErrorCode::kInternal : r.error().code;
}

TEST(Multipart, ParsesFieldsAndFilesInOrder) {
    std::string body =
        "preamble to ignore\r\n" + part("note", "", "hello") + part("file", "r.png", "\x89PNG") + "--XyZ--\r\nepilogue";
    auto r = parse_multipart(kType, body);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].name, "note");
    EXPECT_FALSE((*r)[0].filename);
    EXPECT_EQ((*r)[0].data, "hello");
    EXPECT_EQ((*r)[1].name, "file");
    EXPECT_EQ((*r)[1].filename.value_or("?"), "r.png");
    EXPECT_EQ((*r)[1].content_type, "image/png");
    EXPECT_EQ((*r)[1].data, "\x89PNG");
    auto f = file_part(*r, "file");
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->data, "\x89PNG");
}

TEST(Multipart, BoundaryTextInsideDataIsData) {
    // The boundary without its leading CRLF, or followed by other bytes, is not a delimiter.
    std::string data = "a--XyZ b\r\n--XyZX not a delimiter\r\n--XyZ-";
    const std::string body = part("file", "x.pdf", data) + "--XyZ--";  // parts are views into it
    auto r = parse_multipart(kType, body);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].data, data);
}

TEST(Multipart, EmptyAndBinaryDataAreKeptExactly) {
    std::string bin("\0\r\n\xff\r\n\r\n", 8);
    const std::string body = part("a", "", "") + part("b", "b", bin) + "--XyZ--\r\n";
    auto r = parse_multipart(kType, body);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)[0].data, "");
    EXPECT_EQ((*r)[1].data, bin);
}

TEST(Multipart, QuotedBoundaryAndCaseInsensitiveNames) {
    std::string body =
        "--a b\r\ncontent-disposition: Form-Data; NAME=file; filename=\"q\\\"uote.png\"\r\n\r\nxx\r\n--a b--";
    auto r = parse_multipart("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"", body);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)[0].name, "file");
    EXPECT_EQ((*r)[0].filename.value_or("?"), "q\"uote.png");
}

TEST(Multipart, MissingFinalBoundaryIsBadRequest) {
    EXPECT_EQ(code_of(kType, part("file", "a.png", "data")), ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nno end"),
              ErrorCode::kBadRequest);
}

TEST(Multipart, MalformedBodiesAreBadRequest) {
    EXPECT_EQ(code_of(kType, ""), ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "no delimiter at all"), ErrorCode::kBadRequest);
    // Headers never end.
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n"), ErrorCode::kBadRequest);
    // No Content-Disposition, or not form-data, or without a name.
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--"), ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "--XyZ\r\n\r\nx\r\n--XyZ--"), ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--XyZ--"),
              ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--XyZ--"),
              ErrorCode::kBadRequest);
    // Unterminated quoted parameter; a header line without a colon; a folded header.
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: form-data; name=\"f\r\n\r\nx\r\n--XyZ--"),
              ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: form-data; name=f\r\nbogus\r\n\r\nx\r\n--XyZ--"),
              ErrorCode::kBadRequest);
    EXPECT_EQ(code_of(kType, "--XyZ\r\nContent-Disposition: form-data;\r\n name=f\r\n\r\nx\r\n--XyZ--"),
              ErrorCode::kBadRequest);
    // Garbage after a delimiter.
    EXPECT_EQ(code_of(kType, "--XyZ junk\r\n"), ErrorCode::kBadRequest);
}

TEST(Multipart, HugeHeadersAreRefused) {
    std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\nX-Pad: " + std::string(20000, 'a') +
                       "\r\n\r\nx\r\n--XyZ--";
    EXPECT_EQ(code_of(kType, body), ErrorCode::kBadRequest);
    // The same without an end of headers at all.
    EXPECT_EQ(code_of(kType, "--XyZ\r\nX-Pad: " + std::string(20000, 'a')), ErrorCode::kBadRequest);
}

TEST(Multipart, TooManyPartsAreRefused) {
    std::string body;
    for (int i = 0; i < 40; ++i) body += part("p", "", "x");
    body += "--XyZ--";
    EXPECT_EQ(code_of(kType, body), ErrorCode::kBadRequest);
}

TEST(Multipart, PartOverTheLimitIsPayloadTooLarge) {
    MultipartLimits limits;
    limits.max_part_bytes = 10;
    EXPECT_TRUE(parse_multipart(kType, part("f", "a", std::string(10, 'x')) + "--XyZ--", limits).ok());
    EXPECT_EQ(code_of(kType, part("f", "a", std::string(11, 'x')) + "--XyZ--", limits), ErrorCode::kPayloadTooLarge);
}

TEST(Multipart, WrongContentTypeIsUnsupportedAndBadBoundaryIsBadRequest) {
    EXPECT_EQ(code_of("application/json", "{}"), ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of("", "x"), ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of("multipart/mixed; boundary=XyZ", "x"), ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of("multipart/form-data", "x"), ErrorCode::kBadRequest);
    EXPECT_EQ(code_of("multipart/form-data; boundary=" + std::string(71, 'a'), "x"), ErrorCode::kBadRequest);
    EXPECT_EQ(code_of("multipart/form-data; boundary=\"\"", "x"), ErrorCode::kBadRequest);
}

TEST(Multipart, MissingFieldNamesTheField) {
    const std::string body = part("other", "a.png", "x") + part("receipt", "", "not a file") + "--XyZ--";
    auto r = parse_multipart(kType, body);
    ASSERT_TRUE(r.ok());
    auto missing = file_part(*r, "file");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::kValidation);
    ASSERT_EQ(missing.error().details.size(), 1u);
    EXPECT_EQ(missing.error().details[0].field, "file");
    auto not_file = file_part(*r, "receipt");
    ASSERT_FALSE(not_file.ok());
    EXPECT_EQ(not_file.error().details.at(0).field, "receipt");
}

TEST(Multipart, FileNamesAreReducedToABaseName) {
    const std::string body = part("f", "C:\\Users\\me\\..\\secret/../../etc/passwd", "x") + "--XyZ--";
    auto r = parse_multipart(kType, body);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].filename.value_or("?"), "passwd");
    EXPECT_EQ(base_name("../../a b.pdf"), "a b.pdf");
    EXPECT_EQ(base_name("dir\\sub\\r.png"), "r.png");
    EXPECT_EQ(base_name(".."), "");
    EXPECT_EQ(base_name("a/"), "");
    EXPECT_EQ(base_name("tab\there\x01.png"), "tab_here_.png");
    EXPECT_EQ(base_name("caf\xC3\xA9.pdf"), "caf\xC3\xA9.pdf");  // valid UTF-8 kept
    EXPECT_EQ(base_name("bad\xC3(.pdf"), "bad_(.pdf");           // invalid UTF-8 replaced
    EXPECT_EQ(base_name(std::string(300, 'a')).size(), 255u);
}

TEST(Sniff, AcceptsOnlyTheAllowListByMagicBytes) {
    using namespace std::string_view_literals;
    EXPECT_EQ(sniff("\xFF\xD8\xFF\xE0rest"sv).value().content_type, "image/jpeg");
    EXPECT_EQ(sniff("\x89PNG\r\n\x1A\nrest"sv).value().content_type, "image/png");
    EXPECT_EQ(sniff("%PDF-1.7\n"sv).value().content_type, "application/pdf");
    EXPECT_EQ(sniff("\0\0\0\x18"
                    "ftypheic\0\0\0\0mif1heic"sv)
                  .value()
                  .content_type,
              "image/heic");
    EXPECT_EQ(sniff("\0\0\0\x18"
                    "ftypmif1\0\0\0\0mif1heic"sv)
                  .value()
                  .content_type,
              "image/heic");
    EXPECT_FALSE(
        sniff("\0\0\0\x18"
              "ftypavif\0\0\0\0mif1avif"sv));  // AVIF is HEIF but not HEIC
    EXPECT_FALSE(
        sniff("\0\0\0\x18"
              "ftypmif1\0\0\0\0mif1avif"sv));
    EXPECT_FALSE(sniff("just some text pretending to be a png"));
    EXPECT_FALSE(sniff("GIF89a"));
    EXPECT_FALSE(sniff(""));
    EXPECT_FALSE(sniff("\x89PN"sv));
}

TEST(Files, ContentDispositionIsSafeForAnyName) {
    EXPECT_EQ(attachment_disposition("receipt.pdf"), "attachment; filename=\"receipt.pdf\"");
    EXPECT_EQ(attachment_disposition("a\"b;c\\d.png"),
              "attachment; filename=\"a_b_c_d.png\"; filename*=UTF-8''a%22b%3Bc%5Cd.png");
    EXPECT_EQ(attachment_disposition("caf\xC3\xA9.pdf"),
              "attachment; filename=\"caf__.pdf\"; filename*=UTF-8''caf%C3%A9.pdf");
}

}  // namespace
}  // namespace flashbill::domain::files
