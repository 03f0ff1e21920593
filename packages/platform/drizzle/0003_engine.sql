ALTER TABLE `instances` ADD `volume` text;
--> statement-breakpoint
CREATE TABLE `kept_volumes` (
	`handle` text PRIMARY KEY NOT NULL,
	`volume` text NOT NULL,
	`kept_at` integer NOT NULL
);
