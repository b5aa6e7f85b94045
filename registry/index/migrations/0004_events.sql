-- Durable events and webhooks. Operational, not derived: reindex leaves them alone.
--
-- `events` is the outbox: one row per push, pull, delete or tag, written in the transaction
-- that writes the index change it describes (pulls in the usage counters' batched flush).
-- `payload` is the event in the CNCF distribution notification shape.
CREATE TABLE events (
    id          uuid PRIMARY KEY,
    action      text NOT NULL CHECK (action IN ('push', 'pull', 'delete', 'tag')),
    repository  text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_created ON events (created_at);

-- A receiver of events: those of the given actions on repositories matching `namespace`
-- (`*`, a prefix such as `team-a/`, or a glob), as LIKE patterns in `patterns`.
CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    namespace   text NOT NULL,
    patterns    text[] NOT NULL,
    url         text NOT NULL,
    secret      text NOT NULL,
    actions     text[] NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_created ON webhooks (created_at DESC, id DESC);

-- One delivery per (event, webhook), created with the event. A worker claims a due row with
-- SELECT ... FOR UPDATE SKIP LOCKED and holds it by a lease until `lease_until`; a lease
-- that expires (its holder died) makes the row claimable again.
CREATE TABLE deliveries (
    id                  bigserial PRIMARY KEY,
    event_id            uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id          uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_until         timestamptz,
    leased_by           text,
    last_status_code    integer,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    UNIQUE (event_id, webhook_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_of_webhook ON deliveries (webhook_id, id DESC);
