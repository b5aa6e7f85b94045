-- Usage statistics: pulls, pushes and errors per repository and manifest (digest '' for
-- counts of the repository as a whole, e.g. errors). Operational, not derived: reindex
-- leaves it alone. Written in batches by registry/index/usage.py.
CREATE TABLE usage (
    repository  text NOT NULL,
    digest      text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('pull', 'push', 'error')),
    count       bigint NOT NULL DEFAULT 0,
    first_at    timestamptz NOT NULL DEFAULT now(),
    last_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, digest, kind)
);
