"""The management API under `/api/v1/`: its OpenAPI document."""
