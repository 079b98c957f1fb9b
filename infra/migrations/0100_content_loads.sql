-- The catalog and zone policy versions in force (issue 13): every load of a catalog or a zone
-- policy (``daiban catalog load``, ``daiban zone load``; the shipped files are the first version,
-- recorded by the setup step that applies the migrations) appends a row; the newest row of a key
-- is the version new projects register under. The content itself is in ``content_versions``,
-- kept for good, so every version stays loadable.
CREATE TABLE content_loads (
    id         bigserial   PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('catalog', 'zone')),
    -- The zone's code for a zone policy; 'catalog' for the catalog.
    key        text        NOT NULL,
    version    text        NOT NULL REFERENCES content_versions (version),
    loaded_by  text        NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX content_loads_key_idx ON content_loads (kind, key, id DESC);

-- The content versions each project registered under (written by ``resolve_versions``), so
-- ``--dry-run`` can say which running projects a new version leaves on an older one.
CREATE TABLE project_content_versions (
    project_id  text        PRIMARY KEY,
    catalog     text        NOT NULL,
    zone        text        NOT NULL,
    calendar    text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
