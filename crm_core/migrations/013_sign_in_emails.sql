-- Single sign-on finds the account by the e-mail address the identity provider confirmed, so the
-- addresses of active accounts are unique, whatever their case (review finding 8: a member could
-- set a colleague's address and so block the colleague's single sign-on, or receive it).
-- sign_in_email is the lower-cased address of an active account; the unique index enforces the
-- rule and crm_core.accounts.users keeps the column (and refuses an address another active
-- account has, with a message).
--
-- Existing duplicates are not resolved here: which account the address belongs to only people
-- know, and no address is thrown away.  Accounts that share one keep it (their digests still go
-- there) but get no sign_in_email: single sign-on refuses them, saying why, and the Users page
-- names them until an admin gives each its own address.
ALTER TABLE users ADD COLUMN sign_in_email VARCHAR;

-- Sign out everywhere, a new password and deactivation end single-sign-on sessions too: a
-- provider's confirmation from before this moment is refused (the user signs in with it again).
ALTER TABLE users ADD COLUMN sessions_ended_at TIMESTAMP;

-- (The index first: DuckDB creates none in a transaction that has updated the table.)
CREATE UNIQUE INDEX idx_users_sign_in_email ON users (sign_in_email);

UPDATE users SET sign_in_email = lower(email)
 WHERE active AND email IS NOT NULL AND lower(email) IN (
       SELECT lower(email) FROM users WHERE active AND email IS NOT NULL
        GROUP BY lower(email) HAVING count(*) = 1);
