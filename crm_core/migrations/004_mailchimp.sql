-- Pipelines linked to Mailchimp audiences, and what was last sent for each contact.
CREATE TABLE mailchimp_links (
    pipeline_id   BIGINT PRIMARY KEY,
    list_id       VARCHAR NOT NULL,
    tag_prefix    VARCHAR NOT NULL,
    status_if_new VARCHAR NOT NULL DEFAULT 'subscribed',
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    last_sync_at  TIMESTAMP,
    last_summary  VARCHAR
);

CREATE TABLE mailchimp_members (
    list_id        VARCHAR NOT NULL,
    contact_id     BIGINT NOT NULL,
    email_lower    VARCHAR NOT NULL,           -- the address Mailchimp has for this contact
    fields_hash    VARCHAR NOT NULL,           -- what the member was last upserted with
    tags           VARCHAR[] NOT NULL DEFAULT [],  -- the tags we last set active
    synced_at      TIMESTAMP,
    error          VARCHAR,                    -- a permanent error from Mailchimp, shown in the app
    error_state    VARCHAR,                    -- the desired state that failed: retried once it changes
    PRIMARY KEY (list_id, contact_id)
);
