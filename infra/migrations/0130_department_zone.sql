-- The department report groups by zone and department (issue 13): each zone names its own
-- departments, so the ecology bureaus of two zones are two rows, not one. The projector fills
-- ``zone`` from the project's zone (rm_projects). Counts recorded before this migration have no
-- zone (''); `daiban projector rebuild` recomputes every row by zone from the events.
ALTER TABLE rm_department_performance ADD COLUMN zone text NOT NULL DEFAULT '';
ALTER TABLE rm_department_performance DROP CONSTRAINT rm_department_performance_pkey;
ALTER TABLE rm_department_performance ADD PRIMARY KEY (zone, department);
