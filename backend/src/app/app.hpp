#pragma once
// Composition root: configuration -> pools -> router -> server; signals and shutdown.

#include "config/config.hpp"

namespace flashbill::app {

// Runs the API server until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
// drain, 1 when the shutdown bound forced connections closed or startup failed.
// with_worker: also run the job worker in this process (`serve --no-worker` turns it off).
int serve(const config::Config& config, bool with_worker);

// Runs only the job worker until SIGTERM/SIGINT; 0 after running jobs finished.
int worker(const config::Config& config);

// Applies pending migrations and exits (0 on success).
int migrate(const config::Config& config);

}  // namespace flashbill::app
