CREATE TABLE fd_items (id integer NOT NULL, name varchar(20), price numeric(10,2));
INSERT INTO fd_items VALUES (1, 'bolt', 2.50), (2, 'nut', 0.75), (3, NULL, NULL);
CREATE VIEW fd_cheap AS SELECT id, name FROM fd_items WHERE price < 1;
CREATE USER fd_reader PASSWORD 'Secret123';
CREATE GROUP fd_staff WITH USER fd_reader;
