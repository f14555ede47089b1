-- The fleet list's "degraded" filter (online, last apply failed or rolled back) is rare: a partial index finds
-- those few appliances directly instead of walking the whole organisation in sort order.
CREATE INDEX IF NOT EXISTS "appliances_fleet_degraded_idx" ON "appliances" USING btree ("org_id", "id") WHERE "online" AND (("last_apply"->>'outcome') IN ('failed', 'rolled-back'));
