CREATE TABLE `social_profiles` (
	`handle` text PRIMARY KEY NOT NULL,
	`display_name` text,
	`avatar` text,
	`profile_md` text,
	`ai_profile_md` text,
	`published_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `social_settings` (
	`handle` text PRIMARY KEY NOT NULL,
	`discoverable` integer NOT NULL,
	`share_apps` integer NOT NULL,
	`auto_reply` integer NOT NULL,
	`daily_auto_reply_cap` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `social_blocks` (
	`owner` text NOT NULL,
	`blocked` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`owner`, `blocked`)
);
--> statement-breakpoint
CREATE TABLE `social_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`handle` text NOT NULL,
	`with_handle` text,
	`app_name` text,
	`app_title` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `social_events_handle` ON `social_events` (`handle`);
--> statement-breakpoint
CREATE TABLE `social_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`from_handle` text NOT NULL,
	`to_handle` text NOT NULL,
	`in_reply_to` text,
	`sent_at` integer NOT NULL,
	`delivered` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `social_messages_from` ON `social_messages` (`from_handle`,`sent_at`);
--> statement-breakpoint
CREATE INDEX `social_messages_to` ON `social_messages` (`to_handle`,`sent_at`);
