CREATE TABLE "channels" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fleet_appliances" (
	"appliance_id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"channel" text NOT NULL,
	"release_id" text,
	"chart_version" text,
	"version_key" text,
	"release_seq" integer,
	"pinned_release_id" text,
	"pinned_at" timestamp with time zone,
	"pinned_by" text,
	"observed_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "release_charts" (
	"release_id" text PRIMARY KEY NOT NULL,
	"data" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "releases" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"channel" text NOT NULL,
	"version" text NOT NULL,
	"version_key" text NOT NULL,
	"seq" integer NOT NULL,
	"chart_digest" text NOT NULL,
	"chart_size" integer,
	"chart_url" text,
	"notes" text DEFAULT '' NOT NULL,
	"required" boolean DEFAULT false NOT NULL,
	"state" text DEFAULT 'published' NOT NULL,
	"yanked_at" timestamp with time zone,
	"yank_reason" text,
	"published_by" text NOT NULL,
	"published_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollout_targets" (
	"id" text PRIMARY KEY NOT NULL,
	"rollout_id" text NOT NULL,
	"org_id" text NOT NULL,
	"appliance_id" text NOT NULL,
	"wave_index" integer NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"evidence" jsonb,
	"attempt" integer DEFAULT 0 NOT NULL,
	"previous_release" jsonb,
	"generation" integer,
	"started_at" timestamp with time zone,
	"healthy_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollout_transitions" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"rollout_id" text NOT NULL,
	"subject" text NOT NULL,
	"wave_index" integer,
	"appliance_id" text,
	"from_state" text,
	"to_state" text NOT NULL,
	"reason" text NOT NULL,
	"evidence" jsonb,
	"actor" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollout_waves" (
	"rollout_id" text NOT NULL,
	"index" integer NOT NULL,
	"canary" integer DEFAULT 0 NOT NULL,
	"size" integer NOT NULL,
	"failure_budget" integer NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"opened_at" timestamp with time zone,
	"settled_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	CONSTRAINT "rollout_waves_rollout_id_index_pk" PRIMARY KEY("rollout_id","index")
);
--> statement-breakpoint
CREATE TABLE "rollouts" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"release_id" text NOT NULL,
	"state" text NOT NULL,
	"halt_reason" text,
	"target" jsonb NOT NULL,
	"strategy" jsonb NOT NULL,
	"superseded_by" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "alert_marks" (
	"org_id" text NOT NULL,
	"key" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"webhook_id" text NOT NULL,
	"event" text NOT NULL,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"log" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"url" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"events" jsonb NOT NULL,
	"sealed_secret" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "channels" ADD CONSTRAINT "channels_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_appliances" ADD CONSTRAINT "fleet_appliances_appliance_id_appliances_id_fk" FOREIGN KEY ("appliance_id") REFERENCES "public"."appliances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_appliances" ADD CONSTRAINT "fleet_appliances_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_appliances" ADD CONSTRAINT "fleet_appliances_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_charts" ADD CONSTRAINT "release_charts_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "releases" ADD CONSTRAINT "releases_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_targets" ADD CONSTRAINT "rollout_targets_rollout_id_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."rollouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_targets" ADD CONSTRAINT "rollout_targets_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_targets" ADD CONSTRAINT "rollout_targets_appliance_id_appliances_id_fk" FOREIGN KEY ("appliance_id") REFERENCES "public"."appliances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_transitions" ADD CONSTRAINT "rollout_transitions_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_transitions" ADD CONSTRAINT "rollout_transitions_rollout_id_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."rollouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_waves" ADD CONSTRAINT "rollout_waves_rollout_id_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."rollouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_marks" ADD CONSTRAINT "alert_marks_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channels_org_id_name_index" ON "channels" USING btree ("org_id","name");--> statement-breakpoint
CREATE INDEX "fleet_appliances_org_id_version_key_appliance_id_index" ON "fleet_appliances" USING btree ("org_id","version_key","appliance_id");--> statement-breakpoint
CREATE INDEX "fleet_appliances_org_id_channel_appliance_id_index" ON "fleet_appliances" USING btree ("org_id","channel","appliance_id");--> statement-breakpoint
CREATE INDEX "fleet_appliances_org_id_customer_id_index" ON "fleet_appliances" USING btree ("org_id","customer_id");--> statement-breakpoint
CREATE INDEX "fleet_appliances_org_id_pinned_release_id_index" ON "fleet_appliances" USING btree ("org_id","pinned_release_id") WHERE "fleet_appliances"."pinned_release_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "releases_org_id_channel_version_index" ON "releases" USING btree ("org_id","channel","version");--> statement-breakpoint
CREATE UNIQUE INDEX "releases_org_id_channel_seq_index" ON "releases" USING btree ("org_id","channel","seq");--> statement-breakpoint
CREATE INDEX "releases_org_id_id_index" ON "releases" USING btree ("org_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "rollout_targets_rollout_id_appliance_id_index" ON "rollout_targets" USING btree ("rollout_id","appliance_id");--> statement-breakpoint
CREATE INDEX "rollout_targets_rollout_id_wave_index_state_index" ON "rollout_targets" USING btree ("rollout_id","wave_index","state");--> statement-breakpoint
CREATE INDEX "rollout_targets_appliance_id_state_index" ON "rollout_targets" USING btree ("appliance_id","state");--> statement-breakpoint
CREATE INDEX "rollout_targets_org_id_started_at_index" ON "rollout_targets" USING btree ("org_id","started_at");--> statement-breakpoint
CREATE INDEX "rollout_transitions_rollout_id_id_index" ON "rollout_transitions" USING btree ("rollout_id","id");--> statement-breakpoint
CREATE INDEX "rollout_transitions_appliance_id_at_index" ON "rollout_transitions" USING btree ("appliance_id","at");--> statement-breakpoint
CREATE INDEX "rollouts_org_id_id_index" ON "rollouts" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "rollouts_state_index" ON "rollouts" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_marks_org_id_key_index" ON "alert_marks" USING btree ("org_id","key");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook_id_id_index" ON "webhook_deliveries" USING btree ("webhook_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_state_next_attempt_at_index" ON "webhook_deliveries" USING btree ("state","next_attempt_at");--> statement-breakpoint
CREATE INDEX "webhooks_org_id_id_index" ON "webhooks" USING btree ("org_id","id");