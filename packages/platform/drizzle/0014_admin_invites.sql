-- One-time sign-up links that make their user an admin (`matrixos admin-invite`): only the
-- token's SHA-256 is kept; a used or expired one never works again.
CREATE TABLE `admin_invites` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`used_by` text
);
--> statement-breakpoint
ALTER TABLE `auth_flows` ADD `invite_hash` text;
