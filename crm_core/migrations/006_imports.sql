-- Imports, so that a whole import can be reported on and undone.
CREATE SEQUENCE seq_imports START 1;
CREATE TABLE imports (
    id           BIGINT PRIMARY KEY DEFAULT nextval('seq_imports'),
    file_name    VARCHAR,
    on_duplicate VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by   BIGINT,
    rows_read    INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL DEFAULT 0,
    merged       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    errors       INTEGER NOT NULL DEFAULT 0,
    undone_at    TIMESTAMP
);

CREATE TABLE import_items (
    import_id  BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    action     VARCHAR NOT NULL,        -- created | merged
    before     VARCHAR                  -- merged: the contact as it was (JSON), to undo the merge
);
