CREATE TABLE `matrix_accounts` (
	`handle` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`user_secret_sealed` text NOT NULL,
	`ai_user_id` text NOT NULL,
	`ai_secret_sealed` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `matrix_rooms` (
	`room_id` text NOT NULL,
	`handle` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `matrix_rooms_room_handle` ON `matrix_rooms` (`room_id`,`handle`);
