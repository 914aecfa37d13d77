//! The Open Inference Protocol (KServe v2) paths.

use serde_json::json;

use crate::util::*;

async fn stump_server() -> (Dir, TestServer) {
    let dir = Dir::new();
    let path = dir.write("m.txt", stump(&["x", "y"], 1.0, 2.0));
    let server = TestServer::with_models(&[("m", &path)], quiet()).await;
    (dir, server)
}

#[tokio::test]
async fn health_server_and_model_metadata() {
    let (_dir, server) = stump_server().await;
    let r = server.get("/v2").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "scorewell");
    assert_eq!(server.get("/v2/health/live").await.status, 200);
    let r = server.get("/v2/health/ready").await;
    assert_eq!((r.status, r.json()), (200, json!({"ready": true})));
    let r = server.get("/v2/models/m").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "name": "m", "versions": ["1"], "platform": "scorewell",
            "inputs": [
                {"name": "x", "datatype": "FP64", "shape": [-1]},
                {"name": "y", "datatype": "FP64", "shape": [-1]}
            ],
            "outputs": [{"name": "prediction", "datatype": "FP64", "shape": [-1]}]
        })
    );
    assert_eq!(server.get("/v2/models/m/versions/1").await.status, 200);
    assert_eq!(server.get("/v2/models/m/ready").await.status, 200);
    assert_eq!(
        server.get("/v2/models/m/versions/1/ready").await.status,
        200
    );
    let msg = server
        .get("/v2/models/m/versions/7/ready")
        .await
        .error(404, "unknown_version");
    assert!(msg.contains("serving version 1"), "{msg}");
    server
        .get("/v2/models/zz")
        .await
        .error(404, "unknown_model");
    server
        .get("/v2/models/zz/ready")
        .await
        .error(404, "unknown_model");
}

#[tokio::test]
async fn infers_one_tensor_per_column() {
    let (_dir, server) = stump_server().await;
    let body = json!({
        "id": "req-1",
        "inputs": [
            {"name": "x", "shape": [3], "datatype": "FP32", "data": [0.1, 0.9, "NaN"]},
            {"name": "y", "shape": [3, 1], "datatype": "INT64", "data": [[1], [2], [3]]}
        ]
    });
    for path in ["/v2/models/m/infer", "/v2/models/m/versions/1/infer"] {
        let r = server.post(path, &body.to_string()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({
                "model_name": "m", "model_version": "1", "id": "req-1",
                "outputs": [{"name": "prediction", "datatype": "FP64", "shape": [3],
                             "data": [1.0, 2.0, 1.0]}]
            })
        );
    }
    let r = server
        .post("/v2/models/m/versions/2/infer", &body.to_string())
        .await;
    r.error(404, "unknown_version");
}

#[tokio::test]
async fn infer_errors_name_the_tensor() {
    let (_dir, server) = stump_server().await;
    let x = |extra: serde_json::Value| {
        let mut inputs = vec![json!({"name":"y","shape":[1],"datatype":"FP64","data":[0]})];
        inputs.push(extra);
        json!({ "inputs": inputs }).to_string()
    };
    let cases = [
        (
            x(json!({"name":"x","shape":[2],"datatype":"FP64","data":[1]})),
            "invalid_request",
            "needs 2 values, data has 1",
        ),
        (
            x(json!({"name":"x","shape":[1],"datatype":"FP64","data":["a"]})),
            "invalid_request",
            "input `x`, element 0: the string \"a\" in a FP64 tensor",
        ),
        (
            x(json!({"name":"x","shape":[1],"datatype":"BYTES","data":["a"]})),
            "invalid_request",
            "input `x` (BYTES): row 0, field `x`: expected a number",
        ),
        (
            x(json!({"name":"x","shape":[1],"datatype":"COMPLEX","data":[1]})),
            "invalid_request",
            "unknown datatype `COMPLEX`",
        ),
        (
            x(json!({"name":"x","shape":[1,2],"datatype":"FP64","data":[1,2]})),
            "invalid_request",
            "shaped [N] or [N, 1]",
        ),
        (
            x(json!({"name":"x","shape":[2],"datatype":"FP64","data":[1,2]})),
            "invalid_request",
            "has 2 rows but the first input has 1",
        ),
        (
            json!({"inputs":[{"name":"y","shape":[1],"datatype":"FP64","data":[0]}]}).to_string(),
            "missing_column",
            "`x`",
        ),
        (json!({"inputs": []}).to_string(), "empty_rows", "no rows"),
        (
            r#"{"inputs": [{"name": "x"}]}"#.to_string(),
            "invalid_request",
            "missing field",
        ),
        (
            r#"{"inputs": [{"name": "x", "#.to_string(),
            "invalid_json",
            "EOF",
        ),
    ];
    for (body, code, needle) in cases {
        let r = server.post("/v2/models/m/infer", &body).await;
        let msg = r.error(400, code);
        assert!(msg.contains(needle), "{body} → {msg}");
    }
    let r = server
        .post(
            "/v2/models/m/infer",
            &json!({
                "inputs": [
                    {"name":"x","shape":[1],"datatype":"FP64","data":[0]},
                    {"name":"y","shape":[1],"datatype":"FP64","data":[0]}
                ],
                "outputs": [{"name": "score"}]
            })
            .to_string(),
        )
        .await;
    let msg = r.error(400, "invalid_request");
    assert!(
        msg.contains("no output named `score` (outputs: prediction)"),
        "{msg}"
    );
}

#[tokio::test]
async fn non_finite_numbers_are_strings_or_the_bare_literals_tritonclient_writes() {
    let (_dir, server) = stump_server().await;
    let tensors = |x: &str| {
        format!(
            r#"{{"inputs":[{{"name":"x","shape":[1],"datatype":"FP64","data":[{x}]}},{{"name":"y","shape":[1],"datatype":"FP64","data":[0]}}]}}"#
        )
    };
    // As strings in a floating-point tensor, or as the bare literals Python's json module
    // writes (tritonclient's JSON tensors): NaN is missing (the stump sends it left).
    for (x, expected) in [
        (r#""NaN""#, 1.0),
        (r#""Infinity""#, 2.0),
        (r#""-Infinity""#, 1.0),
        ("NaN", 1.0),
        ("Infinity", 2.0),
        ("-Infinity", 1.0),
    ] {
        let r = server.post("/v2/models/m/infer", &tensors(x)).await;
        assert_eq!(r.status, 200, "{x}: {}", r.text());
        assert_eq!(r.json()["outputs"][0]["data"], json!([expected]), "{x}");
    }
    // A literal inside a string stays text; JSON broken elsewhere still says where.
    let broken = tensors("NaN").replacen("]}]}", "]}", 1);
    let msg = server
        .post("/v2/models/m/infer", &broken)
        .await
        .error(400, "invalid_json");
    assert!(
        msg.contains("NaN and Infinity are not JSON numbers"),
        "{msg}"
    );
    // Integer tensors hold no non-finite numbers.
    let body = tensors(r#""NaN""#).replacen("FP64", "INT64", 1);
    let msg = server
        .post("/v2/models/m/infer", &body)
        .await
        .error(400, "invalid_request");
    assert!(
        msg.contains(r#"input `x`, element 0: the string "NaN" in a INT64 tensor"#),
        "{msg}"
    );
}

#[tokio::test]
async fn category_inputs_take_bytes_tensors_of_names() {
    // LightGBM trained from pandas categories: `color` and `city` take names or codes.
    let path = case("lightgbm_4_7_categorical_pandas").join("model.txt");
    let server = TestServer::with_models(&[("cat", &path)], quiet()).await;
    let meta = server.get("/v2/models/cat").await.json();
    assert_eq!(
        meta["inputs"][1],
        json!({"name": "color", "datatype": "BYTES", "shape": [-1]})
    );
    let request = |datatype: &str, color: serde_json::Value, city: serde_json::Value| {
        json!({"inputs": [
            {"name": "x0", "shape": [2], "datatype": "FP64", "data": [0.3, -0.4]},
            {"name": "color", "shape": [2, 1], "datatype": datatype, "data": color},
            {"name": "city", "shape": [2], "datatype": datatype, "data": city},
            {"name": "x1", "shape": [2], "datatype": "FP64", "data": [-1.0, 2.0]},
        ]})
        .to_string()
    };
    let by_code = server
        .post(
            "/v2/models/cat/infer",
            &request("INT64", json!([[1], [0]]), json!([4, 2])),
        )
        .await;
    let by_name = server
        .post(
            "/v2/models/cat/infer",
            &request("BYTES", json!([["1"], ["0"]]), json!(["4", "2"])),
        )
        .await;
    assert_eq!(by_code.status, 200, "{}", by_code.text());
    assert_eq!(by_name.status, 200, "{}", by_name.text());
    assert_eq!(by_code.json()["outputs"], by_name.json()["outputs"]);
    // A BYTES tensor for a numeric input is refused, naming the tensor.
    let mut body: serde_json::Value =
        serde_json::from_str(&request("BYTES", json!([["1"], ["0"]]), json!(["4", "2"])))
            .expect("json");
    body["inputs"][0] =
        json!({"name": "x0", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]});
    let msg = server
        .post("/v2/models/cat/infer", &body.to_string())
        .await
        .error(400, "invalid_request");
    assert!(msg.contains("input `x0` (BYTES)"), "{msg}");
}

/// A bundle's string indexer reads names from a BYTES tensor, and its string decision comes
/// back as a BYTES tensor.
#[tokio::test]
async fn a_bundle_takes_and_returns_bytes_tensors() {
    let dir = Dir::new();
    let path = fraud_bundle(&dir);
    let server = TestServer::with_models(&[("fraud", &path)], quiet()).await;
    let body = json!({"inputs": [
        {"name": "country", "shape": [3], "datatype": "BYTES", "data": ["NL", "DE", "XX"]}
    ]});
    let r = server
        .post("/v2/models/fraud/versions/7/infer", &body.to_string())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["outputs"],
        json!([
            {"name": "score", "datatype": "FP64", "shape": [3], "data": [0.1, 0.9, 0.9]},
            {"name": "decision", "datatype": "BYTES", "shape": [3], "data": ["allow", "block", "block"]}
        ])
    );
}

/// A vector input takes an [N, D] FP32 tensor; list outputs of k values per row come back as
/// [N, k] tensors of their item type.
#[tokio::test]
async fn vector_inputs_are_n_by_d_tensors_and_neighbours_n_by_k() {
    let dir = Dir::new();
    let (zip, index) = neighbors_bundle(&dir);
    let server = TestServer::with_models(&[("nn", &zip)], quiet()).await;
    let q: Vec<Vec<f32>> = (0..2)
        .map(|r| (0..16).map(|i| ((i + 5 * r) as f32 * 0.37).cos()).collect())
        .collect();
    let flat: Vec<f32> = q.concat();
    let body = serde_json::json!({"inputs": [{"name": "emb", "shape": [2, 16], "datatype": "FP32", "data": flat}]});
    let r = server.post("/v2/models/nn/infer", &body.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = &r.json()["outputs"];
    let neighbors = out
        .as_array()
        .expect("outputs")
        .iter()
        .find(|o| o["name"] == "neighbors")
        .expect("neighbors");
    assert_eq!(neighbors["datatype"], "INT64");
    assert_eq!(neighbors["shape"], serde_json::json!([2, 4]));
    let want: Vec<i64> = q
        .iter()
        .flat_map(|v| index.nns_by_vector(v, 4, -1).expect("query").ids)
        .collect();
    assert_eq!(neighbors["data"], serde_json::json!(want));
    let body = serde_json::json!({"inputs": [{"name": "emb", "shape": [2, 16], "datatype": "FP32", "data": [1.0, 2.0]}]});
    let r = server.post("/v2/models/nn/infer", &body.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("needs 32 values, data has 2"),
        "{}",
        r.text()
    );
    server.stop().await;
}

/// The binary tensor data extension: tensors after the JSON header, mixed with JSON ones,
/// answered in binary where asked, and the header's length checked.
#[tokio::test]
async fn binary_tensors_in_and_out() {
    let (_dir, server) = stump_server().await;
    let x: Vec<u8> = [0.1f32, 0.9, f32::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let header = json!({
        "inputs": [
            {"name": "x", "shape": [3], "datatype": "FP32", "parameters": {"binary_data_size": 12}},
            {"name": "y", "shape": [3], "datatype": "FP64", "data": [0, 0, 0]},
        ],
        "outputs": [{"name": "prediction", "parameters": {"binary_data": true}}],
    })
    .to_string();
    let post = |body: Vec<u8>, length: String| {
        let addr = server.addr;
        async move {
            let headers = [("Inference-Header-Content-Length", length.as_str())];
            call(addr, "POST", "/v2/models/m/infer", &headers, &body).await
        }
    };
    let body = [header.as_bytes(), &x].concat();
    let r = post(body.clone(), header.len().to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let json_len: usize = r
        .header("inference-header-content-length")
        .expect("the header")
        .parse()
        .expect("a length");
    let answer: serde_json::Value = serde_json::from_slice(&r.body[..json_len]).expect("JSON");
    let out = &answer["outputs"][0];
    assert_eq!(out["parameters"]["binary_data_size"], 24);
    assert!(out.get("data").is_none());
    let values: Vec<f64> = r.body[json_len..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(values, [1.0, 2.0, 1.0]);
    // The same tensors as JSON score the same.
    let plain = json!({"inputs": [
        {"name": "x", "shape": [3], "datatype": "FP32", "data": [0.1, 0.9, "NaN"]},
        {"name": "y", "shape": [3], "datatype": "FP64", "data": [0, 0, 0]},
    ]});
    let r = server.post("/v2/models/m/infer", &plain.to_string()).await;
    assert_eq!(r.json()["outputs"][0]["data"], json!([1.0, 2.0, 1.0]));
    // Too little binary data, a header longer than the body, a stray tail.
    let short = [header.as_bytes(), &x[..8]].concat();
    let msg = post(short, header.len().to_string())
        .await
        .error(400, "invalid_request");
    assert!(
        msg.contains("input `x`: binary_data_size is 12 but 8 bytes"),
        "{msg}"
    );
    let msg = post(body.clone(), (body.len() + 1).to_string())
        .await
        .error(400, "invalid_request");
    assert!(msg.contains("Inference-Header-Content-Length is"), "{msg}");
    let tail = [body.as_slice(), b"!"].concat();
    let msg = post(tail, header.len().to_string())
        .await
        .error(400, "invalid_request");
    assert!(msg.contains("1 bytes of binary data follow"), "{msg}");
    let r = server.get("/v2").await;
    assert_eq!(r.json()["extensions"], json!(["binary_tensor_data"]));
}

/// Allocation discipline: what a request declares — a tensor `shape` of 2^40, a
/// `binary_data_size` of u64::MAX, an `Inference-Header-Content-Length` or a `Content-Length`
/// of 2^40 — is checked against the bytes the body really holds (or the body limit) before
/// anything is sized from it.
#[tokio::test]
async fn forged_shapes_and_binary_sizes_are_refused() {
    let (_dir, server) = stump_server().await;
    let huge: u64 = 1 << 40;
    let y = json!({"name": "y", "shape": [1], "datatype": "FP64", "data": [0]});
    let body = json!({"inputs": [
        {"name": "x", "shape": [huge], "datatype": "FP64", "data": [1]}, y,
    ]});
    let msg = server
        .post("/v2/models/m/infer", &body.to_string())
        .await
        .error(400, "invalid_request");
    assert!(
        msg.contains("input `x`: shape [1099511627776] needs 1099511627776 values, data has 1"),
        "{msg}"
    );

    let binary = |x: serde_json::Value, data: &[u8], length: Option<u64>| {
        let header = json!({"inputs": [x, y.clone()]}).to_string();
        let length = length.unwrap_or(header.len() as u64).to_string();
        let body = [header.as_bytes(), data].concat();
        let addr = server.addr;
        async move {
            let headers = [("Inference-Header-Content-Length", length.as_str())];
            call(addr, "POST", "/v2/models/m/infer", &headers, &body)
                .await
                .error(400, "invalid_request")
        }
    };
    let eight = [0u8; 8];
    let x = |shape: u64, datatype: &str, size: u64| {
        json!({"name": "x", "shape": [shape], "datatype": datatype,
               "parameters": {"binary_data_size": size}})
    };
    let msg = binary(x(huge, "FP64", 8), &eight, None).await;
    assert_eq!(
        msg,
        "invalid request: input `x`: 1099511627776 FP64 values take 8796093022208 bytes, binary_data_size is 8"
    );
    let msg = binary(x(huge, "BYTES", 8), &eight, None).await;
    assert_eq!(
        msg,
        "invalid request: input `x`: 1099511627776 BYTES elements need at least 4398046511104 bytes, binary_data_size is 8"
    );
    let msg = binary(x(1, "FP64", u64::MAX), &eight, None).await;
    assert_eq!(
        msg,
        "invalid request: input `x`: binary_data_size is 18446744073709551615 but 8 bytes of binary data are left"
    );
    let msg = binary(x(1, "FP64", 8), &eight, Some(huge)).await;
    assert!(
        msg.starts_with(
            "invalid request: Inference-Header-Content-Length is 1099511627776 but the body has "
        ),
        "{msg}"
    );

    // A declared body of 2^40 bytes: refused from the header, before the body is read.
    let mut conn = Conn::open(server.addr).await;
    conn.send_head("POST", "/v2/models/m/infer", &[], 1 << 40, b"")
        .await
        .expect("head");
    let r = conn.read_reply().await.expect("reply");
    r.error(413, "body_too_large");
}
