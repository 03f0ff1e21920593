ALTER TABLE `instances` ADD `previous_image` text;--> statement-breakpoint
CREATE TABLE `rollouts` (
	`id` text PRIMARY KEY NOT NULL,
	`image` text NOT NULL,
	`state` text NOT NULL,
	`trigger` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `rollouts_started` ON `rollouts` (`started_at`);--> statement-breakpoint
CREATE TABLE `rollout_steps` (
	`rollout_id` text NOT NULL,
	`handle` text NOT NULL,
	`position` integer NOT NULL,
	`from_image` text NOT NULL,
	`outcome` text NOT NULL,
	`error` text,
	`started_at` integer,
	`finished_at` integer,
	PRIMARY KEY(`rollout_id`, `handle`),
	FOREIGN KEY (`rollout_id`) REFERENCES `rollouts`(`id`) ON UPDATE no action ON DELETE cascade
);
