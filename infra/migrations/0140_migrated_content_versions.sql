-- A running project moved to other content versions (issue 13: ``migrate_content``, event
-- ``ContentMigrated``): ``project_content_versions`` then names the versions it runs under now.
-- ``event_version`` is the stream version of the ``ContentMigrated`` event that set them (0: set at
-- registration), so a batch applied again after a later one never turns them back.
ALTER TABLE project_content_versions ADD COLUMN event_version integer NOT NULL DEFAULT 0;
