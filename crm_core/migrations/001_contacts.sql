-- Foundation: users, contacts with their multi-value parts, tags, custom fields, sources, notes.
-- No foreign keys: DuckDB checks them eagerly on UPDATE; crm_core keeps references consistent.
CREATE SEQUENCE seq_users START 1;
CREATE TABLE users (
    id           BIGINT PRIMARY KEY DEFAULT nextval('seq_users'),
    username     VARCHAR NOT NULL UNIQUE,
    display_name VARCHAR NOT NULL,
    email        VARCHAR,
    role         VARCHAR NOT NULL DEFAULT 'member',
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE seq_contacts START 1;
CREATE TABLE contacts (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_contacts'),
    kind          VARCHAR NOT NULL DEFAULT 'person',   -- person | company
    salutation    VARCHAR,
    title         VARCHAR,                             -- academic title, e.g. Dr.
    first_name    VARCHAR,
    last_name     VARCHAR,
    company       VARCHAR,
    job_title     VARCHAR,
    street        VARCHAR,
    postal_code   VARCHAR,
    city          VARCHAR,
    country       VARCHAR,                             -- ISO 3166 alpha-2
    latitude      DOUBLE,
    longitude     DOUBLE,
    first_contact DATE,
    source        VARCHAR,
    owner_id      BIGINT,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by    BIGINT,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by    BIGINT,
    deleted_at    TIMESTAMP,
    deleted_by    BIGINT,
    version       INTEGER NOT NULL DEFAULT 1,
    search_text   VARCHAR NOT NULL DEFAULT ''          -- lower-case, kept in step by crm_core.search
);

CREATE SEQUENCE seq_contact_emails START 1;
CREATE TABLE contact_emails (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_contact_emails'),
    contact_id  BIGINT NOT NULL,
    label       VARCHAR NOT NULL DEFAULT 'work',
    email       VARCHAR NOT NULL,
    email_lower VARCHAR NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_contact_emails_lower ON contact_emails (email_lower);

CREATE SEQUENCE seq_contact_phones START 1;
CREATE TABLE contact_phones (
    id              BIGINT PRIMARY KEY DEFAULT nextval('seq_contact_phones'),
    contact_id      BIGINT NOT NULL,
    label           VARCHAR NOT NULL DEFAULT 'work',
    e164            VARCHAR NOT NULL,
    national_digits VARCHAR NOT NULL,                 -- e.g. 0301234567, for search as typed
    position        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_contact_phones_e164 ON contact_phones (e164);

CREATE SEQUENCE seq_contact_websites START 1;
CREATE TABLE contact_websites (
    id         BIGINT PRIMARY KEY DEFAULT nextval('seq_contact_websites'),
    contact_id BIGINT NOT NULL,
    label      VARCHAR NOT NULL DEFAULT 'web',
    url        VARCHAR NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0
);

CREATE SEQUENCE seq_tags START 1;
CREATE TABLE tags (
    id    BIGINT PRIMARY KEY DEFAULT nextval('seq_tags'),
    name  VARCHAR NOT NULL UNIQUE,
    color VARCHAR NOT NULL DEFAULT '#5b8def'
);

CREATE TABLE contact_tags (
    contact_id BIGINT NOT NULL,
    tag_id     BIGINT NOT NULL,
    PRIMARY KEY (contact_id, tag_id)
);

CREATE SEQUENCE seq_custom_fields START 1;
CREATE TABLE custom_fields (
    id       BIGINT PRIMARY KEY DEFAULT nextval('seq_custom_fields'),
    name     VARCHAR NOT NULL UNIQUE,
    kind     VARCHAR NOT NULL,                        -- text | number | date | bool | choice
    choices  VARCHAR[] NOT NULL DEFAULT [],
    position INTEGER NOT NULL DEFAULT 0,
    active   BOOLEAN NOT NULL DEFAULT TRUE
);

-- Values are stored in a canonical text form (ISO dates, plain numbers, true/false).
CREATE TABLE contact_field_values (
    contact_id BIGINT NOT NULL,
    field_id   BIGINT NOT NULL,
    value      VARCHAR NOT NULL,
    PRIMARY KEY (contact_id, field_id)
);

CREATE TABLE sources (
    name     VARCHAR PRIMARY KEY,
    position INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sources VALUES ('Trade fair', 1), ('Competition', 2), ('Website', 3),
    ('Referral', 4), ('Cold call', 5), ('Mailing', 6), ('Other', 7);

CREATE SEQUENCE seq_notes START 1;
CREATE TABLE notes (
    id         BIGINT PRIMARY KEY DEFAULT nextval('seq_notes'),
    contact_id BIGINT NOT NULL,
    lead_id    BIGINT,                                -- set once leads exist (board issue)
    author_id  BIGINT,
    channel    VARCHAR NOT NULL,                      -- call | email | visit | meeting | catalog | offer | other
    body       VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
