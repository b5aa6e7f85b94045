"""The route table: every endpoint of the registry in one place."""

from __future__ import annotations

from starlette.routing import Route

from registry.handlers import accounts as account_api
from registry.handlers import base, blobs, cache, catalog, manifests, ops, referrers, tags, uploads
from registry.handlers import models as model_api
from registry.handlers import token as token_api
from registry.handlers import webhooks as webhook_api

NAME = "/v2/{name:path}"
UPLOAD = NAME + "/blobs/uploads/{upload_id}"
BLOB = NAME + "/blobs/{digest}"
MANIFEST = NAME + "/manifests/{reference}"
GROUP_MEMBER = "/api/v1/groups/{group}/members/{username}"
NAMESPACE = "/api/v1/namespaces/{namespace}"
MEMBER = NAMESPACE + "/members/{kind}/{principal}"

ROUTES = [
    Route("/v2/", base.version_check, methods=["GET"]),
    Route("/v2/_catalog", catalog.catalog, methods=["GET"]),
    Route(NAME + "/blobs/uploads/", uploads.start_upload, methods=["POST"]),
    Route(NAME + "/blobs/uploads", uploads.start_upload, methods=["POST"]),
    Route(UPLOAD, uploads.upload_status, methods=["GET"]),
    Route(UPLOAD, uploads.patch_upload, methods=["PATCH"]),
    Route(UPLOAD, uploads.finish_upload, methods=["PUT"]),
    Route(UPLOAD, uploads.cancel_upload, methods=["DELETE"]),
    Route(BLOB, blobs.get_blob, methods=["GET", "HEAD"]),
    Route(BLOB, blobs.delete_blob, methods=["DELETE"]),
    Route(MANIFEST, manifests.get_manifest, methods=["GET", "HEAD"]),
    Route(MANIFEST, manifests.put_manifest, methods=["PUT"]),
    Route(MANIFEST, manifests.delete_manifest, methods=["DELETE"]),
    Route(NAME + "/tags/list", tags.list_tags, methods=["GET"]),
    Route(NAME + "/referrers/{digest}", referrers.list_referrers, methods=["GET"]),
    Route("/healthz", ops.healthz, methods=["GET"]),
    Route("/readyz", ops.readyz, methods=["GET"]),
    Route("/metrics", ops.metrics, methods=["GET"]),
    Route("/api/v1/openapi.json", model_api.openapi, methods=["GET"]),
    Route("/api/v1/models", model_api.list_models, methods=["GET"]),
    Route("/api/v1/repositories/{name:path}/versions", model_api.list_versions, methods=["GET"]),
    Route(
        "/api/v1/repositories/{name:path}/versions/latest",
        model_api.latest_version,
        methods=["GET"],
    ),
    Route("/api/v1/repositories/{name:path}/usage", model_api.repository_usage, methods=["GET"]),
    Route(
        "/api/v1/repositories/{name:path}/manifests/{digest}",
        model_api.manifest_record,
        methods=["GET"],
    ),
    Route("/api/v1/cache", cache.cache_summary, methods=["GET"]),
    Route("/api/v1/cache/objects", cache.cache_objects, methods=["GET"]),
    Route("/api/v1/webhooks", webhook_api.list_webhooks, methods=["GET"]),
    Route("/api/v1/webhooks", webhook_api.create_webhook, methods=["POST"]),
    Route("/api/v1/webhooks/{id}", webhook_api.get_webhook, methods=["GET"]),
    Route("/api/v1/webhooks/{id}", webhook_api.update_webhook, methods=["PATCH"]),
    Route("/api/v1/webhooks/{id}", webhook_api.delete_webhook, methods=["DELETE"]),
    Route("/api/v1/webhooks/{id}/deliveries", webhook_api.list_deliveries, methods=["GET"]),
    Route("/token", token_api.get_token, methods=["GET"]),
    Route("/token", token_api.post_token, methods=["POST"]),
    Route("/api/v1/users", account_api.list_users, methods=["GET"]),
    Route("/api/v1/users", account_api.create_user, methods=["POST"]),
    Route("/api/v1/users/{username}", account_api.delete_user, methods=["DELETE"]),
    Route("/api/v1/groups", account_api.list_groups, methods=["GET"]),
    Route("/api/v1/groups", account_api.create_group, methods=["POST"]),
    Route("/api/v1/groups/{group}", account_api.delete_group, methods=["DELETE"]),
    Route(GROUP_MEMBER, account_api.add_group_member, methods=["PUT"]),
    Route(GROUP_MEMBER, account_api.remove_group_member, methods=["DELETE"]),
    Route("/api/v1/robots", account_api.list_robots, methods=["GET"]),
    Route("/api/v1/robots", account_api.create_robot, methods=["POST"]),
    Route("/api/v1/robots/{robot}", account_api.delete_robot, methods=["DELETE"]),
    Route("/api/v1/namespaces", account_api.list_namespaces, methods=["GET"]),
    Route("/api/v1/namespaces", account_api.create_namespace, methods=["POST"]),
    Route(NAMESPACE, account_api.get_namespace, methods=["GET"]),
    Route(NAMESPACE, account_api.update_namespace, methods=["PATCH"]),
    Route(NAMESPACE, account_api.delete_namespace, methods=["DELETE"]),
    Route(NAMESPACE + "/members", account_api.list_members, methods=["GET"]),
    Route(MEMBER, account_api.set_member, methods=["PUT"]),
    Route(MEMBER, account_api.remove_member, methods=["DELETE"]),
]
