-- The base URL at which the other instances reach a lease's holder, so that their clients
-- stream the blob from its fetch while it runs (registry/proxy/peers.py). NULL: the holder
-- has no reachable address; waiters then wait for the blob in storage.
ALTER TABLE proxy_leases ADD COLUMN holder_url text;
