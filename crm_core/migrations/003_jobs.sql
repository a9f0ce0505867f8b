-- Follow-up reminders, their daily digests, scheduled (upcoming) opportunities, job heartbeats.
CREATE SEQUENCE seq_reminders START 1;
CREATE TABLE reminders (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_reminders'),
    contact_id  BIGINT NOT NULL,
    lead_id     BIGINT,
    due_date    DATE NOT NULL,
    note        VARCHAR NOT NULL DEFAULT '',
    assignee_id BIGINT NOT NULL,
    done_at     TIMESTAMP,
    done_by     BIGINT,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by  BIGINT,
    version     INTEGER NOT NULL DEFAULT 1
);

-- One digest per assignee and day: the row is the promise, ``sent_at`` the proof.
CREATE TABLE digest_deliveries (
    assignee_id     BIGINT NOT NULL,
    day             DATE NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'pending',   -- pending | sent
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      VARCHAR,
    next_attempt_at TIMESTAMP,
    reminders       INTEGER,
    sent_at         TIMESTAMP,
    PRIMARY KEY (assignee_id, day)
);

CREATE SEQUENCE seq_scheduled_leads START 1;
CREATE TABLE scheduled_leads (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_scheduled_leads'),
    contact_id  BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    phase_id    BIGINT NOT NULL,
    title       VARCHAR NOT NULL,
    value       DECIMAL(14, 2) NOT NULL DEFAULT 0,
    currency    VARCHAR NOT NULL DEFAULT 'EUR',
    owner_id    BIGINT,
    fire_on     DATE NOT NULL,
    status      VARCHAR NOT NULL DEFAULT 'scheduled',     -- scheduled | fired | cancelled | failed
    error       VARCHAR,                                  -- why it could not fire
    lead_id     BIGINT,
    fired_at    TIMESTAMP,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by  BIGINT,
    version     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE job_runs (
    name       VARCHAR PRIMARY KEY,
    last_start TIMESTAMP,
    last_end   TIMESTAMP,
    outcome    VARCHAR,                                   -- ok | error
    summary    VARCHAR,
    error      VARCHAR,
    next_run   TIMESTAMP,
    pid        INTEGER
);

CREATE TABLE jobs_process (
    id         INTEGER PRIMARY KEY,                       -- always 1: the one jobs process
    pid        INTEGER,
    host       VARCHAR,
    started_at TIMESTAMP,
    beat_at    TIMESTAMP
);
