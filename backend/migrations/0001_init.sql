-- 0001: foundation. Conventions for every later table (DESIGN.md, "Data rules"): ids are uuid
-- (gen_random_uuid, built into PostgreSQL 13+), timestamps timestamptz, calendar dates date,
-- money BIGINT minor units with a currency char(3); every business row carries org_id.

-- Keeps updated_at honest on every UPDATE, whichever code path writes the row.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
