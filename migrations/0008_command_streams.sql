CREATE TABLE "command_stream_chunks" (
	"command_id" text NOT NULL,
	"seq" integer NOT NULL,
	"data" text NOT NULL,
	"bytes" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "command_stream_chunks_command_id_seq_pk" PRIMARY KEY("command_id","seq")
);
--> statement-breakpoint
ALTER TABLE "commands" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "command_stream_chunks" ADD CONSTRAINT "command_stream_chunks_command_id_commands_id_fk" FOREIGN KEY ("command_id") REFERENCES "public"."commands"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "command_stream_chunks_created_at_index" ON "command_stream_chunks" USING btree ("created_at");