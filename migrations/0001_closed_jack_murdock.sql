ALTER TABLE "customers" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "org_id" text NOT NULL;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "rotated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "signing_keys" ADD CONSTRAINT "signing_keys_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "signing_keys_org_id_id_index" ON "signing_keys" USING btree ("org_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_one_active_per_org" ON "signing_keys" USING btree ("org_id") WHERE "signing_keys"."state" = 'active';