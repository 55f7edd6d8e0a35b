-- Where an agent came from: the preset it was made from (NULL: a command of its own), and the template it was imported
-- from with that template's content hash (NULL: not imported).
ALTER TABLE agents ADD COLUMN preset TEXT;
ALTER TABLE agents ADD COLUMN template TEXT;
ALTER TABLE agents ADD COLUMN template_hash TEXT;
