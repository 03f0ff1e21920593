ALTER TABLE `refresh_tokens` ADD `successor_sealed` text;--> statement-breakpoint
ALTER TABLE `session_families` ADD `verified_at` integer;
