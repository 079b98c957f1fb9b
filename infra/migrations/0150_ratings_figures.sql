-- Ratings (好差评, 国办发〔2019〕51号) and the facts the zone's honest figures are computed from
-- (eventstore.figures). Every table is a read model: emptied by rebuild() and refilled from events.

-- One rating per service: a matter's handling (matter:<code>) or an agent's service (agent:<agent>).
CREATE TABLE rm_ratings (
    project_id         text        NOT NULL,
    rating_id          text        NOT NULL,
    zone               text        NOT NULL,
    target             text        NOT NULL CHECK (target IN ('matter', 'agent')),
    matter_code        text,
    department         text,
    agent              text        NOT NULL,
    grade              text        NOT NULL
                       CHECK (grade IN ('very_good', 'good', 'average', 'bad', 'very_bad')),
    satisfied          boolean     NOT NULL,
    text               text        NOT NULL,
    rated_by           text        NOT NULL,
    rated_at           timestamptz NOT NULL,
    callback_deadline  timestamptz,
    fix_deadline       timestamptz,
    called_back_at     timestamptz,
    callback_on_time   boolean,
    fixed_at           timestamptz,
    fix_on_time        boolean,
    PRIMARY KEY (project_id, rating_id)
);
CREATE INDEX rm_ratings_zone_idx ON rm_ratings (zone, rated_at);

-- Every decision on a matter (approved, filed, deemed, rejected), with both limits it ran against.
CREATE TABLE rm_decisions (
    event_id           text             PRIMARY KEY,
    project_id         text             NOT NULL,
    zone               text             NOT NULL,
    department         text             NOT NULL,
    matter_code        text             NOT NULL,
    stage              text             NOT NULL,
    outcome            text             NOT NULL CHECK (outcome IN ('approved', 'rejected')),
    mode               text,
    decided_at         timestamptz      NOT NULL,
    working_days_used  double precision NOT NULL,
    statutory_days     double precision,
    promised_days      double precision,
    on_time_statutory  boolean,
    on_time_promised   boolean
);
CREATE INDEX rm_decisions_zone_idx ON rm_decisions (zone, decided_at);

-- Every acceptance (受理): by the department within 5 working days, or deemed by its silence (§32).
CREATE TABLE rm_acceptances (
    event_id     text        PRIMARY KEY,
    project_id   text        NOT NULL,
    zone         text        NOT NULL,
    department   text        NOT NULL,
    matter_code  text        NOT NULL,
    accepted_at  timestamptz NOT NULL,
    deemed       boolean     NOT NULL
);
CREATE INDEX rm_acceptances_zone_idx ON rm_acceptances (zone, accepted_at);

-- Each stage of each project: its limit and the working days its clock used (the workflow's count).
CREATE TABLE rm_stage_spans (
    project_id         text             NOT NULL,
    stage              text             NOT NULL,
    zone               text             NOT NULL,
    project_type       text             NOT NULL,
    started_at         timestamptz      NOT NULL,
    limit_days         double precision,
    completed_at       timestamptz,
    working_days_used  double precision,
    PRIMARY KEY (project_id, stage)
);
CREATE INDEX rm_stage_spans_zone_idx ON rm_stage_spans (zone, completed_at);

-- A matter shortened by a reform: approved on a commitment or with tolerance, or exempted by the
-- regional assessment; revoked_at set when a failed verification revokes the approval.
CREATE TABLE rm_savings (
    project_id      text             NOT NULL,
    matter_code     text             NOT NULL,
    zone            text             NOT NULL,
    stage           text             NOT NULL,
    mode            text             NOT NULL
                    CHECK (mode IN ('commitment', 'tolerance', 'regional_assessment')),
    statutory_days  double precision NOT NULL,
    days_used       double precision NOT NULL,
    saved_at        timestamptz      NOT NULL,
    revoked_at      timestamptz,
    PRIMARY KEY (project_id, matter_code)
);
CREATE INDEX rm_savings_zone_idx ON rm_savings (zone, saved_at);
