-- Read models projected from the events by eventstore.projector. Disposable: Projector.rebuild()
-- replays them from position 0. Times are the events' occurred_at, never now(), so a rebuild
-- gives the same rows as the live projection.

-- How far each projection has applied the event log; written in the same transaction as the
-- read-model changes, and only moving forward.
CREATE TABLE projection_checkpoints (
    projection  text        PRIMARY KEY,
    position    bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO projection_checkpoints (projection) VALUES ('read_models');

CREATE TABLE rm_projects (
    project_id           text             PRIMARY KEY,
    name                 text             NOT NULL,
    enterprise           text             NOT NULL,
    zone                 text             NOT NULL,
    project_type         text             NOT NULL,
    investment_yuan      bigint           NOT NULL,
    stage                text             NOT NULL,
    status               text             NOT NULL
                         CHECK (status IN ('active', 'withdrawn', 'in_production')),
    agent                text             NOT NULL,
    backup_agent         text             NOT NULL,
    project_lead         text             NOT NULL,
    nearest_deadline     timestamptz,
    overdue              boolean          NOT NULL DEFAULT false,
    construction_percent integer,
    registered_at        timestamptz      NOT NULL,
    updated_at           timestamptz      NOT NULL,
    -- The last stream version applied and how many events were: a replayed or skipped event shows.
    last_version         integer          NOT NULL,
    events_applied       integer          NOT NULL
);

CREATE INDEX rm_projects_zone_idx ON rm_projects (zone, stage);

CREATE TABLE rm_matters (
    project_id        text             NOT NULL,
    matter_code       text             NOT NULL,
    matter_name       text,
    department        text             NOT NULL,
    stage             text             NOT NULL,
    mode              text             NOT NULL,
    approval_mode     text,
    state             text             NOT NULL CHECK (state IN (
                          'pending', 'submitted', 'correction', 'approved', 'rejected',
                          'suspended', 'revoked', 'exempted')),
    submissions       integer          NOT NULL DEFAULT 0,
    statutory_days    double precision,
    promised_days     double precision,
    deadline          timestamptz,
    working_days_used double precision,
    overdue           boolean          NOT NULL DEFAULT false,
    on_time           boolean,
    obligation        text,
    license_no        text,
    submitted_at      timestamptz,
    approved_at       timestamptz,
    decided_at        timestamptz,
    updated_at        timestamptz      NOT NULL,
    PRIMARY KEY (project_id, matter_code)
);

CREATE INDEX rm_matters_department_idx ON rm_matters (department, state);

-- Every deadline a project runs against: matter, stage, process and obligation clocks, keyed by
-- the clock ids of eventstore.codec. Projects' nearest deadline and overdue flag derive from it.
CREATE TABLE rm_clocks (
    project_id   text        NOT NULL,
    clock_id     text        NOT NULL,
    scope        text        NOT NULL,
    department   text,
    matter_code  text,
    stage        text,
    deadline     timestamptz,
    stopped      boolean     NOT NULL DEFAULT false,
    breached     boolean     NOT NULL DEFAULT false,
    escalation   text        CHECK (escalation IN ('lead', 'joint_meeting')),
    open         boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (project_id, clock_id)
);

CREATE INDEX rm_clocks_open_idx ON rm_clocks (deadline) WHERE open;

-- Cumulative decisions per department; open count, average and p90 come from rm_matters.
CREATE TABLE rm_department_performance (
    department      text    PRIMARY KEY,
    decided_count   integer NOT NULL DEFAULT 0,
    approved_count  integer NOT NULL DEFAULT 0,
    rejected_count  integer NOT NULL DEFAULT 0,
    on_time_count   integer NOT NULL DEFAULT 0,
    breaches_count  integer NOT NULL DEFAULT 0
);

-- Working days saved per zone against the statutory limits; projects per stage and investment
-- come from rm_projects.
CREATE TABLE rm_zone_totals (
    zone                           text             PRIMARY KEY,
    commitment_approvals           integer          NOT NULL DEFAULT 0,
    days_saved_commitment          double precision NOT NULL DEFAULT 0,
    tolerance_approvals            integer          NOT NULL DEFAULT 0,
    days_saved_tolerance           double precision NOT NULL DEFAULT 0,
    regional_exemptions            integer          NOT NULL DEFAULT 0,
    days_saved_regional_assessment double precision NOT NULL DEFAULT 0
);
