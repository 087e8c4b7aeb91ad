"""The OpenAPI 3.1 document: generated from the schemas, every operation documenting its errors."""

from __future__ import annotations

STRING_TYPES = ("string",)


def test_the_document_is_openapi_3_1_with_every_operation_of_the_api(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    paths = doc["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/revoke",
        "/api/v1/auth/mfa",
        "/api/v1/auth/signup",
        "/api/v1/auth/verify",
        "/api/v1/auth/check-username",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/me",
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/notifications",
        "/api/v1/notifications/{notification_id}/read",
        "/api/v1/notifications/read-all",
    ):
        assert path in paths, path


def test_every_operation_documents_its_errors_as_problem_documents(client):
    doc = client.get("/api/v1/openapi.json").get_json()

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "default" in responses, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
    for name, response in doc["components"]["responses"].items():
        if "content" in response:
            assert list(response["content"]) == ["application/problem+json"], name


def _strings(schema, components, seen=()):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        yield from _strings(components[name], components, (*seen, name))
        return
    if schema.get("type") == "string" or "string" in (schema.get("type") or []):
        yield schema
    for sub in schema.get("properties", {}).values():
        yield from _strings(sub, components, seen)


def test_every_string_a_client_sends_has_a_max_length(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    components = doc["components"]["schemas"]

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                for schema in _strings(parameter["schema"], components):
                    assert "maxLength" in schema, (method, path, parameter["name"])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                for schema in _strings(body["schema"], components):
                    assert "maxLength" in schema, (method, path, schema)
