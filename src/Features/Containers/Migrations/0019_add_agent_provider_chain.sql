-- An agent's provider chain: the providers its turns may run on, in order (the first is its provider), and the model each
-- later one runs there. NULL: one provider.
ALTER TABLE agents ADD COLUMN providers TEXT;
ALTER TABLE agents ADD COLUMN models TEXT;
