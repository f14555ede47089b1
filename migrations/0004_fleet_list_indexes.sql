-- Fleet list indexes on appliances (owned by the fleet API, cloud/src/services/fleet): keyset pages sorted by
-- last seen or name within an organisation, filters by customer and Kubernetes version, at 100,000 appliances.
CREATE INDEX IF NOT EXISTS "appliances_fleet_last_seen_idx" ON "appliances" USING btree ("org_id", (coalesce("last_seen_at", 'epoch'::timestamptz)), "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "appliances_fleet_name_idx" ON "appliances" USING btree ("org_id", "name", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "appliances_fleet_customer_idx" ON "appliances" USING btree ("org_id", "customer_id", "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "appliances_fleet_k8s_idx" ON "appliances" USING btree ("org_id", (("facts"->>'kubernetesVersion')), "id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "appliances_fleet_offline_idx" ON "appliances" USING btree ("org_id", "last_seen_at") WHERE NOT "online";
