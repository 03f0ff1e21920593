CREATE TABLE `instance_jobs` (
	`handle` text PRIMARY KEY NOT NULL,
	`next_due_at` integer,
	`updated_at` integer NOT NULL
);
