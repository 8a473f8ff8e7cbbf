#include "app/job_handlers.hpp"

#include <thread>

#include "core/json.hpp"
#include "mail/mail.hpp"

namespace flashbill::app {

namespace {

// test.record: records that the job's effect ran (idempotently keyed by job id, counting runs so
// tests can see re-runs), optionally after sleeping sleep_ms. The table is the test's own.
jobs::JobResult test_record(const jobs::Job& job, jobs::JobContext& ctx) {
    auto payload = json::parse(job.payload_json);
    if (!payload) return jobs::JobResult::dead("payload is not JSON");
    if (const auto* ms = payload->find("sleep_ms"); ms && ms->as_exact_int64()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(*ms->as_exact_int64()));
    }
    auto r = ctx.exec(
        "INSERT INTO test_job_effects (job_id, runs) VALUES ($1::uuid, 1) "
        "ON CONFLICT (job_id) DO UPDATE SET runs = test_job_effects.runs + 1",
        {job.id});
    if (!r) return jobs::JobResult::retry(r.error().cause);
    return jobs::JobResult::done();
}

// mail.send: payload {"to": [..], "subject", "text", "html"?, "reply_to"?: [..]} — a message
// rendered when it was enqueued. The Message-ID derives from the job id, so a retried send (or a
// re-run after a worker died mid-send) is recognisable as the same message.
jobs::JobResult send_mail(const config::Config& config, const mail::SmtpSettings& smtp, const jobs::Job& job) {
    auto payload = json::parse(job.payload_json);
    if (!payload || !payload->is_object()) return jobs::JobResult::dead("mail.send: payload is not a JSON object");
    mail::Message m;
    m.from = config.mail_from;
    m.from_name = config.mail_from_name;
    auto strings = [](const json::Value* v, std::vector<std::string>& out) {
        if (!v || !v->is_array()) return false;
        for (const auto& e : v->as_array()) {
            if (!e.is_string()) return false;
            out.push_back(e.as_string());
        }
        return true;
    };
    if (!strings(payload->find("to"), m.to) || m.to.empty()) return jobs::JobResult::dead("mail.send: no recipients");
    if (const auto* rt = payload->find("reply_to")) strings(rt, m.reply_to);
    for (const auto& a : m.to) {
        if (!mail::valid_address(a)) return jobs::JobResult::dead("mail.send: invalid recipient " + a);
    }
    const auto* subject = payload->find("subject");
    const auto* text = payload->find("text");
    if (!subject || !subject->is_string() || !text || !text->is_string()) {
        return jobs::JobResult::dead("mail.send: subject and text are required");
    }
    m.subject = subject->as_string();
    m.text = text->as_string();
    if (const auto* html = payload->find("html"); html && html->is_string()) m.html = html->as_string();
    std::string domain = config.mail_from.substr(config.mail_from.find('@') + 1);
    m.message_id = "job-" + job.id + "@" + domain;
    mail::SendResult r = mail::deliver(smtp, config.mail_outbox_dir, m);
    switch (r.outcome) {
        case mail::Outcome::kSent: return jobs::JobResult::done();
        case mail::Outcome::kTransient: return jobs::JobResult::retry(r.detail);
        case mail::Outcome::kPermanent: return jobs::JobResult::dead(r.detail);
    }
    return jobs::JobResult::retry("unknown send outcome");
}

mail::SmtpSettings smtp_settings(const config::Config& config) {
    mail::SmtpSettings s;
    s.url = config.smtp_url.value_or("");
    s.username = config.smtp_username;
    s.password = config.smtp_password;
    s.starttls = config.smtp_starttls == "none"       ? mail::SmtpSettings::Tls::kNone
                 : config.smtp_starttls == "required" ? mail::SmtpSettings::Tls::kRequired
                                                      : mail::SmtpSettings::Tls::kOpportunistic;
    s.ca_file = config.smtp_ca_file;
    return s;
}

}  // namespace

jobs::Registry make_job_registry(const config::Config& config) {
    jobs::Registry registry;
    registry.add("system.noop", [](const jobs::Job&, jobs::JobContext&) { return jobs::JobResult::done(); });
    registry.add("mail.send", [&config, smtp = smtp_settings(config)](const jobs::Job& job, jobs::JobContext&) {
        return send_mail(config, smtp, job);
    });
    if (config.test_routes) registry.add("test.record", test_record);
    return registry;
}

jobs::WorkerSettings worker_settings(const config::Config& config) {
    jobs::WorkerSettings s;
    s.database_url = config.database_url;
    s.concurrency = config.worker_concurrency;
    s.lease = config.job_lease;
    s.poll_interval = config.job_poll_interval;
    s.backoff_base = config.job_backoff_base;
    s.backoff_max = config.job_backoff_max;
    return s;
}

}  // namespace flashbill::app
