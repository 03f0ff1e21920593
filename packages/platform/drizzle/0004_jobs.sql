CREATE TABLE `instance_jobs` (
	`handle` text PRIMARY KEY NOT NULL,
	`next_due_at` integer,
	`jobs_repo` text,
	`updated_at` integer NOT NULL
);
