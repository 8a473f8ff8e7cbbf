#pragma once
// The job kinds this binary runs, and the worker settings from the configuration.

#include "config/config.hpp"
#include "jobs/worker.hpp"

namespace flashbill::app {

// system.noop (a canary an operator can enqueue to check the queue end to end), mail.send, and
// with TEST_ROUTES the test.* kinds the test suite drives.
jobs::Registry make_job_registry(const config::Config& config);

jobs::WorkerSettings worker_settings(const config::Config& config);

}  // namespace flashbill::app
