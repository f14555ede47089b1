-- Fleet search (q) matches inside appliance names: a trigram index makes that an index scan on Postgres.
-- pg_trgm is a trusted contrib extension; where it cannot be created (embedded PGlite without the extension
-- loaded, a restricted role), the search still works, scanning instead.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS "appliances_fleet_name_trgm_idx" ON "appliances" USING gin ("name" gin_trgm_ops);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'pg_trgm unavailable (%); fleet search scans names', SQLERRM;
END
$$;
