-- Where a contact's coordinates came from, a cache of geocoded addresses, users' home points.
ALTER TABLE contacts ADD COLUMN geo_source VARCHAR;      -- cache | nominatim | offline | manual
ALTER TABLE contacts ADD COLUMN geo_precision VARCHAR;   -- street | postal code | city | manual
ALTER TABLE contacts ADD COLUMN geo_address VARCHAR;     -- the address the coordinates belong to
ALTER TABLE users ADD COLUMN home_address VARCHAR;

CREATE TABLE geocode_cache (
    address    VARCHAR PRIMARY KEY,                   -- normalised address
    latitude   DOUBLE,                                -- NULL: looked up, not found
    longitude  DOUBLE,
    precision  VARCHAR,
    source     VARCHAR NOT NULL,
    looked_up  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
