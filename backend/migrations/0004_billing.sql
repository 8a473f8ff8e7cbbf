-- 0004: the billing domain (API.md §3–§9): settings, tax rates, clients, invoices with their
-- items and per-org numbering, payments and refunds, files, expenses, idempotency keys.
-- Money is BIGINT minor units; quantities and percentage rates are BIGINT units of 10^-4
-- (core/decimal.hpp, Decimal::kScale). Every business row carries org_id, and every reference
-- between org-owned rows goes through (org_id, id), so a row can never point into another org.

-- Org-wide settings (§8): business details, invoice defaults, notification preferences. One row
-- per org, created on first write; readers fall back to the defaults below.
CREATE TABLE org_settings (
    org_id                uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    company_name          text CHECK (length(company_name) <= 200),
    business_type         text CHECK (length(business_type) <= 100),
    email                 text CHECK (length(email) <= 254),
    phone                 text CHECK (length(phone) <= 50),
    address               jsonb CHECK (jsonb_typeof(address) = 'object'),
    tax_id                text CHECK (length(tax_id) <= 50),
    logo_file_id          uuid,
    currency              char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    number_prefix         text NOT NULL DEFAULT 'INV-' CHECK (length(number_prefix) <= 20),
    template              text NOT NULL DEFAULT 'classic' CHECK (length(template) BETWEEN 1 AND 50),
    terms                 text CHECK (length(terms) <= 5000),
    notes                 text CHECK (length(notes) <= 5000),
    default_payment_terms integer NOT NULL DEFAULT 30 CHECK (default_payment_terms BETWEEN 0 AND 3650),
    notifications         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(notifications) = 'object'),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER org_settings_updated_at BEFORE UPDATE ON org_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Tax rates (§6). At most one default per org, and a default is active.
CREATE TABLE tax_rates (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    rate_units bigint NOT NULL CHECK (rate_units BETWEEN 0 AND 1000000),
    is_default boolean NOT NULL DEFAULT false,
    is_active  boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tax_rates_default_is_active CHECK (NOT is_default OR is_active)
);
CREATE UNIQUE INDEX tax_rates_one_default_per_org ON tax_rates (org_id) WHERE is_default;
CREATE INDEX tax_rates_org_created ON tax_rates (org_id, created_at DESC, id);
CREATE TRIGGER tax_rates_updated_at BEFORE UPDATE ON tax_rates FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Clients (§3).
CREATE TABLE clients (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text CHECK (length(email) <= 254),
    phone           text CHECK (length(phone) <= 50),
    company_name    text CHECK (length(company_name) <= 200),
    billing_address jsonb CHECK (jsonb_typeof(billing_address) = 'object'),
    payment_terms   integer NOT NULL CHECK (payment_terms BETWEEN 0 AND 3650),
    tax_exempt      boolean NOT NULL DEFAULT false,
    notes           text CHECK (length(notes) <= 5000),
    currency        char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    archived        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clients_org_id_id_key UNIQUE (org_id, id)
);
CREATE INDEX clients_org_created ON clients (org_id, created_at DESC, id);
CREATE TRIGGER clients_updated_at BEFORE UPDATE ON clients FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Gap-free invoice numbers per org and calendar year of the issue date (§4): the row is locked
-- by the issuing transaction, so concurrent issues queue and each takes the next number.
CREATE TABLE invoice_counters (
    org_id   uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    year     integer NOT NULL CHECK (year BETWEEN 1 AND 9999),
    last_seq integer NOT NULL CHECK (last_seq >= 0),
    PRIMARY KEY (org_id, year)
);

-- Invoices (§4). `overdue` is not stored: it is derived at read time from due_date, the balance
-- and the org's time zone. Amounts are those the totals engine computed.
CREATE TABLE invoices (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    client_id             uuid NOT NULL,
    invoice_number        text,
    status                text NOT NULL DEFAULT 'draft'
                          CHECK (status IN ('draft', 'sent', 'viewed', 'partial', 'paid', 'cancelled')),
    currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    issue_date            date NOT NULL,
    due_date              date NOT NULL,
    subtotal              bigint NOT NULL CHECK (subtotal >= 0),
    tax_amount            bigint NOT NULL CHECK (tax_amount >= 0),
    discount_amount       bigint NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    total_amount          bigint NOT NULL CHECK (total_amount >= 0),
    amount_paid           bigint NOT NULL DEFAULT 0,
    notes                 text CHECK (length(notes) <= 5000),
    terms                 text CHECK (length(terms) <= 5000),
    tax_label             text,
    allow_partial_payment boolean NOT NULL DEFAULT true,
    min_payment_amount    bigint CHECK (min_payment_amount > 0),
    partial_payment_count integer NOT NULL DEFAULT 0 CHECK (partial_payment_count >= 0),
    public_token          text NOT NULL UNIQUE CHECK (length(public_token) >= 22),
    -- The client as billed: name, email, phone and address copied when the invoice is issued, so
    -- an issued invoice never changes when the client record does. Drafts show the live client.
    client_snapshot       jsonb CHECK (jsonb_typeof(client_snapshot) = 'object'),
    sent_at               timestamptz,
    viewed_at             timestamptz,
    paid_at               timestamptz,
    cancelled_at          timestamptz,
    cancel_reason         text CHECK (length(cancel_reason) <= 1000),
    reminder_sent_count   integer NOT NULL DEFAULT 0 CHECK (reminder_sent_count >= 0),
    last_reminder_sent    timestamptz,
    last_reminder_tier    text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT invoices_number_per_org UNIQUE (org_id, invoice_number),
    CONSTRAINT invoices_client FOREIGN KEY (org_id, client_id) REFERENCES clients (org_id, id) ON DELETE RESTRICT,
    CONSTRAINT invoices_due_after_issue CHECK (due_date >= issue_date),
    CONSTRAINT invoices_total_is_sum CHECK (total_amount = subtotal + tax_amount - discount_amount),
    CONSTRAINT invoices_paid_within_total CHECK (amount_paid BETWEEN 0 AND total_amount),
    -- Drafts have no number; issued invoices always have one (a cancelled draft has none).
    CONSTRAINT invoices_number_iff_issued CHECK (
        (status = 'draft' AND invoice_number IS NULL)
        OR (status IN ('sent', 'viewed', 'partial', 'paid') AND invoice_number IS NOT NULL)
        OR status = 'cancelled'),
    CONSTRAINT invoices_paid_status CHECK (status <> 'paid' OR (amount_paid = total_amount AND paid_at IS NOT NULL))
);
CREATE INDEX invoices_org_created ON invoices (org_id, created_at DESC, id);
CREATE INDEX invoices_org_client ON invoices (org_id, client_id, created_at DESC);
CREATE INDEX invoices_org_status ON invoices (org_id, status, due_date);
CREATE INDEX invoices_org_issue_date ON invoices (org_id, issue_date);
CREATE TRIGGER invoices_updated_at BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE invoice_items (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                 uuid NOT NULL,
    invoice_id             uuid NOT NULL,
    position               integer NOT NULL CHECK (position >= 0),
    description            text NOT NULL CHECK (length(description) BETWEEN 1 AND 1000),
    quantity_units         bigint NOT NULL CHECK (quantity_units > 0),
    unit_price             bigint NOT NULL CHECK (unit_price >= 0),
    tax_rate_units         bigint NOT NULL CHECK (tax_rate_units BETWEEN 0 AND 1000000),
    discount_percent_units bigint CHECK (discount_percent_units BETWEEN 0 AND 1000000),
    amount                 bigint NOT NULL CHECK (amount >= 0),
    tax_amount             bigint NOT NULL CHECK (tax_amount >= 0),
    used_default_tax       boolean NOT NULL DEFAULT false,
    CONSTRAINT invoice_items_invoice FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id) ON DELETE CASCADE,
    CONSTRAINT invoice_items_position UNIQUE (invoice_id, position)
);

-- The discussion on an invoice (§4): the seller's messages from the API, the buyer's from the
-- public page.
CREATE TABLE invoice_messages (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL,
    invoice_id  uuid NOT NULL,
    sender_type text NOT NULL CHECK (sender_type IN ('seller', 'buyer')),
    message     text NOT NULL CHECK (length(message) BETWEEN 1 AND 5000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoice_messages_invoice FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id)
        ON DELETE CASCADE
);
CREATE INDEX invoice_messages_invoice ON invoice_messages (org_id, invoice_id, created_at, id);

-- Payments and refunds (§5).
CREATE TABLE payments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL,
    invoice_id         uuid NOT NULL,
    amount             bigint NOT NULL CHECK (amount > 0),
    currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    payment_method     text NOT NULL
                       CHECK (payment_method IN ('cash', 'check', 'bank_transfer', 'ach_debit', 'paypal', 'stripe', 'other')),
    status             text NOT NULL
                       CHECK (status IN ('pending', 'completed', 'failed', 'refunded', 'partially_refunded')),
    refunded_amount    bigint NOT NULL DEFAULT 0,
    gateway            text,
    gateway_payment_id text,
    paid_by            text CHECK (length(paid_by) <= 200),
    notes              text CHECK (length(notes) <= 5000),
    paid_at            timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_org_id_id_key UNIQUE (org_id, id),
    CONSTRAINT payments_invoice FOREIGN KEY (org_id, invoice_id) REFERENCES invoices (org_id, id) ON DELETE RESTRICT,
    CONSTRAINT payments_refund_within_amount CHECK (refunded_amount BETWEEN 0 AND amount),
    CONSTRAINT payments_refund_status CHECK (
        (status = 'refunded') = (refunded_amount = amount)
        AND (status = 'partially_refunded') = (refunded_amount > 0 AND refunded_amount < amount))
);
CREATE INDEX payments_org_created ON payments (org_id, created_at DESC, id);
CREATE INDEX payments_org_invoice ON payments (org_id, invoice_id);
CREATE INDEX payments_org_paid_at ON payments (org_id, paid_at);
CREATE TRIGGER payments_updated_at BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE refunds (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL,
    payment_id uuid NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    reason     text CHECK (length(reason) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_payment FOREIGN KEY (org_id, payment_id) REFERENCES payments (org_id, id) ON DELETE RESTRICT
);
CREATE INDEX refunds_org_payment ON refunds (org_id, payment_id, created_at);
CREATE INDEX refunds_org_created ON refunds (org_id, created_at);

-- Uploaded files (§7): metadata here, bytes under UPLOAD_DIR/<org_id>/<id>, never by client name.
CREATE TABLE files (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    file_name    text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    size         bigint NOT NULL CHECK (size >= 0),
    content_type text NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT files_org_id_id_key UNIQUE (org_id, id)
);
CREATE INDEX files_org_created ON files (org_id, created_at DESC, id);

-- Expenses (§7).
CREATE TABLE expenses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id          uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    category        text NOT NULL CHECK (category IN ('supplies', 'office_supplies', 'travel', 'equipment', 'software',
                                                      'marketing', 'utilities', 'other')),
    vendor          text CHECK (length(vendor) <= 200),
    description     text CHECK (length(description) <= 1000),
    date_incurred   date NOT NULL,
    tax_deductible  boolean NOT NULL DEFAULT true,
    notes           text CHECK (length(notes) <= 5000),
    receipt_file_id uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT expenses_receipt FOREIGN KEY (org_id, receipt_file_id) REFERENCES files (org_id, id)
        ON DELETE SET NULL (receipt_file_id)
);
CREATE INDEX expenses_org_created ON expenses (org_id, created_at DESC, id);
CREATE INDEX expenses_org_date ON expenses (org_id, date_incurred);
CREATE TRIGGER expenses_updated_at BEFORE UPDATE ON expenses FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Idempotency-Key (§1): per org (per IP for public routes) — `scope` — and key. A row with a null
-- status is a request still running; a replay within 24 h returns the stored status and body.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  text NOT NULL,
    status        integer,
    response_body text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
