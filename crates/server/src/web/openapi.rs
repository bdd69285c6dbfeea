//! The admin API's OpenAPI 3.1 document, served at `/api/v1/openapi.json`. Written out by
//! hand next to the router; the API test calls every operation it lists.

use serde_json::{Value, json};

fn error_responses() -> Value {
    json!({
        "400": { "description": "A bad body or value; `field` names it.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "401": { "description": "No bearer token, or an unknown or revoked one." },
        "404": { "description": "No such user." },
        "409": { "description": "It exists already, or a rule forbids it now (the message says what to do)." },
        "429": { "description": "Too many calls with a wrong token from this address." },
        "503": { "description": "The database or a service behind it cannot answer." }
    })
}

fn operation(id: &str, summary: &str, body: Option<Value>, ok: (&str, &str, &str)) -> Value {
    let mut responses = error_responses();
    responses[ok.0] = json!({
        "description": ok.1,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{}", ok.2) } } }
    });
    let mut op = json!({ "operationId": id, "summary": summary, "responses": responses });
    if let Some(schema) = body {
        op["requestBody"] =
            json!({ "required": false, "content": { "application/json": { "schema": schema } } });
    }
    op
}

fn name_parameter() -> Value {
    json!([{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" }, "description": "The user name (URL-encoded)." }])
}

/// The document.
pub(super) fn document() -> Value {
    let user_path = |id: &str, summary: &str, body: Option<Value>, ok: (&str, &str, &str)| json!({ "parameters": name_parameter(), "post": operation(id, summary, body, ok) });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "radotp admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The same operations and rules as `radotp user …`. Authenticate with `Authorization: Bearer <token>` (`radotp api-token create NAME`). Every call is logged with the token's name, the action and the user."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/users": {
                "get": operation("listUsers", "Every user (no secret).", None, ("200", "The users.", "Users")),
                "post": operation("addUser", "Create a user: with a TOTP app (`totp: true`, the secret is returned once) or without a token, to invite.", Some(json!({ "$ref": "#/components/schemas/NewUser" })), ("201", "The user, and the TOTP secret if one was made.", "Added"))
            },
            "/users/{name}": {
                "parameters": name_parameter(),
                "get": operation("showUser", "One user, with their pending invitation.", None, ("200", "The user.", "User")),
                "delete": operation("removeUser", "Delete the user and everything that is theirs.", None, ("200", "Removed.", "Removed"))
            },
            "/users/{name}/disable": user_path("disableUser", "Refuse all their logins.", None, ("200", "The user.", "User")),
            "/users/{name}/enable": user_path("enableUser", "Allow their logins again.", None, ("200", "The user.", "User")),
            "/users/{name}/unlock": user_path("unlockUser", "Clear failure counters and any lock.", None, ("200", "The user.", "User")),
            "/users/{name}/temporary-password": user_path("temporaryPassword", "A strong temporary password (local users), shown once.", Some(json!({ "type": "object", "additionalProperties": false, "properties": { "ttl": { "type": "string", "description": "How long it works: 30m, 8h, 2d (default 24h, at most 30d).", "example": "8h" } } })), ("200", "The password, once.", "TemporaryPassword")),
            "/users/{name}/invitation": user_path("inviteUser", "A single-use enrollment link for a user without an active token, replacing any earlier one; returned, or sent through [delivery] with `send: true`.", Some(json!({ "type": "object", "additionalProperties": false, "properties": { "send": { "type": "boolean", "default": false } } })), ("201", "The link (or where it was sent).", "Invitation")),
            "/users/{name}/recovery-codes": user_path("recoveryCodes", "Ten single-use recovery codes, replacing any earlier set, shown once.", None, ("200", "The codes, once.", "RecoveryCodes")),
            "/sessions": {
                "get": operation("listSessions", "The open accounting sessions.", None, ("200", "The sessions.", "Sessions"))
            }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" }, "field": { "type": "string" } } },
                "NewUser": {
                    "type": "object", "required": ["name"], "additionalProperties": false,
                    "properties": {
                        "name": { "type": "string" },
                        "password": { "type": "string", "description": "Required for a local user; refused for the others." },
                        "password_source": { "enum": ["local", "directory", "upstream"], "description": "Default: [password] source." },
                        "totp": { "type": "boolean", "default": false, "description": "Enroll a TOTP app now (else: no token; invite them)." },
                        "groups": { "type": "array", "items": { "type": "string" } },
                        "reply": { "type": "array", "items": { "type": "string" }, "description": "Name=value reply attributes." },
                        "email": { "type": "string" },
                        "sms": { "type": "string" }
                    }
                },
                "User": { "type": "object", "description": "As `radotp user show NAME --json`.", "properties": {
                    "name": { "type": "string" }, "enabled": { "type": "boolean" }, "password_source": { "type": "string" },
                    "tokens": { "type": "array", "items": { "type": "object" } }, "groups": { "type": "array", "items": { "type": "string" } },
                    "invitation": { "type": ["object", "null"], "properties": { "state": { "enum": ["pending", "expired", "closed"] }, "expires_at": { "type": "string", "format": "date-time" } } }
                } },
                "Users": { "type": "array", "items": { "$ref": "#/components/schemas/User" } },
                "Added": { "type": "object", "properties": { "user": { "$ref": "#/components/schemas/User" }, "totp": { "type": ["object", "null"], "properties": { "secret": { "type": "string" }, "otpauth_uri": { "type": "string" } } } } },
                "Removed": { "type": "object", "properties": { "removed": { "type": "string" } } },
                "TemporaryPassword": { "type": "object", "properties": { "name": { "type": "string" }, "password": { "type": "string" }, "expires_at": { "type": "string", "format": "date-time" } } },
                "Invitation": { "type": "object", "properties": { "name": { "type": "string" }, "url": { "type": "string" }, "sent_to": { "type": "string" }, "expires_at": { "type": "string", "format": "date-time" } } },
                "RecoveryCodes": { "type": "object", "properties": { "name": { "type": "string" }, "codes": { "type": "array", "items": { "type": "string" } } } },
                "Sessions": { "type": "array", "items": { "type": "object", "properties": { "user": { "type": "string" }, "nas": { "type": "string" }, "session_id": { "type": "string" }, "address": { "type": ["string", "null"] }, "since": { "type": "string" }, "updated": { "type": "string" } } } }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_has_an_id_and_answers() {
        let doc = super::document();
        let mut ids = Vec::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                ids.push(op["operationId"].as_str().unwrap().to_owned());
                assert!(op["responses"]["401"].is_object());
            }
        }
        assert_eq!(ids.len(), 11, "{ids:?}");
    }
}
