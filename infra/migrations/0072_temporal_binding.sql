-- Which Temporal cluster and namespace this event store belongs to (eventstore.binding). One row,
-- written by the first worker that starts on this database; every worker checks it on start and
-- refuses to run against another cluster or namespace, whose projects' streams are not here.
CREATE TABLE temporal_binding (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    cluster_id  text        NOT NULL,
    namespace   text        NOT NULL,
    bound_at    timestamptz NOT NULL DEFAULT now()
);
