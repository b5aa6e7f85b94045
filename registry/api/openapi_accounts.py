"""The account management part of the OpenAPI document: users, groups, robots, namespaces.

Merged into the document by registry/api/openapi.py. Every operation needs a caller who
logged in (HTTP basic, or a bearer token of this registry) and answers 404 AUTH_DISABLED when
authentication is off.
"""

from __future__ import annotations

from registry.api.schema import DATE_TIME, JsonSchema, closed_object, error, json_body, ref

ROLES = ["reader", "developer", "maintainer", "admin"]
KINDS = ["user", "group", "robot"]
NAMES: JsonSchema = {"type": "array", "items": {"type": "string"}}
SECURITY: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}]


def _input(properties: dict[str, JsonSchema], required: list[str]) -> JsonSchema:
    return {"type": "object", "properties": properties, "required": required}


def _items(name: str) -> JsonSchema:
    return closed_object({"items": {"type": "array", "items": ref(name)}})


def _path_parameter(name: str, description: str, schema: JsonSchema | None = None) -> JsonSchema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


ERRORS: dict[str, JsonSchema] = {
    "400": error("Invalid body or parameter (ACCOUNT_INVALID)."),
    "401": error("Not logged in, or wrong credentials (UNAUTHORIZED)."),
    "403": error("The caller lacks the role (DENIED)."),
    "404": error("No such entry (ACCOUNT_UNKNOWN), or auth is off (AUTH_DISABLED)."),
    "429": error("Too many failed logins (TOOMANYREQUESTS); see Retry-After."),
}
CONFLICT = {"409": error("The entry exists already (ACCOUNT_EXISTS).")}
NO_CONTENT = {"204": {"description": "Done."}}


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[str, JsonSchema],
    *,
    parameters: list[JsonSchema] | None = None,
    body: JsonSchema | None = None,
    description: str = "",
) -> JsonSchema:
    operation: JsonSchema = {
        "operationId": operation_id,
        "summary": summary,
        "security": SECURITY,
        "responses": {**responses, **ERRORS},
    }
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


USERNAME = _path_parameter("username", "User name.")
GROUP = _path_parameter("group", "Group name.")
ROBOT = _path_parameter("robot", "Robot name (without the `robot$` prefix).")
NAMESPACE = _path_parameter("namespace", "Namespace: the first path component of repository names.")
KIND = _path_parameter("kind", "Member kind.", {"type": "string", "enum": KINDS})
PRINCIPAL = _path_parameter("principal", "User, group or robot name.")

SCHEMAS: dict[str, JsonSchema] = {
    "User": closed_object(
        {
            "username": {"type": "string"},
            "admin": {"type": "boolean", "description": "System administrator."},
            "groups": NAMES,
            "created_at": DATE_TIME,
        }
    ),
    "NewUser": closed_object(
        {"username": {"type": "string"}, "admin": {"type": "boolean"}, "groups": NAMES}
    ),
    "UserList": _items("User"),
    "Group": closed_object({"name": {"type": "string"}, "members": NAMES, "created_at": DATE_TIME}),
    "NewGroup": closed_object({"name": {"type": "string"}, "members": NAMES}),
    "GroupList": _items("Group"),
    "Robot": closed_object(
        {
            "name": {"type": "string"},
            "login": {"type": "string", "description": "User name to log in with: `robot$<name>`."},
            "description": {"type": "string"},
            "created_by": {"type": "string"},
            "created_at": DATE_TIME,
        }
    ),
    "RobotList": _items("Robot"),
    "RobotSecret": closed_object(
        {
            "name": {"type": "string"},
            "login": {"type": "string"},
            "secret": {
                "type": "string",
                "description": "The robot's password. Shown this once; only a hash is kept.",
            },
        }
    ),
    "Namespace": closed_object(
        {
            "name": {"type": "string"},
            "public": {"type": "boolean", "description": "Anyone may pull, without logging in."},
            "created_at": DATE_TIME,
        }
    ),
    "NamespaceList": _items("Namespace"),
    "Member": closed_object(
        {
            "kind": {"type": "string", "enum": KINDS},
            "principal": {"type": "string"},
            "role": {"type": "string", "enum": ROLES},
        }
    ),
    "MemberList": _items("Member"),
}

ROLE_BODY = _input({"role": {"type": "string", "enum": ROLES}}, ["role"])

PATHS: dict[str, JsonSchema] = {
    "/api/v1/users": {
        "get": _operation(
            "listUsers", "List users (system admins)", {"200": json_body(ref("UserList"), "Users.")}
        ),
        "post": _operation(
            "createUser",
            "Create a user (system admins)",
            {"201": json_body(ref("NewUser"), "Created."), **CONFLICT},
            body=_input(
                {
                    "username": {"type": "string"},
                    "password": {"type": "string", "minLength": 8},
                    "admin": {"type": "boolean", "default": False},
                },
                ["username", "password"],
            ),
        ),
    },
    "/api/v1/users/{username}": {
        "delete": _operation(
            "deleteUser", "Delete a user and their memberships", NO_CONTENT, parameters=[USERNAME]
        )
    },
    "/api/v1/groups": {
        "get": _operation(
            "listGroups",
            "List groups (system admins)",
            {"200": json_body(ref("GroupList"), "Groups.")},
        ),
        "post": _operation(
            "createGroup",
            "Create a group (system admins)",
            {"201": json_body(ref("NewGroup"), "Created."), **CONFLICT},
            body=_input({"name": {"type": "string"}}, ["name"]),
        ),
    },
    "/api/v1/groups/{group}": {
        "delete": _operation("deleteGroup", "Delete a group", NO_CONTENT, parameters=[GROUP])
    },
    "/api/v1/groups/{group}/members/{username}": {
        "put": _operation(
            "addGroupMember", "Add a user to a group", NO_CONTENT, parameters=[GROUP, USERNAME]
        ),
        "delete": _operation(
            "removeGroupMember",
            "Remove a user from a group",
            NO_CONTENT,
            parameters=[GROUP, USERNAME],
        ),
    },
    "/api/v1/robots": {
        "get": _operation(
            "listRobots",
            "List robot accounts (system admins)",
            {"200": json_body(ref("RobotList"), "Robots.")},
        ),
        "post": _operation(
            "createRobot",
            "Create a robot account",
            {
                "201": json_body(ref("RobotSecret"), "Created; the secret is shown only here."),
                **CONFLICT,
            },
            description="System admins may create any robot; a namespace admin may create one "
            "that becomes a member of their namespace with `role`.",
            body=_input(
                {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "namespace": {"type": "string"},
                    "role": {"type": "string", "enum": ROLES},
                },
                ["name"],
            ),
        ),
    },
    "/api/v1/robots/{robot}": {
        "delete": _operation(
            "deleteRobot", "Delete a robot account", NO_CONTENT, parameters=[ROBOT]
        )
    },
    "/api/v1/namespaces": {
        "get": _operation(
            "listNamespaces",
            "Namespaces the caller administers (all, for system admins)",
            {"200": json_body(ref("NamespaceList"), "Namespaces.")},
        ),
        "post": _operation(
            "createNamespace",
            "Create a namespace (system admins)",
            {"201": json_body(ref("Namespace"), "Created."), **CONFLICT},
            body=_input(
                {"name": {"type": "string"}, "public": {"type": "boolean", "default": False}},
                ["name"],
            ),
        ),
    },
    "/api/v1/namespaces/{namespace}": {
        "get": _operation(
            "getNamespace",
            "One namespace (its admins)",
            {"200": json_body(ref("Namespace"), "The namespace.")},
            parameters=[NAMESPACE],
        ),
        "patch": _operation(
            "updateNamespace",
            "Make a namespace public or private (its admins)",
            {"200": json_body(ref("Namespace"), "The namespace.")},
            parameters=[NAMESPACE],
            body=_input({"public": {"type": "boolean"}}, ["public"]),
        ),
        "delete": _operation(
            "deleteNamespace",
            "Delete a namespace and its memberships (system admins); repositories stay",
            NO_CONTENT,
            parameters=[NAMESPACE],
        ),
    },
    "/api/v1/namespaces/{namespace}/members": {
        "get": _operation(
            "listMembers",
            "Members of a namespace (its admins)",
            {"200": json_body(ref("MemberList"), "Members.")},
            parameters=[NAMESPACE],
        )
    },
    "/api/v1/namespaces/{namespace}/members/{kind}/{principal}": {
        "put": _operation(
            "setMember",
            "Give a user, group or robot a role in the namespace (its admins)",
            {"200": json_body(ref("Member"), "The membership.")},
            parameters=[NAMESPACE, KIND, PRINCIPAL],
            body=ROLE_BODY,
        ),
        "delete": _operation(
            "removeMember",
            "Remove a membership (its admins)",
            NO_CONTENT,
            parameters=[NAMESPACE, KIND, PRINCIPAL],
        ),
    },
}

SECURITY_SCHEMES: JsonSchema = {
    "basic": {"type": "http", "scheme": "basic"},
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
}
