-- A company's ladder reads every event of the orders on its account, including those that do
-- not repeat the account; without this index that lookup scanned the workspace's whole log
-- for every batch of contacts (quadratic in the log's size).
CREATE INDEX events_order ON events (workspace_id, order_id) WHERE order_id IS NOT NULL;
