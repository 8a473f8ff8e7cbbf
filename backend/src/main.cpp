// flashbill: serve | migrate | check-config | version
#include <CLI/CLI.hpp>
#include <iostream>
#include <vector>

#include "app/app.hpp"
#include "config/config.hpp"

#ifndef FLASHBILL_VERSION
#define FLASHBILL_VERSION "dev"
#endif

using namespace flashbill;

namespace {

// Loads .env (when present) and the environment; prints every invalid key and returns nullopt.
std::optional<config::Config> load_config(const std::string& env_file, bool named) {
    auto file = config::read_env_file(env_file, named);
    if (!file) {
        std::cerr << "configuration error: " << file.error().message << "\n";
        return std::nullopt;
    }
    auto cfg = config::load(config::merge_with_process_env(std::move(*file)));
    if (!cfg) {
        std::cerr << "configuration error:\n";
        for (const auto& d : cfg.error().details) std::cerr << "  " << d.field << ": " << d.message << "\n";
        return std::nullopt;
    }
    return std::move(*cfg);
}

std::string mask(const std::string& s) { return s.empty() ? "(empty)" : "(set, " + std::to_string(s.size()) + " chars)"; }

std::string mask_url(std::string url) {
    // postgresql://user:password@host -> postgresql://user:***@host
    auto scheme = url.find("://");
    auto at = url.find('@');
    if (scheme != std::string::npos && at != std::string::npos) {
        auto colon = url.find(':', scheme + 3);
        if (colon != std::string::npos && colon < at) url.replace(colon + 1, at - colon - 1, "***");
    }
    return url;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"FlashBill invoicing API server"};
    cli.require_subcommand(1);
    std::string env_file = ".env";
    std::vector<CLI::Option*> env_file_options;
    env_file_options.push_back(
        cli.add_option("--env-file", env_file, "KEY=VALUE file read before the environment (.env: optional; a "
                                               "file named here must be readable)")
            ->capture_default_str());

    auto* serve = cli.add_subcommand("serve", "serve the HTTP API (applies migrations first unless MIGRATE_ON_START=false)");
    bool no_worker = false;
    serve->add_flag("--no-worker", no_worker, "do not run the job worker in this process (run `flashbill worker` instead)");
    auto* worker = cli.add_subcommand("worker", "run only the job worker (emails, PDFs, pushes) until SIGTERM");
    auto* migrate = cli.add_subcommand("migrate", "apply pending database migrations and exit");
    auto* check = cli.add_subcommand("check-config", "validate the configuration and print it with secrets masked");
    auto* version = cli.add_subcommand("version", "print the version");
    for (auto* sub : {serve, worker, migrate, check}) {
        env_file_options.push_back(
            sub->add_option("--env-file", env_file, "KEY=VALUE file read before the environment (must be readable)"));
    }

    CLI11_PARSE(cli, argc, argv);

    if (*version) {
        std::cout << "flashbill " << FLASHBILL_VERSION << "\n";
        return 0;
    }
    bool named = false;
    for (auto* o : env_file_options) named = named || o->count() > 0;
    auto cfg = load_config(env_file, named);
    if (!cfg) return 2;
    if (*check) {
        std::cout << "FLASHBILL_ENV=" << config::environment_name(cfg->env) << "\n"
                  << "HOST=" << cfg->host << "\nPORT=" << cfg->port << "\nTHREADS=" << cfg->threads << "\n"
                  << "DATABASE_URL=" << mask_url(cfg->database_url) << "\n"
                  << "DB_POOL_SIZE=" << cfg->db_pool_size << "\n"
                  << "REDIS_URL=" << (cfg->redis_url ? mask_url(*cfg->redis_url) : "(not set)") << "\n"
                  << "JWT_SECRET=" << mask(cfg->jwt_secret) << "\n"
                  << "METRICS_TOKEN=" << (cfg->metrics_token ? mask(*cfg->metrics_token) : "(not set)") << "\n"
                  << "APP_URL=" << cfg->app_url << "\nPUBLIC_URL=" << cfg->public_url << "\n"
                  << "UPLOAD_DIR=" << cfg->upload_dir << "\n"
                  << "configuration OK\n";
        return 0;
    }
    if (*migrate) return app::migrate(*cfg);
    if (*worker) return app::worker(*cfg);
    return app::serve(*cfg, !no_worker);
}
