"""Authentication and authorization: token service, basic/htpasswd, roles, robots."""
