-- Personal API tokens (the mail add-ins) and calendar feeds (issue 16).  As with sign-in sessions,
-- only a SHA-256 of each secret is stored: a copy of the database opens nothing.
CREATE SEQUENCE seq_api_tokens START 1;
CREATE TABLE api_tokens (
    id             BIGINT PRIMARY KEY DEFAULT nextval('seq_api_tokens'),
    user_id        BIGINT NOT NULL,
    name           VARCHAR NOT NULL,          -- what the user called it ("Thunderbird laptop")
    scope          VARCHAR NOT NULL,          -- read | write (read and write)
    public_id      VARCHAR NOT NULL,          -- the token's middle part, "lr_<public_id>_<secret>"
    token_hash     VARCHAR NOT NULL,          -- SHA-256 of the whole token
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP,
    last_used_from VARCHAR
);

-- One secret calendar URL per user at most; revoking it deletes the row (the URL then gets 404).
CREATE TABLE calendar_feeds (
    user_id      BIGINT PRIMARY KEY,
    token_hash   VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
