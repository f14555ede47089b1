CREATE TABLE "agent_token_jtis" (
	"appliance_id" text NOT NULL,
	"jti" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "agent_token_jtis_appliance_id_jti_pk" PRIMARY KEY("appliance_id","jti")
);
--> statement-breakpoint
CREATE TABLE "appliances" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"license_id" text NOT NULL,
	"name" text NOT NULL,
	"role" text DEFAULT 'hub' NOT NULL,
	"state" text DEFAULT 'active' NOT NULL,
	"public_key" jsonb NOT NULL,
	"key_thumbprint" text NOT NULL,
	"facts" jsonb,
	"agent_version" text,
	"epoch" integer DEFAULT 0 NOT NULL,
	"session_id" text,
	"replica_id" text,
	"online" boolean DEFAULT false NOT NULL,
	"connected_at" timestamp with time zone,
	"disconnected_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"command_seq" integer DEFAULT 0 NOT NULL,
	"acked_command_seq" integer DEFAULT 0 NOT NULL,
	"event_seq" bigint DEFAULT 0 NOT NULL,
	"observed_generation" integer DEFAULT 0 NOT NULL,
	"state_digest" text DEFAULT '' NOT NULL,
	"last_apply" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "desired_states" (
	"appliance_id" text PRIMARY KEY NOT NULL,
	"generation" integer NOT NULL,
	"release" jsonb,
	"values" jsonb NOT NULL,
	"values_digest" text NOT NULL,
	"digest" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "commands" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"appliance_id" text NOT NULL,
	"seq" integer NOT NULL,
	"type" text NOT NULL,
	"args" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"idempotency_key" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"result" jsonb,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "metric_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"appliance_id" text NOT NULL,
	"name" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL,
	"labels" jsonb
);
--> statement-breakpoint
CREATE TABLE "telemetry_events" (
	"appliance_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"kind" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"data" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "telemetry_events_appliance_id_seq_pk" PRIMARY KEY("appliance_id","seq")
);
--> statement-breakpoint
ALTER TABLE "appliances" ADD CONSTRAINT "appliances_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "appliances" ADD CONSTRAINT "appliances_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "appliances" ADD CONSTRAINT "appliances_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "desired_states" ADD CONSTRAINT "desired_states_appliance_id_appliances_id_fk" FOREIGN KEY ("appliance_id") REFERENCES "public"."appliances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "commands" ADD CONSTRAINT "commands_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "commands" ADD CONSTRAINT "commands_appliance_id_appliances_id_fk" FOREIGN KEY ("appliance_id") REFERENCES "public"."appliances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_samples" ADD CONSTRAINT "metric_samples_appliance_id_appliances_id_fk" FOREIGN KEY ("appliance_id") REFERENCES "public"."appliances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "telemetry_events" ADD CONSTRAINT "telemetry_events_appliance_id_appliances_id_fk" FOREIGN KEY ("appliance_id") REFERENCES "public"."appliances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_token_jtis_expires_at_index" ON "agent_token_jtis" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "appliances_org_id_id_index" ON "appliances" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "appliances_license_id_index" ON "appliances" USING btree ("license_id");--> statement-breakpoint
CREATE UNIQUE INDEX "appliances_key_thumbprint_index" ON "appliances" USING btree ("key_thumbprint");--> statement-breakpoint
CREATE INDEX "appliances_org_id_online_index" ON "appliances" USING btree ("org_id","online") WHERE "appliances"."online";--> statement-breakpoint
CREATE UNIQUE INDEX "commands_appliance_id_seq_index" ON "commands" USING btree ("appliance_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "commands_appliance_id_idempotency_key_index" ON "commands" USING btree ("appliance_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "commands_org_id_appliance_id_id_index" ON "commands" USING btree ("org_id","appliance_id","id");--> statement-breakpoint
CREATE INDEX "commands_status_expires_at_index" ON "commands" USING btree ("status","expires_at");--> statement-breakpoint
CREATE INDEX "metric_samples_appliance_id_name_at_index" ON "metric_samples" USING btree ("appliance_id","name","at");--> statement-breakpoint
CREATE INDEX "telemetry_events_appliance_id_kind_at_index" ON "telemetry_events" USING btree ("appliance_id","kind","at");