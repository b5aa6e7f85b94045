-- The model index: one row per manifest, its tags and layers. Derived from storage;
-- `modelyard reindex` rebuilds it.

CREATE TABLE repositories (
    name            text PRIMARY KEY,
    needs_reindex   boolean NOT NULL DEFAULT false,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE manifests (
    repository          text NOT NULL,
    digest              text NOT NULL,
    media_type          text NOT NULL,
    artifact_type       text,
    config_media_type   text,
    config_digest       text,
    subject_digest      text,
    manifest_size       bigint NOT NULL,
    total_size          bigint NOT NULL,
    family              text NOT NULL,
    name                text,
    version             text,
    semver_major        bigint,
    semver_minor        bigint,
    semver_patch        bigint,
    semver_pre          text,
    description         text,
    authors             text[] NOT NULL DEFAULT '{}',
    licenses            text[] NOT NULL DEFAULT '{}',
    framework           text,
    model_format        text,
    architecture        text,
    parameter_count     bigint,
    precision           text,
    quantization        text,
    metrics             jsonb NOT NULL DEFAULT '{}',
    hyperparameters     jsonb NOT NULL DEFAULT '{}',
    signature           jsonb,
    hardware            jsonb,
    source              jsonb,
    labels              jsonb NOT NULL DEFAULT '{}',
    extra               jsonb NOT NULL DEFAULT '{}',
    annotations         jsonb NOT NULL DEFAULT '{}',
    created             timestamptz,
    raw_config          text,
    parse_errors        text[] NOT NULL DEFAULT '{}',
    pushed_at           timestamptz NOT NULL DEFAULT now(),
    search              tsvector GENERATED ALWAYS AS (
        to_tsvector('simple',
            coalesce(repository, '') || ' ' || coalesce(name, '') || ' ' ||
            coalesce(description, '') || ' ' || coalesce(framework, '') || ' ' ||
            coalesce(architecture, ''))
    ) STORED,
    PRIMARY KEY (repository, digest)
);

CREATE INDEX manifests_subject ON manifests (repository, subject_digest)
    WHERE subject_digest IS NOT NULL;
CREATE INDEX manifests_family ON manifests (family);
CREATE INDEX manifests_name ON manifests (lower(name));
CREATE INDEX manifests_framework ON manifests (lower(framework));
CREATE INDEX manifests_search ON manifests USING gin (search);
CREATE INDEX manifests_metrics ON manifests USING gin (metrics jsonb_path_ops);
CREATE INDEX manifests_annotations ON manifests USING gin (annotations jsonb_path_ops);

CREATE TABLE tags (
    repository  text NOT NULL,
    tag         text NOT NULL,
    digest      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, tag)
);
CREATE INDEX tags_digest ON tags (repository, digest);

CREATE TABLE layers (
    repository      text NOT NULL,
    manifest_digest text NOT NULL,
    position        integer NOT NULL,
    media_type      text NOT NULL,
    digest          text NOT NULL,
    size            bigint NOT NULL,
    annotations     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (repository, manifest_digest, position),
    FOREIGN KEY (repository, manifest_digest)
        REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
