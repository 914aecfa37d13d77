"""The FastAPI baseline: the same JSON API as `scorewell serve` (`{"rows": [...]}` in,
`{"rows": [{"prediction": p}]}` out) around XGBoost's `inplace_predict`.

Run by bench/serve/run.py as `uvicorn baseline_app:app` with SCOREWELL_BENCH_MODEL set.
The handler is `async def` and reads the body with `json.loads` (no pydantic model), which is
the fastest plain FastAPI shape; one XGBoost thread per worker process.
"""

import json
import os

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, Request, Response

booster = xgb.Booster()
booster.load_model(os.environ["SCOREWELL_BENCH_MODEL"])
booster.set_param({"nthread": 1})
FEATURES = booster.feature_names
app = FastAPI()


@app.post("/v1/models/{name}/score")
async def score(name: str, request: Request) -> Response:
    rows = json.loads(await request.body())["rows"]
    X = np.array(
        [[r.get(f, np.nan) for f in FEATURES] for r in rows], dtype=np.float32
    )
    pred = booster.inplace_predict(X)
    body = {"model": name, "rows": [{"prediction": float(p)} for p in pred]}
    return Response(json.dumps(body), media_type="application/json")
