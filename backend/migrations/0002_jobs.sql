-- 0002: the durable job queue (emails, PDFs, pushes, webhooks). A job exists if and only if the
-- transaction that enqueued it committed; workers lease jobs with FOR UPDATE SKIP LOCKED, so any
-- number of worker processes can share the table. See backend/src/jobs/queue.hpp.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    org_id       uuid,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts BETWEEN 1 AND 100),
    last_error   text,
    locked_until timestamptz,
    locked_by    text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- A running job always has a lease, and only a running job has one.
    CONSTRAINT jobs_lease_iff_running CHECK ((state = 'running') = (locked_until IS NOT NULL)),
    CONSTRAINT jobs_finished_iff_final CHECK ((state IN ('done', 'dead')) = (finished_at IS NOT NULL))
);

-- What workers look for: due queued jobs, and leases that expired (a worker died).
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE state = 'running';
-- Operators look at dead jobs; retention deletes old done ones.
CREATE INDEX jobs_dead ON jobs (finished_at) WHERE state = 'dead';
CREATE INDEX jobs_done ON jobs (finished_at) WHERE state = 'done';

CREATE TRIGGER jobs_updated_at BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Wake listening workers when a job is enqueued (delivered at commit, once per transaction and kind).
CREATE FUNCTION jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('flashbill_jobs', NEW.kind);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_notify();
