-- 0003: organizations, users, sessions and one-time tokens (API.md §2). Secrets are never stored:
-- refresh tokens, one-time tokens and API keys are kept as SHA-256 hex digests (they are 256-bit
-- random values, so a fast hash is enough), passwords as argon2id PHC strings.

-- RFC 3339 UTC with second precision, the API's timestamp format (API.md §1).
CREATE FUNCTION rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE TABLE organizations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone  text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER organizations_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE users (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Stored lower-cased, so the unique index below is case-insensitive without citext.
    email                 text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254
                                               AND position('@' IN email) > 1),
    password_hash         text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role                  text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    name                  text CHECK (length(name) <= 200),
    phone                 text CHECK (length(phone) <= 50),
    company_name          text CHECK (length(company_name) <= 200),
    business_type         text CHECK (length(business_type) <= 100),
    business_address      jsonb CHECK (jsonb_typeof(business_address) = 'object'),
    notification_settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(notification_settings) = 'object'),
    email_verified_at     timestamptz,
    -- Access tokens carry the version they were issued under; bumping it (logout-all, password
    -- reset or change) rejects every earlier access token at once, on every node.
    token_version         integer NOT NULL DEFAULT 0 CHECK (token_version >= 0),
    tokens_valid_after    timestamptz NOT NULL DEFAULT now(),
    last_login_at         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- Target of the (org_id, user_id) foreign keys below: a row of one org can never point at
    -- another org's user.
    CONSTRAINT users_org_id_id_key UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_org_created ON users (org_id, created_at DESC, id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Rotating refresh tokens. Every login starts a family; each refresh spends its token and adds the
-- next one to the family. Presenting a spent token means it was stolen (or replayed): the whole
-- family is revoked.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL,
    user_id    uuid NOT NULL,
    family_id  uuid NOT NULL,
    token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE,
    CHECK (expires_at > created_at)
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_live ON refresh_tokens (user_id) WHERE revoked_at IS NULL AND spent_at IS NULL;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

CREATE TABLE invitations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email       text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by  uuid,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, invited_by) REFERENCES users (org_id, id) ON DELETE SET NULL (invited_by)
);
CREATE INDEX invitations_org ON invitations (org_id, created_at DESC);

-- Single-use links sent by email: verification and reset name a user, an invitation names the
-- invitation (its user does not exist yet).
CREATE TABLE one_time_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    purpose       text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'invitation')),
    token_hash    text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id       uuid,
    invitation_id uuid REFERENCES invitations (id) ON DELETE CASCADE,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE,
    CHECK (CASE WHEN purpose = 'invitation' THEN invitation_id IS NOT NULL AND user_id IS NULL
                ELSE user_id IS NOT NULL AND invitation_id IS NULL END),
    CHECK (expires_at > created_at)
);
CREATE UNIQUE INDEX one_time_tokens_hash_key ON one_time_tokens (token_hash);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX one_time_tokens_invitation ON one_time_tokens (invitation_id);

-- API keys act for their creator with the creator's current role; removing the user removes them.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL,
    user_id      uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL CHECK (prefix LIKE 'fbk\_%' AND length(prefix) <= 16),
    key_hash     text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_org_live ON api_keys (org_id, created_at DESC, id) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_user ON api_keys (user_id);
