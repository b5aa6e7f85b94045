-- Pull-through cache state, shared by every instance on this database. Operational, not
-- derived: reindex leaves it alone.
--
-- Single-flight leases: one row per digest being fetched from an upstream; the holder renews
-- expires_at while it fetches and deletes the row when done (registry/proxy/singleflight.py).
CREATE TABLE proxy_leases (
    digest      text PRIMARY KEY,
    holder      text NOT NULL,
    taken_at    timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- Freshness of cached tags: revalidated upstream once checked_at is older than the TTL.
CREATE TABLE proxy_tags (
    repository  text NOT NULL,
    tag         text NOT NULL,
    upstream    text NOT NULL,
    digest      text NOT NULL,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, tag)
);

-- Every cached blob and manifest with its origin and access data (for eviction policies).
CREATE TABLE proxy_objects (
    repository      text NOT NULL,
    digest          text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('blob', 'manifest')),
    upstream        text NOT NULL,
    remote          text NOT NULL,
    size            bigint NOT NULL,
    cached_at       timestamptz NOT NULL DEFAULT now(),
    last_access_at  timestamptz NOT NULL DEFAULT now(),
    hits            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX proxy_objects_last_access ON proxy_objects (last_access_at);
