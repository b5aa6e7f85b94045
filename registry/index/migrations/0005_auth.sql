-- Authentication and authorization: operational state, never derived from storage (reindex
-- leaves it alone). Used by the auth/ package when auth.enabled is true.
CREATE TABLE auth_users (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    admin         boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_groups (
    name       text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_group_members (
    group_name text NOT NULL REFERENCES auth_groups (name) ON DELETE CASCADE,
    username   text NOT NULL REFERENCES auth_users (username) ON DELETE CASCADE,
    PRIMARY KEY (group_name, username)
);

-- Robot accounts log in as `robot$<name>` with a secret shown once at creation.
CREATE TABLE auth_robots (
    name        text PRIMARY KEY,
    secret_hash text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A namespace is the first path component of a repository name.
CREATE TABLE auth_namespaces (
    name       text PRIMARY KEY,
    public     boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_members (
    namespace text NOT NULL REFERENCES auth_namespaces (name) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('user', 'group', 'robot')),
    principal text NOT NULL,
    role      text NOT NULL CHECK (role IN ('reader', 'developer', 'maintainer', 'admin')),
    PRIMARY KEY (namespace, kind, principal)
);
CREATE INDEX auth_members_principal ON auth_members (kind, principal);

-- The token signing key generated when none is configured, shared by every instance.
CREATE TABLE auth_keys (
    kid         text PRIMARY KEY,
    algorithm   text NOT NULL,
    private_pem text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Failed logins, one row each, for the sliding-window rate limit (keys `user:<name>`,
-- `ip:<address>`); rows older than the window are pruned as new ones arrive.
CREATE TABLE auth_failures (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_key_at ON auth_failures (key, at);
