CREATE TABLE `oidc_identities` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`issuer` text NOT NULL,
	`subject` text NOT NULL,
	`email` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oidc_identities_issuer_subject` ON `oidc_identities` (`issuer`,`subject`);--> statement-breakpoint
CREATE INDEX `oidc_identities_user` ON `oidc_identities` (`user_id`);--> statement-breakpoint
CREATE TABLE `oidc_flows` (
	`id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`intent` text NOT NULL,
	`user_id` text,
	`state` text NOT NULL,
	`nonce` text NOT NULL,
	`verifier_sealed` text NOT NULL,
	`issuer` text,
	`subject` text,
	`email` text,
	`next` text,
	`expires_at` integer NOT NULL
);
