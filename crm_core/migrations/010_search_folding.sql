-- Search folds spellings: "Muenchen" finds München, "Strasse" finds Straße, "Müller" finds a
-- contact stored as "Mueller" and the other way round, "Jose" finds José, "Lodz" finds Łódź.
--
-- The rule exists once, as this macro: crm_core.search folds every contact's search text with it
-- when the contact is written, and every term a search looks for, so both sides always agree.
--   * Unicode NFC first (a "ü" written as "u" plus two dots, as Mac files have it, is the same
--     letter), then lower case;
--   * the German letters as German writes them without: ä ae, ö oe, ü ue, ß ss; also æ ae,
--     œ oe, þ th;
--   * letters that carry no separable accent, to their base letter: ł l, ø o, đ d, ð d, ħ h,
--     ı i, ŧ t, ŀ l;
--   * every other accent off (é e, ş s, å a, ñ n, ç c, ő o …: DuckDB's strip_accents).
-- So typing "Muller" does not find Müller (German spells it "Mueller"), while "Soren" finds
-- Søren.  Changing the rule takes a new migration: CREATE OR REPLACE MACRO, then a batched UPDATE
-- that makes every search text anew from the contact's fields (folding the stored text, as below,
-- works only from the plain lower case text of before this migration).
CREATE OR REPLACE MACRO search_fold(text) AS strip_accents(
    replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(
        lower(nfc_normalize(text)),
        'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'þ', 'th'),
        'ł', 'l'), 'ø', 'o'), 'đ', 'd'), 'ð', 'd'), 'ħ', 'h'), 'ı', 'i'), 'ŧ', 't'), 'ŀ', 'l'));

-- The contacts that exist: their search text (lower case so far) folded, a range of ids per
-- transaction (one transaction over a million contacts outgrows DuckDB's memory_limit).
-- batched over contacts.id
UPDATE contacts SET search_text = search_fold(search_text) WHERE id >= $lo AND id < $hi;
