ALTER TABLE `requests` ADD `server_tools` integer DEFAULT false NOT NULL;
