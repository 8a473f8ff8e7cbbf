#include "domain/domain.hpp"

#include "domain/clients/routes.hpp"
#include "domain/expenses/routes.hpp"
#include "domain/files/routes.hpp"
#include "domain/invoices/invoices.hpp"
#include "domain/invoices/routes.hpp"
#include "domain/payments/routes.hpp"
#include "domain/settings/routes.hpp"
#include "domain/reports/routes.hpp"

namespace flashbill::domain {

void add_routes(http::Router& router, const config::Config& config) {
    invoices::set_public_url(config.public_url);
    clients::add_routes(router);
    invoices::add_routes(router);
    payments::add_routes(router);
    settings::add_routes(router);
    files::add_routes(router, config.upload_dir, config.max_upload_bytes);
    expenses::add_routes(router, config.max_upload_bytes);
    reports::add_routes(router);
}

}  // namespace flashbill::domain
