// HTTP mapping of /files (API.md §7): parse → service → answer.

#include "domain/files/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "domain/common/routes.hpp"
#include "domain/files/files.hpp"
#include "domain/files/storage.hpp"

namespace flashbill::domain::files {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;

Result<Part> read_upload(const RequestContext& ctx, std::string_view field, std::size_t max_upload_bytes) {
    MultipartLimits limits;
    limits.max_part_bytes = max_upload_bytes;
    auto parts = parse_multipart(ctx.header("Content-Type"), ctx.body(), limits);
    if (!parts) return parts.error();
    return file_part(*parts, field);
}

Response file_answer(std::string bytes, std::string_view content_type, std::string_view file_name,
                     std::string_view sha256) {
    std::string etag = "\"" + std::string(sha256) + "\"";
    Response res;
    res.status = 200;
    res.body = std::move(bytes);
    res.content_type = std::string(content_type);
    res.header("ETag", etag);
    res.header("Content-Disposition", attachment_disposition(file_name));
    // Sniffed types only, and never rendered as something else by the browser.
    res.header("X-Content-Type-Options", "nosniff");
    res.header("Cache-Control", "private, no-cache");
    return res;
}

namespace {

Awaitable upload_route(RequestContext& ctx, std::size_t max_upload_bytes) {
    auto part = read_upload(ctx, "file", max_upload_bytes);
    if (!part) co_return ctx.error(part.error());
    auto r = co_await upload(org_of(ctx), std::move(*part));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(201, std::move(*r));
}

Awaitable list_route(RequestContext& ctx) {
    auto page = read_page(ctx);
    if (!page) co_return ctx.error(page.error());
    auto r = co_await list(org_of(ctx), *page);
    if (!r) co_return ctx.error(r.error());
    Response res = json_answer(200, std::move(r->json));
    add_list_headers(ctx, res, r->total, r->next_cursor);
    co_return res;
}

Awaitable download_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("file not found"));
    auto r = co_await download(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    co_return file_answer(std::move(r->bytes), r->content_type, r->file_name, r->sha256);
}

Awaitable delete_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("file not found"));
    auto r = co_await remove(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    Response res;
    res.status = 204;
    co_return res;
}

}  // namespace

void add_routes(http::Router& router, std::string upload_dir, std::size_t max_upload_bytes) {
    using auth::Role;
    set_upload_dir(std::move(upload_dir));
    // The body limit is the file limit plus room for the multipart framing around it; the part
    // itself is held to max_upload_bytes by the parser.
    http::RouteOptions upload_options{max_upload_bytes + 64 * 1024};
    http::Handler upload_handler = [max_upload_bytes](RequestContext& ctx) {
        return upload_route(ctx, max_upload_bytes);
    };
    add_route(router, Method::kPost, "/files/upload", Role::kMember, std::move(upload_handler), upload_options);
    add_route(router, Method::kGet, "/files", Role::kMember, list_route);
    add_route(router, Method::kGet, "/files/{id}", Role::kMember, download_route);
    add_route(router, Method::kDelete, "/files/{id}", Role::kMember, delete_route);
}

}  // namespace flashbill::domain::files
