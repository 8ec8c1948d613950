CREATE TABLE items (id integer NOT NULL, name varchar(20), price numeric(10,2), added date, note text, flag boolean, big bigint, seen timestamp);
CREATE INDEX items_name_idx ON items (name);
CREATE INDEX items_added_price_idx ON items (added, price);
CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10;
CREATE TABLE vendors (id integer PRIMARY KEY, code varchar(8) NOT NULL, CONSTRAINT vendors_code UNIQUE (code));
