//! The JSON API: `/v1/models`, `/v1/models/{name}`, `/v1/models/{name}/score`.

use serde_json::json;

use crate::util::*;

async fn stump_server() -> (Dir, TestServer) {
    let dir = Dir::new();
    let path = dir.write("m.txt", stump(&["x", "y"], 1.0, 2.0));
    let server = TestServer::with_models(&[("m", &path)], quiet()).await;
    (dir, server)
}

#[tokio::test]
async fn scores_rows_and_columns_in_their_own_orientation() {
    let (_dir, server) = stump_server().await;
    let r = server
        .post(
            "/v1/models/m/score",
            r#"{"rows":[{"x":0.2,"y":1},{"x":0.9,"y":1,"id":"b"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"model":"m","version":"1","rows":[
            {"id":null,"prediction":1.0},{"id":"b","prediction":2.0}
        ]})
    );
    let r = server
        .post(
            "/v1/models/m/score",
            r#"{"columns":{"y":[0,0,0],"x":[0.1,0.6,null]}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // null is missing; LightGBM sends missing values of a numerical split left here
    // (decision_type 2 = default left), so the third row gets the left leaf.
    assert_eq!(
        r.json(),
        json!({"model":"m","version":"1","columns":{"prediction":[1.0,2.0,1.0]}})
    );
}

#[tokio::test]
async fn fields_missing_from_some_rows_are_missing_values() {
    let (_dir, server) = stump_server().await;
    let r = server
        .post(
            "/v1/models/m/score",
            r#"{"rows":[{"y":1,"x":0.9},{"y":2}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["rows"],
        json!([{"prediction":2.0},{"prediction":1.0}])
    );
}

#[tokio::test]
async fn nan_and_infinity_are_strings_and_bare_literals_are_refused() {
    let (_dir, server) = stump_server().await;
    let r = server
        .post(
            "/v1/models/m/score",
            r#"{"rows":[{"x":"NaN","y":0},{"x":"Infinity","y":0},{"x":"-Infinity","y":0}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["rows"],
        json!([{"prediction":1.0},{"prediction":2.0},{"prediction":1.0}])
    );
    for literal in ["NaN", "Infinity", "-Infinity"] {
        let body = format!(r#"{{"rows":[{{"x":{literal},"y":0}}]}}"#);
        let r = server.post("/v1/models/m/score", &body).await;
        let msg = r.error(400, "invalid_json");
        assert!(
            msg.contains("NaN and Infinity are not JSON numbers"),
            "{msg}"
        );
        assert!(msg.contains(r#""Infinity""#), "{msg}");
    }
    // Other strings in a numeric column are a type error naming the row and field.
    let r = server
        .post(
            "/v1/models/m/score",
            r#"{"rows":[{"x":0,"y":0},{"x":"nan","y":0}]}"#,
        )
        .await;
    let msg = r.error(400, "invalid_request");
    assert!(msg.contains("row 1, field `x`: expected a number"), "{msg}");
    assert!(msg.contains(r#"the string "nan""#), "{msg}");
}

#[tokio::test]
async fn non_finite_outputs_are_written_as_strings() {
    let dir = Dir::new();
    let path = dir.write("inf.txt", stump(&["x"], f64::INFINITY, -1.5));
    // LightGBM prints infinite leaves as `inf`; the loader may refuse them, in which case
    // there is nothing to encode and the rule is covered by the unit test instead.
    if scorewell::load(&path).is_err() {
        return;
    }
    let server = TestServer::with_models(&[("inf", &path)], quiet()).await;
    let r = server
        .post("/v1/models/inf/score", r#"{"columns":{"x":[0,1]}}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["columns"]["prediction"], json!(["Infinity", -1.5]));
}

#[tokio::test]
async fn bad_requests_get_4xx_json_errors_that_name_the_problem() {
    let (_dir, server) = stump_server().await;
    let cases: &[(&str, u16, &str, &str)] = &[
        ("{\"rows\":[{\"x\":1,", 400, "invalid_json", "EOF"),
        ("not json", 400, "invalid_json", "expected"),
        ("", 400, "invalid_json", "EOF"),
        ("[1,2]", 400, "invalid_request", "\"rows\""),
        (r#"{"rows":[]}"#, 400, "empty_rows", "no rows"),
        (r#"{"columns":{}}"#, 400, "empty_rows", "no rows"),
        (
            r#"{"row":[{"x":1}]}"#,
            400,
            "invalid_request",
            "unknown field `row`",
        ),
        (
            r#"{"rows":[{"x":1,"y":1}],"columns":{}}"#,
            400,
            "invalid_request",
            "not both",
        ),
        (r#"{"rows":[{"y":1}]}"#, 400, "missing_column", "`x`"),
        (
            r#"{"rows":{"x":1}}"#,
            400,
            "invalid_request",
            "array of objects",
        ),
        (
            r#"{"rows":[5]}"#,
            400,
            "invalid_request",
            "row 0 as an object",
        ),
        (
            r#"{"rows":[{"x":true,"y":[1]}]}"#,
            400,
            "invalid_request",
            "field `y`: expected a number (arrays are only accepted for vector inputs)",
        ),
        (
            r#"{"rows":[{"x":1,"y":{"a":1}}]}"#,
            400,
            "invalid_request",
            "objects are not accepted",
        ),
        (
            r#"{"rows":[{"x":1,"x":2,"y":0}]}"#,
            400,
            "invalid_request",
            "field `x` twice",
        ),
        (
            r#"{"columns":{"x":[1,2],"y":[1]}}"#,
            400,
            "invalid_request",
            "column `y` has 1 values but `x` has 2",
        ),
        (
            r#"{"columns":{"x":[1],"x":[1],"y":[1]}}"#,
            400,
            "invalid_request",
            "appears twice",
        ),
        (
            r#"{"rows":[{"x":1,"y":0,"tag":"a"},{"x":1,"y":0,"tag":2}]}"#,
            400,
            "invalid_request",
            "row 1, field `tag`: expected a string",
        ),
    ];
    for (body, status, code, needle) in cases {
        let r = server.post("/v1/models/m/score", body).await;
        let msg = r.error(*status, code);
        assert!(msg.contains(needle), "{body} → {msg}");
    }
    // Still serving afterwards.
    let r = server
        .post("/v1/models/m/score", r#"{"rows":[{"x":1,"y":1}]}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn unknown_models_routes_and_methods() {
    let (_dir, server) = stump_server().await;
    let r = server
        .post("/v1/models/nope/score", r#"{"rows":[{"x":1}]}"#)
        .await;
    let msg = r.error(404, "unknown_model");
    assert!(msg.contains("`nope`") && msg.contains("models: m"), "{msg}");
    let msg = server
        .get("/v1/models/nope")
        .await
        .error(404, "unknown_model");
    assert!(msg.contains("`nope`"), "{msg}");
    let msg = server.get("/v3/whatever").await.error(404, "no_route");
    assert!(msg.contains("GET /v3/whatever"), "{msg}");
    let msg = server
        .get("/v1/models/m/score")
        .await
        .error(405, "method_not_allowed");
    assert!(msg.contains("GET"), "{msg}");
}

#[tokio::test]
async fn lists_and_describes_models() {
    let (_dir, server) = stump_server().await;
    let list = server.get("/v1/models").await;
    assert_eq!(list.status, 200);
    let models = list.json()["models"].clone();
    assert_eq!(models[0]["name"], "m");
    assert_eq!(models[0]["ready"], true);
    let r = server.get("/v1/models/m").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["version"], "1");
    assert_eq!(
        v["inputs"],
        json!([{"name":"x","type":"number"},{"name":"y","type":"number"}])
    );
    assert_eq!(
        v["outputs"],
        json!([{"name":"prediction","type":"Float64"}])
    );
    let digest = v["digest"].as_str().expect("digest");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 7 + 64,
        "{digest}"
    );
    assert_eq!(
        models[0]["digest"], digest,
        "one digest format on both routes"
    );
    assert!(v["loaded_at"].as_str().expect("loaded_at").ends_with('Z'));
    assert!(v["load_duration_ms"].as_f64().expect("ms") >= 0.0);
    assert_eq!(v["last_error"], serde_json::Value::Null);
}

#[tokio::test]
async fn category_names_arrive_as_strings() {
    // LightGBM trained from pandas categories: `color` and `city` take names or codes.
    let path = case("lightgbm_4_7_categorical_pandas").join("model.txt");
    let server = TestServer::with_models(&[("cat", &path)], quiet()).await;
    let meta = server.get("/v1/models/cat").await.json();
    assert_eq!(
        meta["inputs"][1],
        json!({"name":"color","type":"number or string"})
    );
    let by_code = server
        .post(
            "/v1/models/cat/score",
            r#"{"rows":[{"x0":0.3,"color":1,"city":4,"x1":-1.0}]}"#,
        )
        .await;
    let by_name = server
        .post(
            "/v1/models/cat/score",
            r#"{"rows":[{"x0":0.3,"color":"1","city":"4","x1":-1.0}]}"#,
        )
        .await;
    assert_eq!(by_code.status, 200, "{}", by_code.text());
    assert_eq!(by_name.status, 200, "{}", by_name.text());
    assert_eq!(by_code.json()["rows"], by_name.json()["rows"]);
    // A string where only numbers go is refused before scoring, naming the field.
    let r = server
        .post(
            "/v1/models/cat/score",
            r#"{"rows":[{"x0":"zero","color":"1","city":"4","x1":-1.0}]}"#,
        )
        .await;
    let msg = r.error(400, "invalid_request");
    assert!(msg.contains("field `x0`"), "{msg}");
}

/// A bundle (string indexer → model → decision) serves its own version and returns its
/// selected outputs, strings included.
#[tokio::test]
async fn a_bundle_serves_its_version_transforms_and_decision() {
    let dir = Dir::new();
    let path = fraud_bundle(&dir);
    let server = TestServer::with_models(&[("fraud", &path)], quiet()).await;
    let r = server.get("/v1/models/fraud").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["version"], "7");
    let r = server
        .post(
            "/v1/models/fraud/score",
            r#"{"rows":[{"country":"NL"},{"country":"DE"},{"country":"XX"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["rows"],
        json!([
            {"score":0.1,"decision":"allow"},
            {"score":0.9,"decision":"block"},
            {"score":0.9,"decision":"block"}
        ])
    );
}

/// A bundle with a nearest-neighbour stage takes each row's vector as a JSON array and answers
/// annoy's neighbours; a null vector gives nulls, a wrong-length vector a 400 naming the row.
#[tokio::test]
async fn vectors_as_json_arrays_reach_a_nearest_neighbour_stage() {
    let dir = Dir::new();
    let (zip, index) = neighbors_bundle(&dir);
    let q: Vec<f32> = (0..16).map(|i| (i as f32 * 0.37).sin()).collect();
    let want = index.nns_by_vector(&q, 4, -1).expect("query");
    let server = TestServer::with_models(&[("nn", &zip)], quiet()).await;
    let body = json!({"rows": [{"emb": q}, {"emb": null}]}).to_string();
    let r = server.post("/v1/models/nn/score", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = &r.json()["rows"];
    assert_eq!(rows[0]["neighbors"], json!(want.ids));
    for (got, want) in rows[0]["distances"]
        .as_array()
        .expect("distances")
        .iter()
        .zip(&want.distances)
    {
        assert_eq!(got.as_f64().expect("f64") as f32, *want);
    }
    assert_eq!(rows[1]["neighbors"], json!(null));
    let r = server
        .post("/v1/models/nn/score", r#"{"rows":[{"emb":[1,2,3]}]}"#)
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("the query has 3 values"), "{}", r.text());
    let r = server
        .post("/v1/models/nn/score", r#"{"rows":[{"emb":[1,null,3]}]}"#)
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("element 1 of the array is null"),
        "{}",
        r.text()
    );
    server.stop().await;
}
