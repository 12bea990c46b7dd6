-- SQLite's 0012 rebuilds the ledger's keyed tables WITHOUT ROWID (one B-tree per insert
-- instead of two). PostgreSQL's heap tables have no rowid to drop: nothing to change here;
-- the migration exists so both back ends ship the same versions.
SELECT 1;
