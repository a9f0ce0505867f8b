-- Pipelines with ordered phases, leads on them, their history, and lost reasons.
CREATE SEQUENCE seq_pipelines START 1;
CREATE TABLE pipelines (
    id         BIGINT PRIMARY KEY DEFAULT nextval('seq_pipelines'),
    name       VARCHAR NOT NULL UNIQUE,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE seq_phases START 1;
CREATE TABLE phases (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_phases'),
    pipeline_id BIGINT NOT NULL,
    name        VARCHAR NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    color       VARCHAR NOT NULL DEFAULT '#5b8def',
    probability INTEGER NOT NULL DEFAULT 10                -- % chance of winning, for weighting
);

CREATE SEQUENCE seq_lost_reasons START 1;
CREATE TABLE lost_reasons (
    id       BIGINT PRIMARY KEY DEFAULT nextval('seq_lost_reasons'),
    name     VARCHAR NOT NULL UNIQUE,
    position INTEGER NOT NULL DEFAULT 0
);
INSERT INTO lost_reasons (name, position) VALUES ('Price too high', 1), ('Chose a competitor', 2),
    ('No budget', 3), ('No need any more', 4), ('No response', 5), ('Timing', 6), ('Other', 7);

CREATE SEQUENCE seq_leads START 1;
CREATE TABLE leads (
    id             BIGINT PRIMARY KEY DEFAULT nextval('seq_leads'),
    contact_id     BIGINT NOT NULL,
    pipeline_id    BIGINT NOT NULL,
    phase_id       BIGINT NOT NULL,                        -- the last phase for won / lost leads
    title          VARCHAR NOT NULL,
    value          DECIMAL(14, 2) NOT NULL DEFAULT 0,
    currency       VARCHAR NOT NULL DEFAULT 'EUR',
    owner_id       BIGINT,
    expected_close DATE,
    status         VARCHAR NOT NULL DEFAULT 'open',        -- open | won | lost
    lost_reason    VARCHAR,
    board_position DOUBLE NOT NULL DEFAULT 0,              -- order inside the phase column
    phase_since    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    closed_at      TIMESTAMP,
    created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by     BIGINT,
    updated_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by     BIGINT,
    version        INTEGER NOT NULL DEFAULT 1
);

-- Every creation, move, win, loss and reopen, with time and user.
CREATE SEQUENCE seq_lead_events START 1;
CREATE TABLE lead_events (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_lead_events'),
    lead_id       BIGINT NOT NULL,
    happened_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    user_id       BIGINT,
    kind          VARCHAR NOT NULL,                        -- created | moved | won | lost | reopened | edited
    from_phase_id BIGINT,
    to_phase_id   BIGINT,
    detail        VARCHAR
);
