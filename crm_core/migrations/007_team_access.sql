-- Team access: passwords, sign-in sessions, failed-login throttling, versions on the settings
-- records (so that two admins editing the same one are told), and the audit log.
ALTER TABLE users ADD COLUMN password_hash VARCHAR;          -- argon2id; NULL: cannot sign in
ALTER TABLE users ADD COLUMN password_set_at TIMESTAMP;
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

ALTER TABLE pipelines ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE phases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE lost_reasons ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tags ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE custom_fields ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sources ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- A signed-in browser holds a random token in a cookie; only its SHA-256 is stored here, so a
-- copy of the database cannot be used to sign in.  Signing out deletes the row.
CREATE TABLE auth_sessions (
    token_hash VARCHAR PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    client     VARCHAR
);

-- Failed sign-ins of the last minutes, per account and per client, for throttling.
CREATE TABLE login_failures (
    username VARCHAR NOT NULL,
    client   VARCHAR NOT NULL,
    failed_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE seq_audit START 1;
CREATE TABLE audit_log (
    id        BIGINT PRIMARY KEY DEFAULT nextval('seq_audit'),
    logged_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor     VARCHAR NOT NULL,          -- a username, or a system actor: 'jobs', 'cli:<os user>'
    actor_id  BIGINT,                    -- users.id when a person acted
    action    VARCHAR NOT NULL,          -- create | update | delete | restore | move | import ...
    entity    VARCHAR NOT NULL,          -- contact | lead | reminder | pipeline | user | session ...
    entity_id BIGINT,
    label     VARCHAR,                   -- what it was called then (readable after a delete)
    changes   VARCHAR                    -- JSON {"field": [old, new]} or details
);
