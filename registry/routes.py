"""The route table: every endpoint of the registry in one place."""

from __future__ import annotations

from starlette.routing import Route

from registry.handlers import (
    accounts,
    base,
    blobs,
    catalog,
    manifests,
    ops,
    referrers,
    tags,
    token,
    uploads,
)
from registry.handlers import models as model_api

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
    Route("/token", token.get_token, methods=["GET"]),
    Route("/token", token.post_token, methods=["POST"]),
    Route("/api/v1/users", accounts.list_users, methods=["GET"]),
    Route("/api/v1/users", accounts.create_user, methods=["POST"]),
    Route("/api/v1/users/{username}", accounts.delete_user, methods=["DELETE"]),
    Route("/api/v1/groups", accounts.list_groups, methods=["GET"]),
    Route("/api/v1/groups", accounts.create_group, methods=["POST"]),
    Route("/api/v1/groups/{group}", accounts.delete_group, methods=["DELETE"]),
    Route(GROUP_MEMBER, accounts.add_group_member, methods=["PUT"]),
    Route(GROUP_MEMBER, accounts.remove_group_member, methods=["DELETE"]),
    Route("/api/v1/robots", accounts.list_robots, methods=["GET"]),
    Route("/api/v1/robots", accounts.create_robot, methods=["POST"]),
    Route("/api/v1/robots/{robot}", accounts.delete_robot, methods=["DELETE"]),
    Route("/api/v1/namespaces", accounts.list_namespaces, methods=["GET"]),
    Route("/api/v1/namespaces", accounts.create_namespace, methods=["POST"]),
    Route(NAMESPACE, accounts.get_namespace, methods=["GET"]),
    Route(NAMESPACE, accounts.update_namespace, methods=["PATCH"]),
    Route(NAMESPACE, accounts.delete_namespace, methods=["DELETE"]),
    Route(NAMESPACE + "/members", accounts.list_members, methods=["GET"]),
    Route(MEMBER, accounts.set_member, methods=["PUT"]),
    Route(MEMBER, accounts.remove_member, methods=["DELETE"]),
]
