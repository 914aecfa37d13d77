"""`scorewell serve` as a backend for Triton's own clients: `tritonclient.http`, which sends and
asks for tensors with the binary tensor data extension by default, and `tritonclient.grpc`
(`serve --grpc-port`). The answers equal the CLI's scores, for numeric tensors and for strings
as BYTES, binary or JSON, mixed; errors come back as the client's exception carrying the
server's message."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import tritonclient.grpc as tritonclient_grpc
import tritonclient.http as tritonclient_http
from tritonclient.utils import InferenceServerException

from conftest import ROOT, cli_path, run_cli

XGB = ROOT / "tests/conformance/cases/xgboost_3_2_missing_nan_null"
FRAUD = ROOT / "examples/fraud/bundle"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """`scorewell serve` on free loopback ports (HTTP, gRPC), serving the XGBoost case and the
    fraud bundle."""
    proc = subprocess.Popen(
        [str(cli_path()), "serve", f"xgb={XGB / 'model.json'}", f"fraud={FRAUD}",
         "--port", "0", "--grpc-port", "0", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    for line in proc.stdout:
        message = json.loads(line).get("message", "")
        for scheme in ("http", "grpc"):
            if message.startswith(f"listening on {scheme}://"):
                urls[scheme] = message.removeprefix(f"listening on {scheme}://")
        if len(urls) == 2:
            break
    assert len(urls) == 2, f"the server exited before listening: {urls}"
    # Keep reading its log so the server never blocks on a full pipe.
    drain = threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True)
    drain.start()
    yield urls["http"], urls["grpc"]
    proc.terminate()
    proc.wait(timeout=30)
    drain.join(timeout=30)
    proc.stdout.close()


@pytest.fixture(scope="module")
def server(servers: tuple[str, str]) -> str:
    return servers[0]


@pytest.fixture(scope="module")
def grpc_server(servers: tuple[str, str]) -> str:
    return servers[1]


def cli_scores(model: Path, frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """`scorewell score` on `frame`: the reference the server must equal."""
    frame.to_parquet(tmp_path / "in.parquet")
    run = run_cli(model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert run.returncode == 0, run.stderr
    return pq.read_table(tmp_path / "out.parquet").to_pandas()


def tensor(name: str, values: np.ndarray, datatype: str, *, binary: bool = True) -> Any:
    t = tritonclient_http.InferInput(name, [len(values)], datatype)
    t.set_data_from_numpy(values, binary_data=binary)
    return t


def test_server_metadata_advertises_the_extension(server: str) -> None:
    client = tritonclient_http.InferenceServerClient(server)
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready("xgb")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_numeric_tensors_score_as_the_cli(server: str, tmp_path: Path, binary: bool) -> None:
    frame = pq.read_table(XGB / "input.parquet").to_pandas().head(64)
    want = cli_scores(XGB / "model.json", frame, tmp_path)["prediction"].to_numpy()
    client = tritonclient_http.InferenceServerClient(server)
    inputs = [tensor(c, frame[c].to_numpy(np.float64), "FP64", binary=binary) for c in frame.columns]
    outputs = [tritonclient_http.InferRequestedOutput("prediction", binary_data=binary)]
    got = client.infer("xgb", inputs, outputs=outputs).as_numpy("prediction")
    assert got.tobytes() == want.tobytes()
    # Other widths read as the same numbers: float32 and int tensors.
    as32 = [tensor(c, frame[c].to_numpy(np.float32), "FP32") for c in frame.columns]
    want32 = cli_scores(XGB / "model.json", frame.astype(np.float32), tmp_path)["prediction"]
    assert client.infer("xgb", as32).as_numpy("prediction").tobytes() == want32.to_numpy().tobytes()


def test_strings_as_bytes_score_the_fraud_bundle_as_the_cli(server: str, tmp_path: Path) -> None:
    frame = pd.read_csv(ROOT / "examples/fraud/transactions.csv").head(50)
    frame = frame.dropna(subset=["channel"])  # a BYTES tensor has no missing element
    want = cli_scores(FRAUD, frame, tmp_path)
    client = tritonclient_http.InferenceServerClient(server)
    numbers = ["amount", "hour", "account_age_days", "n_tx_24h", "merchant_risk"]
    inputs = [tensor(c, frame[c].to_numpy(np.float64), "FP64") for c in numbers]
    # One string input as binary data, one as JSON: a request may mix them.
    inputs.append(tensor("country", frame["country"].to_numpy(object), "BYTES"))
    inputs.append(tensor("channel", frame["channel"].to_numpy(object), "BYTES", binary=False))
    result = client.infer("fraud", inputs)
    probability = result.as_numpy("fraud_probability")
    assert probability.tobytes() == want["fraud_probability"].to_numpy().tobytes()
    decisions = [d.decode() for d in result.as_numpy("decision")]
    assert decisions == want["decision"].tolist()


def test_errors_reach_the_client_with_the_servers_message(server: str) -> None:
    client = tritonclient_http.InferenceServerClient(server)
    x = np.zeros(3)
    with pytest.raises(InferenceServerException, match="no output named `nope`"):
        client.infer(
            "xgb",
            [tensor(f"f{i}", x, "FP64") for i in range(6)],
            outputs=[tritonclient_http.InferRequestedOutput("nope")],
        )
    with pytest.raises(InferenceServerException, match="input `f0` has 2 rows but"):
        client.infer("xgb", [tensor("f1", x, "FP64"), tensor("f0", x[:2], "FP64")])


def post(server: str, body: bytes, header_len: str) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://{server}/v2/models/xgb/infer",
        data=body,
        headers={"Inference-Header-Content-Length": header_len},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_malformed_binary_bodies_are_400s_naming_the_problem(server: str) -> None:
    header = json.dumps({
        "inputs": [{"name": "f0", "shape": [2], "datatype": "FP64",
                    "parameters": {"binary_data_size": 16}}]
    }).encode()
    data = np.array([0.5, 1.5]).tobytes()
    status, text = post(server, header + data[:12], str(len(header)))
    assert status == 400 and "input `f0`: binary_data_size is 16 but 12 bytes" in text
    status, text = post(server, header + data + b"xx", str(len(header)))
    assert status == 400 and "2 bytes of binary data follow" in text
    status, text = post(server, header + data, str(len(header) + 100))
    assert status == 400 and "Inference-Header-Content-Length is" in text
    status, text = post(server, header + data, "many")
    assert status == 400 and "not a byte count" in text


def grpc_tensor(name: str, values: np.ndarray, datatype: str) -> Any:
    t = tritonclient_grpc.InferInput(name, [len(values)], datatype)
    t.set_data_from_numpy(values)
    return t


def test_grpc_health_and_metadata(grpc_server: str) -> None:
    client = tritonclient_grpc.InferenceServerClient(grpc_server)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("xgb") and client.is_model_ready("fraud", "1")
    assert client.get_server_metadata().name == "scorewell"
    meta = client.get_model_metadata("fraud", as_json=True)
    kinds = {t["name"]: t["datatype"] for t in meta["inputs"]}
    assert kinds["country"] == "BYTES" and kinds["amount"] == "FP64"
    assert [t["name"] for t in meta["outputs"]] == ["fraud_probability", "decision"]


def test_grpc_scores_as_the_cli(grpc_server: str, tmp_path: Path) -> None:
    client = tritonclient_grpc.InferenceServerClient(grpc_server)
    frame = pq.read_table(XGB / "input.parquet").to_pandas().head(64)
    want = cli_scores(XGB / "model.json", frame, tmp_path)["prediction"].to_numpy()
    inputs = [grpc_tensor(c, frame[c].to_numpy(np.float64), "FP64") for c in frame.columns]
    got = client.infer("xgb", inputs).as_numpy("prediction")
    assert got.tobytes() == want.tobytes()
    fraud = pd.read_csv(ROOT / "examples/fraud/transactions.csv").head(50).dropna(subset=["channel"])
    want = cli_scores(FRAUD, fraud, tmp_path)
    numbers = ["amount", "hour", "account_age_days", "n_tx_24h", "merchant_risk"]
    inputs = [grpc_tensor(c, fraud[c].to_numpy(np.float64), "FP64") for c in numbers]
    inputs += [grpc_tensor(c, fraud[c].to_numpy(object), "BYTES") for c in ("country", "channel")]
    outputs = [tritonclient_grpc.InferRequestedOutput(n) for n in ("decision", "fraud_probability")]
    result = client.infer("fraud", inputs, outputs=outputs)
    assert result.as_numpy("fraud_probability").tobytes() == want["fraud_probability"].to_numpy().tobytes()
    assert [d.decode() for d in result.as_numpy("decision")] == want["decision"].tolist()
    names = [o.name for o in result.get_response().outputs]
    assert names == ["decision", "fraud_probability"]


def test_grpc_errors_carry_the_servers_message(grpc_server: str) -> None:
    client = tritonclient_grpc.InferenceServerClient(grpc_server)
    x = np.zeros(2)
    with pytest.raises(InferenceServerException, match="no model named `nope`") as caught:
        client.infer("nope", [grpc_tensor("f0", x, "FP64")])
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    with pytest.raises(InferenceServerException, match="input `f0` has 1 rows but") as caught:
        client.infer("xgb", [grpc_tensor("f1", x, "FP64"), grpc_tensor("f0", x[:1], "FP64")])
    assert caught.value.status() == "StatusCode.INVALID_ARGUMENT"
    with pytest.raises(InferenceServerException, match="serving version 1"):
        client.infer("xgb", [grpc_tensor("f0", x, "FP64")], model_version="7")
