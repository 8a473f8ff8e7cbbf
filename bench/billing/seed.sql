-- bench/billing/seed.sql — the issue-6 data set: 1,000 orgs (the bench org, registered through the
-- API, plus 999 more), 10 clients each (10,000), 1,000 invoices each (1,000,000) with one item,
-- payments for paid and partial invoices. Ids are derived from md5 so scripts can name rows
-- without reading them back. Variables: :bench_org (uuid of the API-registered org), :invoices.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
CREATE TEMP TABLE bench_orgs AS
SELECT 0 AS n, :'bench_org'::uuid AS id
UNION ALL
SELECT n, md5('org' || n)::uuid FROM generate_series(1, 999) n;
INSERT INTO organizations (id, name) SELECT id, 'Bench org ' || n FROM bench_orgs WHERE n > 0;
INSERT INTO clients (id, org_id, name, email, payment_terms, created_at)
SELECT md5('client' || o.n || '-' || c)::uuid, o.id, 'Client ' || c || ' of ' || o.n, 'c' || c || '@example.com', 30,
       now() - (c || ' days')::interval
FROM bench_orgs o, generate_series(0, 9) c;
-- Invoice i belongs to org (i % 1000) and client ((i / 1000) % 10). Statuses: 30 % draft, 40 % sent,
-- 20 % paid, 10 % partial. Amounts in cents; tax 10 %.
INSERT INTO invoices (id, org_id, client_id, invoice_number, status, currency, issue_date, due_date, subtotal,
                      tax_amount, discount_amount, total_amount, amount_paid, paid_at, public_token, sent_at,
                      created_at)
SELECT md5('inv' || i)::uuid, o.id, md5('client' || o.n || '-' || ((i / 1000) % 10))::uuid,
       CASE WHEN s.st = 'draft' THEN NULL ELSE 'INV-2026-' || lpad((i / 1000)::text, 4, '0') END,
       s.st, 'USD', d.issue, d.issue + 30, a.sub, a.sub / 10, 0, a.sub + a.sub / 10,
       CASE s.st WHEN 'paid' THEN a.sub + a.sub / 10 WHEN 'partial' THEN (a.sub + a.sub / 10) / 2 ELSE 0 END,
       CASE WHEN s.st = 'paid' THEN d.issue + 10 END,
       md5('tok' || i) || md5('tok2' || i),
       CASE WHEN s.st <> 'draft' THEN d.issue END,
       now() - (i || ' seconds')::interval
FROM generate_series(0, :invoices - 1) i
JOIN bench_orgs o ON o.n = i % 1000
CROSS JOIN LATERAL (SELECT CASE WHEN (i / 1000) % 10 < 3 THEN 'draft' WHEN (i / 1000) % 10 < 7 THEN 'sent'
                                WHEN (i / 1000) % 10 < 9 THEN 'paid' ELSE 'partial' END AS st) s
CROSS JOIN LATERAL (SELECT date '2025-01-01' + ((i / 1000) % 700) AS issue) d
CROSS JOIN LATERAL (SELECT 100000 + (i * 37) % 100000 AS sub) a;
INSERT INTO invoice_items (org_id, invoice_id, position, description, quantity_units, unit_price, tax_rate_units,
                           amount, tax_amount)
SELECT org_id, id, 0, 'Consulting', 10000, subtotal, 100000, subtotal, tax_amount FROM invoices
WHERE org_id IN (SELECT id FROM bench_orgs);
INSERT INTO payments (org_id, invoice_id, amount, currency, payment_method, status, paid_at)
SELECT org_id, id, amount_paid, 'USD', 'bank_transfer', 'completed', issue_date + 5 FROM invoices
WHERE amount_paid > 0;
INSERT INTO invoice_counters (org_id, year, last_seq) SELECT id, 2026, 1000 FROM bench_orgs;
VACUUM ANALYZE;
