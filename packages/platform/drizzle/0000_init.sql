CREATE TABLE `instances` (
	`handle` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`runtime` text NOT NULL,
	`engine_id` text,
	`image` text NOT NULL,
	`auth_token_sealed` text NOT NULL,
	`proxy_token_sealed` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_active_at` integer NOT NULL,
	`last_error` text
);
--> statement-breakpoint
CREATE INDEX `instances_state` ON `instances` (`state`);