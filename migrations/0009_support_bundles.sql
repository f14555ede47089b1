CREATE TABLE "support_bundles" (
	"command_id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"appliance_id" text NOT NULL,
	"sha256" text NOT NULL,
	"size" integer NOT NULL,
	"data" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "support_bundles" ADD CONSTRAINT "support_bundles_command_id_commands_id_fk" FOREIGN KEY ("command_id") REFERENCES "public"."commands"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "support_bundles_org_id_appliance_id_index" ON "support_bundles" USING btree ("org_id","appliance_id");