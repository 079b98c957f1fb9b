-- A migration that adds to the read models (a table, a column, a fact the figures keep) leaves the
-- rows projected before it without what it adds: those must be projected again from the events.
-- Such a migration sets rebuild_reason; the projector that leads next rebuilds the read models
-- (eventstore.projector.Projector.rebuild, which clears it) before it projects anything else.
ALTER TABLE projection_checkpoints ADD COLUMN rebuild_reason text;

-- Migrations 0084, 0130, 0150 and 0210 extended the read models without asking for a rebuild:
-- a store projected before them is rebuilt once. A store with nothing projected yet needs none.
UPDATE projection_checkpoints
   SET rebuild_reason = 'migrations 0084, 0130, 0150 and 0210 extended the read models: rows projected before them lack what they added'
 WHERE projection = 'read_models' AND position > 0;
