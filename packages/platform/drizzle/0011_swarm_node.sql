ALTER TABLE `instances` ADD `node` text;
