"""The peer: a Python Lambda function doing what teams do today, run the way Lambda runs a
custom runtime (a loop over the Runtime API, as awslambdaric does).

Init imports numpy, xgboost and boto3, downloads the model from S3 (`MODEL_BUCKET`,
`MODEL_KEY`, `AWS_ENDPOINT_URL`) to /tmp and loads it; each invocation takes an API Gateway
HTTP API (payload 2.0) event whose body is `{"rows": [{feature: value}, ...]}` and answers
`{"rows": [{"prediction": p}, ...]}`.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request

import boto3
import numpy as np
import xgboost as xgb

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


def init() -> tuple[xgb.Booster, list[str]]:
    s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    path = os.path.join(tempfile.gettempdir(), "model-" + os.path.basename(os.environ["MODEL_KEY"]))
    s3.download_file(os.environ["MODEL_BUCKET"], os.environ["MODEL_KEY"], path)
    booster = xgb.Booster()
    booster.load_model(path)
    booster.set_param({"nthread": 1})
    return booster, list(booster.feature_names or [])


def handle(booster: xgb.Booster, names: list[str], event: dict) -> dict:
    rows = json.loads(event["body"])["rows"]
    x = np.array(
        [[np.nan if r.get(n) is None else float(r[n]) for n in names] for r in rows],
        dtype=np.float32,
    )
    preds = booster.inplace_predict(x)
    body = json.dumps({"rows": [{"prediction": float(p)} for p in preds]})
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}


def main() -> None:
    booster, names = init()
    while True:
        with urllib.request.urlopen(f"{API}/invocation/next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        answer = json.dumps(handle(booster, names, event)).encode()
        req = urllib.request.Request(
            f"{API}/invocation/{request_id}/response", data=answer, method="POST"
        )
        urllib.request.urlopen(req).read()


if __name__ == "__main__":
    main()
