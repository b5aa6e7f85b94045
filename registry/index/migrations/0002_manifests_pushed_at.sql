-- Keyset pagination of the model list walks manifests newest first.
CREATE INDEX manifests_pushed ON manifests (pushed_at DESC, repository, digest);
