CREATE TABLE `budget_notices` (
	`handle` text NOT NULL,
	`period` text NOT NULL,
	`threshold` integer NOT NULL,
	`limit_micros` integer NOT NULL,
	`spent_micros` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`handle`, `period`, `threshold`, `limit_micros`)
);
--> statement-breakpoint
CREATE TABLE `instance_keys` (
	`handle` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `instance_keys_token_hash_unique` ON `instance_keys` (`token_hash`);--> statement-breakpoint
CREATE TABLE `own_keys` (
	`handle` text PRIMARY KEY NOT NULL,
	`sealed` text NOT NULL,
	`hint` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `quotas` (
	`handle` text PRIMARY KEY NOT NULL,
	`total_micros` integer,
	`daily_micros` integer,
	`monthly_micros` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `requests` (
	`id` integer PRIMARY KEY NOT NULL,
	`handle` text NOT NULL,
	`model` text NOT NULL,
	`key_source` text NOT NULL,
	`stream` integer NOT NULL,
	`state` text NOT NULL,
	`outcome` text,
	`usage_source` text,
	`reserved_micros` integer NOT NULL,
	`cost_micros` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_5m_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_1h_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`web_search_requests` integer DEFAULT 0 NOT NULL,
	`upstream_status` integer,
	`upstream_request_id` text,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`day` text NOT NULL,
	`month` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `requests_handle_started` ON `requests` (`handle`,`started_at`);--> statement-breakpoint
CREATE INDEX `requests_in_flight` ON `requests` (`handle`) WHERE "requests"."state" = 'in_flight';--> statement-breakpoint
CREATE TABLE `spend` (
	`handle` text NOT NULL,
	`period` text NOT NULL,
	`spent_micros` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`handle`, `period`)
);
