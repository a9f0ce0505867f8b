-- Each user's language ("de", "en"), chosen under My account.  NULL: the app's ([app] language),
-- so every existing and every new user follows the app's setting until they choose.
ALTER TABLE users ADD COLUMN language VARCHAR;
