-- Settings an admin makes on the Settings page (issue 15), under the config file and the
-- environment, which still win (crm_core.config).  One row per form, that is per section of
-- config.toml the form edits (smtp, geo, jobs): ``data`` holds the keys set there as JSON.  Never
-- a secret: the SMTP password and the Mailchimp key set in the app are kept in a file of their
-- own next to the database (crm_core/app_settings.py), so that a copy of the database holds none.
CREATE TABLE app_settings (
    section    VARCHAR PRIMARY KEY,
    data       VARCHAR NOT NULL DEFAULT '{}',
    version    INTEGER NOT NULL DEFAULT 1,
    changed_at TIMESTAMP,
    changed_by BIGINT
);

-- The outbox: a digest that has not reached its recipient by e-mail keeps the text it has (or
-- would have had), for the recipient to read in the app (the Reminders page); ``kept_because``
-- says why it was kept rather than sent: no_mail_server | no_address.  A kept digest has the
-- status 'kept' (pending | kept | sent); one of today goes out once what kept it is resolved.
ALTER TABLE digest_deliveries ADD COLUMN subject VARCHAR;
ALTER TABLE digest_deliveries ADD COLUMN body VARCHAR;
ALTER TABLE digest_deliveries ADD COLUMN kept_because VARCHAR;
