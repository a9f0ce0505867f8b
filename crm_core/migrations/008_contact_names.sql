-- A contact's shown name, stored: computed when the contact is written and read by every list,
-- export, e-mail and log entry, so that it reads the same everywhere.
--
-- The rule exists once, as this macro: a company, or a person without first and last name, shows
-- the company (else "(no name)"); any other person shows "title first last" ("Dr. Anna Schmidt").
-- crm_core.search.refresh_derived_columns applies it to every contact that is written; the UPDATE
-- below applies it to the contacts that exist.  Changing the rule takes a new migration:
-- CREATE OR REPLACE MACRO, then the same UPDATE.
CREATE MACRO contact_display_name(kind, title, first_name, last_name, company) AS
    CASE WHEN kind = 'company' OR (nullif(first_name, '') IS NULL AND nullif(last_name, '') IS NULL)
         THEN coalesce(nullif(company, ''), '(no name)')
         ELSE concat_ws(' ', nullif(title, ''), nullif(first_name, ''), nullif(last_name, ''))
    END;

ALTER TABLE contacts ADD COLUMN display_name VARCHAR NOT NULL DEFAULT '';  -- kept by crm_core.search

UPDATE contacts SET display_name = contact_display_name(kind, title, first_name, last_name, company);
