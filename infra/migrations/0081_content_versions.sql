-- Content versions (catalog, zone policies) that projects registered under. A project's workflow
-- names its content by version only; every worker loads every stored version at start, so a
-- project keeps its exact content even after a release changes the shipped files or their models.
-- Calendars an operator loads live in ``calendars``; a shipped calendar a project used is kept here.
CREATE TABLE content_versions (
    version    text        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('catalog', 'zone', 'calendar')),
    content    jsonb       NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
