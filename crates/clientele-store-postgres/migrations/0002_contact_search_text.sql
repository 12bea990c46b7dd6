-- Case-insensitive search must fold Vietnamese letters too (Ễ → ễ) whatever the database's
-- collation (lower() folds only ASCII under the C locale), so the application writes a folded
-- copy of the searchable fields here.
ALTER TABLE contacts ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE contacts SET search_text = lower(coalesce(name, '') || ' ' || coalesce(email, '') || ' ' ||
                                        coalesce(phone, '') || ' ' || coalesce(external_id, ''));
