DROP INDEX "fleet_appliances_org_id_version_key_appliance_id_index";--> statement-breakpoint
DROP INDEX "fleet_appliances_org_id_channel_appliance_id_index";--> statement-breakpoint
CREATE INDEX "fleet_appliances_org_version_idx" ON "fleet_appliances" USING btree ("org_id",coalesce("version_key", ''),"appliance_id");--> statement-breakpoint
CREATE INDEX "fleet_appliances_org_channel_version_idx" ON "fleet_appliances" USING btree ("org_id","channel",coalesce("version_key", ''),"appliance_id");