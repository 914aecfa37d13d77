//! The OpenAPI 3.1 document served at `/openapi.json`. Its paths and methods are exactly
//! [`crate::routes`]; a test checks that.

use std::sync::OnceLock;

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema}}
    })
}

fn name_param() -> Value {
    json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
           "description": "The model's name."})
}

fn version_param() -> Value {
    json!({"name": "version", "in": "path", "required": true, "schema": {"type": "string"},
           "description": "The model version; only the version serving now exists."})
}

fn scoring_errors(mut responses: Value) -> Value {
    let errors = [
        (
            "400",
            "Malformed JSON, wrong value types, missing columns, empty rows",
        ),
        ("404", "No such model or version"),
        (
            "413",
            "Body larger than --max-body-bytes, more rows than --max-rows or more values (rows × fields) than --max-cells",
        ),
        ("429", "More concurrent requests than --max-concurrency"),
        (
            "503",
            "The model has not loaded, or the server is shutting down",
        ),
        ("504", "The request took longer than --timeout-ms"),
    ];
    if let Some(map) = responses.as_object_mut() {
        for (code, text) in errors {
            map.insert(code.to_string(), error_response(text));
        }
    }
    responses
}

/// The document.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    // With the binary tensor data extension the body is the JSON request followed by raw
    // tensor data, split by the Inference-Header-Content-Length header (docs/SERVER.md).
    let binary_body = json!({"schema": {"type": "string", "format": "binary",
        "description": "binary tensor data extension: the JSON request, then raw tensor data"}});
    let infer = json!({
        "summary": "Open Inference Protocol inference: one input tensor per column",
        "parameters": [{
            "name": "Inference-Header-Content-Length", "in": "header", "required": false,
            "description": "length of the JSON part when binary tensor data follow it",
            "schema": {"type": "integer", "minimum": 0},
        }],
        "requestBody": {"required": true, "content": {
            "application/json": {"schema": schema("InferRequest")},
            "application/octet-stream": binary_body,
        }},
        "responses": scoring_errors(json!({"200": ok("Outputs, one tensor per output column", schema("InferResponse"))})),
    });
    let model_ready = json!({
        "summary": "Whether the model can score",
        "responses": {
            "200": ok("Ready", json!({"type": "object"})),
            "404": error_response("No such model or version"),
            "503": ok("Known but not loaded", json!({"type": "object"})),
        }
    });
    let model_metadata = json!({
        "summary": "Open Inference Protocol model metadata",
        "responses": {
            "200": ok("Name, versions, platform, inputs, outputs", schema("ModelMetadataV2")),
            "404": error_response("No such model or version"),
            "503": error_response("The model has not loaded"),
        }
    });
    let with_name = |mut op: Value, version: bool| {
        let mut params = vec![name_param()];
        if version {
            params.push(version_param());
        }
        // After the path parameters, the operation's own (headers).
        if let Some(Value::Array(own)) = op.get_mut("parameters").map(Value::take) {
            params.extend(own);
        }
        op["parameters"] = Value::Array(params);
        op
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "scorewell",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Score trained models over HTTP: a JSON API and the Open Inference Protocol (KServe v2). Non-finite numbers are sent and returned as the strings \"NaN\", \"Infinity\", \"-Infinity\"; the bare literals are not JSON: /v1 refuses them, /v2 reads them as those strings (tritonclient writes them).",
        },
        "paths": {
            "/v1/models": {"get": {
                "summary": "List the served models",
                "responses": {"200": ok("Models", json!({"type": "object", "properties": {"models": {"type": "array", "items": {"type": "object"}}}}))}
            }},
            "/v1/models/{name}": {"get": with_name(json!({
                "summary": "A model's inputs, outputs, version, digest, load time and last load error",
                "responses": {
                    "200": ok("Model metadata", schema("ModelMetadata")),
                    "404": error_response("No such model"),
                }
            }), false)},
            "/v1/models/{name}/score": {"post": with_name(json!({
                "summary": "Score rows or columns; the answer has the same orientation",
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema("ScoreRequest")}}},
                "responses": scoring_errors(json!({"200": ok("Pass-through fields and model outputs", schema("ScoreResponse"))})),
            }), false)},
            "/v2": {"get": {
                "summary": "Open Inference Protocol server metadata",
                "responses": {"200": ok("Name, version, extensions", json!({"type": "object"}))}
            }},
            "/v2/health/live": {"get": {
                "summary": "Liveness",
                "responses": {"200": ok("Live", json!({"type": "object"}))}
            }},
            "/v2/health/ready": {"get": {
                "summary": "Readiness: every model loaded and not shutting down",
                "responses": {
                    "200": ok("Ready", json!({"type": "object"})),
                    "503": ok("Not ready", json!({"type": "object"})),
                }
            }},
            "/v2/models/{name}": {"get": with_name(model_metadata.clone(), false)},
            "/v2/models/{name}/ready": {"get": with_name(model_ready.clone(), false)},
            "/v2/models/{name}/infer": {"post": with_name(infer.clone(), false)},
            "/v2/models/{name}/versions/{version}": {"get": with_name(model_metadata, true)},
            "/v2/models/{name}/versions/{version}/ready": {"get": with_name(model_ready, true)},
            "/v2/models/{name}/versions/{version}/infer": {"post": with_name(infer, true)},
            "/metrics": {"get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "OpenMetrics text", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}}}
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": ok("OpenAPI 3.1", json!({"type": "object"}))}
            }},
            "/admin/reload": {"post": {
                "summary": "Rescan the repository and reload changed models now",
                "security": [{"bearer": []}],
                "responses": {
                    "200": ok("What happened to each model", json!({"type": "object"})),
                    "401": error_response("Missing or wrong bearer token"),
                    "403": error_response("No admin token configured"),
                }
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "code"],
                    "properties": {
                        "error": {"type": "string", "description": "What went wrong, naming the field, row or limit"},
                        "code": {"type": "string", "description": "A stable name: invalid_json, invalid_request, empty_rows, missing_column, wrong_type, unknown_model, ..."},
                    }
                },
                "Scalar": {"oneOf": [
                    {"type": "number"}, {"type": "string"}, {"type": "boolean"}, {"type": "null"}
                ]},
                "ScoreRequest": {"oneOf": [
                    {"type": "object", "required": ["rows"], "additionalProperties": false,
                     "properties": {"rows": {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": schema("Scalar")}}}},
                    {"type": "object", "required": ["columns"], "additionalProperties": false,
                     "properties": {"columns": {"type": "object", "additionalProperties": {"type": "array", "items": schema("Scalar")}}}},
                ]},
                "ScoreResponse": {
                    "type": "object",
                    "required": ["model", "version"],
                    "properties": {
                        "model": {"type": "string"},
                        "version": {"type": "string"},
                        "rows": {"type": "array", "items": {"type": "object", "additionalProperties": schema("Scalar")}},
                        "columns": {"type": "object", "additionalProperties": {"type": "array", "items": schema("Scalar")}},
                    }
                },
                "ModelMetadata": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "source": {"type": "string"},
                        "ready": {"type": "boolean"},
                        "version": {"type": ["string", "null"]},
                        "digest": {"type": ["string", "null"], "description": "sha256:<hex> of the model source"},
                        "loaded_at": {"type": ["string", "null"], "format": "date-time"},
                        "load_duration_ms": {"type": ["number", "null"]},
                        "inputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "type": {"type": "string"}}}},
                        "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "type": {"type": "string"}}}},
                        "last_error": {"type": ["object", "null"], "properties": {"message": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}},
                    }
                },
                "Tensor": {
                    "type": "object",
                    "required": ["name", "shape", "datatype", "data"],
                    "properties": {
                        "name": {"type": "string"},
                        "shape": {"type": "array", "items": {"type": "integer"}},
                        "datatype": {"type": "string", "enum": ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]},
                        "parameters": {"type": "object"},
                        "data": {"type": "array"},
                    }
                },
                "InferRequest": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {"type": "array", "items": schema("Tensor")},
                        "outputs": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
                    }
                },
                "InferResponse": {
                    "type": "object",
                    "required": ["model_name", "outputs"],
                    "properties": {
                        "model_name": {"type": "string"},
                        "model_version": {"type": "string"},
                        "id": {"type": "string"},
                        "outputs": {"type": "array", "items": schema("Tensor")},
                    }
                },
                "ModelMetadataV2": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "versions": {"type": "array", "items": {"type": "string"}},
                        "platform": {"type": "string"},
                        "inputs": {"type": "array", "items": {"type": "object"}},
                        "outputs": {"type": "array", "items": {"type": "object"}},
                    }
                },
            }
        }
    })
}
