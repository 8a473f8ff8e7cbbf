#pragma once
// Private to the http layer: the Beast request behind a RequestContext.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace flashbill::http::detail {

struct RawRequest {
    const boost::beast::http::request<boost::beast::http::string_body>& req;
};

}  // namespace flashbill::http::detail
