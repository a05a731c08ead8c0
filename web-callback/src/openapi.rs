//! The OpenAPI 3.1 document of the HTTP API, written by hand beside the routes it describes.
//! `tests/it/web` calls every path it lists, so a route and its description cannot drift apart.

use axum::Json;
use serde_json::{Value, json};

/// `GET /openapi.json`.
pub(crate) async fn document() -> Json<Value> {
    Json(spec())
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn id_parameter(what: &str) -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": what, "schema": { "type": "integer", "minimum": 1 } })
}

pub(crate) fn spec() -> Value {
    let unauthorized = error_response("no key, or an unknown or revoked key");
    let not_found = error_response("the team has no such channel or post");
    let bad_body = error_response(
        "malformed JSON (400) or a value that does not parse or is out of range, such as a time more than 100 years ahead (422); `field` names it",
    );
    let too_large = error_response("the body is larger than 2 MB (`code` too_large, `field` body)");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "relink API",
            "version": "1",
            "description": "Channels, their health and fresh access tokens for publishing tools. Authenticate with a team's key: `Authorization: Bearer rlk_…` (created by `relink api-key create`)."
        },
        "security": [{ "teamKey": [] }],
        "paths": {
            "/api/v1/channels": {
                "get": {
                    "summary": "The team's channels with their health",
                    "responses": {
                        "200": { "description": "channels", "content": { "application/json": { "schema": {
                            "type": "object", "properties": { "channels": { "type": "array", "items": { "$ref": "#/components/schemas/Channel" } } } } } } },
                        "401": unauthorized
                    }
                },
                "post": {
                    "summary": "Register a channel with its tokens",
                    "description": "relink asks the network whose token this is: a token of another account than `account_id`, or one the network rejects, is refused.",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewChannel" } } } },
                    "responses": {
                        "201": { "description": "registered", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Channel" } } } },
                        "400": bad_body, "401": unauthorized, "409": error_response("the team already has this account on this network"), "413": too_large,
                        "422": error_response("a value that does not parse, a token of another account (`field`: `account_id`) or a token the network rejects (`field`: `tokens`, with `reason`)"),
                        "503": error_response("the network cannot say now whether the token works; retry later")
                    }
                }
            },
            "/api/v1/channels/{id}": {
                "get": {
                    "summary": "One channel",
                    "parameters": [id_parameter("channel id")],
                    "responses": {
                        "200": { "description": "the channel", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Channel" } } } },
                        "401": unauthorized, "404": not_found
                    }
                }
            },
            "/api/v1/channels/{id}/access-token": {
                "post": {
                    "summary": "A working access token for publishing, renewed first when it is spent",
                    "parameters": [id_parameter("channel id")],
                    "responses": {
                        "200": { "description": "the token (do not cache it)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AccessToken" } } } },
                        "401": unauthorized, "404": not_found,
                        "409": error_response("the channel needs reconnecting; `reason` says why (expired, password_changed, app_revoked, permission_lost, inactivity, security_checkpoint, account_mismatch, other)"),
                        "503": error_response("the network is unavailable or the token is being renewed; retry")
                    }
                }
            },
            "/api/v1/channels/{id}/check": {
                "post": {
                    "summary": "Check the channel with its network now (a pre-flight before publishing)",
                    "parameters": [id_parameter("channel id")],
                    "responses": {
                        "200": { "description": "the channel works; its health after the check", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Channel" } } } },
                        "401": unauthorized, "404": not_found,
                        "409": error_response("the channel needs reconnecting; `reason` says why (expired, password_changed, app_revoked, permission_lost, inactivity, security_checkpoint, account_mismatch, other)"),
                        "503": error_response("the channel is being checked right now; retry")
                    }
                }
            },
            "/api/v1/channels/{id}/activity": {
                "post": {
                    "summary": "Record publishing activity (Pinterest tokens lapse without it)",
                    "parameters": [id_parameter("channel id")],
                    "requestBody": { "required": false, "content": { "application/json": { "schema": {
                        "type": "object", "properties": { "at": { "type": "string", "format": "date-time", "description": "default: now" } }, "additionalProperties": false } } } },
                    "responses": { "204": { "description": "recorded" }, "400": bad_body, "401": unauthorized, "404": not_found, "413": too_large, "422": bad_body }
                }
            },
            "/api/v1/channels/{id}/posts": {
                "get": {
                    "summary": "The channel's pending scheduled posts",
                    "parameters": [id_parameter("channel id")],
                    "responses": {
                        "200": { "description": "posts", "content": { "application/json": { "schema": {
                            "type": "object", "properties": { "posts": { "type": "array", "items": { "$ref": "#/components/schemas/Post" } } } } } } },
                        "401": unauthorized, "404": not_found
                    }
                },
                "post": {
                    "summary": "Schedule a post, so alerts can say which posts are at risk",
                    "parameters": [id_parameter("channel id")],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewPost" } } } },
                    "responses": {
                        "201": { "description": "scheduled", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Post" } } } },
                        "400": bad_body, "401": unauthorized, "404": not_found, "413": too_large, "422": bad_body
                    }
                }
            },
            "/api/v1/posts/{id}": {
                "delete": {
                    "summary": "Cancel a scheduled post",
                    "parameters": [id_parameter("post id")],
                    "responses": {
                        "200": { "description": "cancelled", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Post" } } } },
                        "401": unauthorized, "404": not_found
                    }
                }
            }
        },
        "components": {
            "securitySchemes": { "teamKey": { "type": "http", "scheme": "bearer", "description": "rlk_… from `relink api-key create --team T NAME`" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" },
                    "field": { "type": "string", "description": "the input at fault" },
                    "reason": { "type": "string", "description": "why a channel needs reconnecting" } } } } },
                "Channel": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" }, "provider": { "type": "string" },
                    "account_id": { "type": "string" },
                    "health": { "enum": ["unknown", "healthy", "expiring", "needs_reauth", "degraded"] },
                    "reason": { "type": ["string", "null"] },
                    "token_expires_at": { "type": ["string", "null"], "format": "date-time" },
                    "scopes": { "type": "array", "items": { "type": "string" } },
                    "last_activity_at": { "type": ["string", "null"], "format": "date-time" },
                    "last_checked_at": { "type": ["string", "null"], "format": "date-time" },
                    "next_check_at": { "type": "string", "format": "date-time" } } },
                "NewChannel": { "type": "object", "required": ["provider", "account_id", "name", "tokens"], "additionalProperties": false, "properties": {
                    "provider": { "type": "string", "examples": ["facebook", "linkedin", "x", "oauth2"] },
                    "account_id": { "type": "string" }, "name": { "type": "string" },
                    "authorized_by": { "type": "string", "description": "the member who authorised relink, by name" },
                    "tokens": { "type": "object", "required": ["access_token"], "properties": {
                        "access_token": { "type": "string" }, "refresh_token": { "type": "string" },
                        "expires_in": { "type": "integer" }, "expires_at": { "type": "string", "format": "date-time" },
                        "scope": { "type": "string" } } } } },
                "AccessToken": { "type": "object", "properties": {
                    "access_token": { "type": "string" }, "token_type": { "const": "Bearer" },
                    "expires_at": { "type": ["string", "null"], "format": "date-time" },
                    "scopes": { "type": "array", "items": { "type": "string" } } } },
                "NewPost": { "type": "object", "required": ["due_at"], "additionalProperties": false, "properties": {
                    "due_at": { "type": "string", "description": "RFC 3339, 2026-12-01 09:30 (UTC) or +3d" },
                    "ref": { "type": "string", "description": "the tool's own id; scheduling it again moves the post" } } },
                "Post": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "channel_id": { "type": "integer" },
                    "due_at": { "type": "string", "format": "date-time" },
                    "status": { "enum": ["pending", "published", "cancelled"] }, "ref": { "type": ["string", "null"] } } }
            }
        }
    })
}
