-- Case-insensitive search must fold Vietnamese letters too (Ễ → ễ): SQLite's lower() only
-- folds ASCII, so the application writes a folded copy of the searchable fields here.
ALTER TABLE contacts ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE contacts SET search_text = lower(coalesce(name, '') || ' ' || coalesce(email, '') || ' ' ||
                                        coalesce(phone, '') || ' ' || coalesce(external_id, ''));
