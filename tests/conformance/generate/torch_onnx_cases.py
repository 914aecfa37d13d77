#!/usr/bin/env python3
"""Generate the ONNX conformance cases exported by PyTorch (`torch.onnx.export`).

    bash scripts/setup-torch.sh                      # .venv-torch: torch (CPU use), onnx, ORT
    .venv-torch/bin/python tests/conformance/generate/torch_onnx_cases.py [--out DIR] [--only ..]

Writes cases next to onnx_cases.py's (`tests/conformance/onnx/torch_*`), in the same layout
(`model.onnx`, `case.json`, `data.json` with ONNX Runtime's outputs), which
crates/scorewell-onnx/tests/conformance.rs compares with tract. The models are small, seeded
and in eval mode; each is exported with a dynamic batch axis except `torch_fixed_batch`, which
keeps PyTorch's default of the example's batch (1) so the fixed-batch path is covered.

PyPI's torch wheel is the CUDA build (it pulls the nvidia-* libraries, ~3 GB); it runs on the
CPU here. The cases are committed, so neither CI nor the tests need torch.
"""
from __future__ import annotations

import inspect
import io
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import onnx_cases  # noqa: E402
from onnx_cases import ROWS  # noqa: E402

OPSET = 17


def export(model: nn.Module, inputs: dict[str, np.ndarray], outputs: list[str], dynamic: bool = True):
    """`model` (eval mode) to an ONNX ModelProto through the TorchScript exporter, the one
    most deployed exports were made with; the batch axis is dynamic unless `dynamic` is off."""
    model.eval()
    args = tuple(torch.from_numpy(v[:1] if not dynamic else v) for v in inputs.values())
    axes = {n: {0: "batch"} for n in [*inputs, *outputs]} if dynamic else None
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model,
            args,
            buf,
            input_names=list(inputs),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    # ONNX Runtime 1.32 reads IR versions up to 10.
    proto.ir_version = min(proto.ir_version, 8)
    return proto


def export_dynamo(model: nn.Module, inputs: dict[str, np.ndarray], outputs: list[str]):
    """The same through the torch.export-based exporter, PyTorch's default since 2.9, with a
    dynamic batch axis."""
    model.eval()
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    batch = torch.export.Dim("batch")
    shapes = {name: {0: batch} for name in inspect.signature(model.forward).parameters}
    with torch.no_grad():
        program = torch.onnx.export(
            model,
            args,
            input_names=list(inputs),
            output_names=outputs,
            dynamic_shapes=shapes,
            opset_version=18,
            dynamo=True,
        )
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, 8)
    return proto


def seeded(rng: np.random.Generator) -> None:
    torch.manual_seed(int(rng.integers(0, 2**31)))


def randomise_batch_norm(model: nn.Module, rng: np.random.Generator) -> None:
    """Non-trivial running statistics, so folding them is tested."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.from_numpy(rng.normal(0, 0.5, n).astype(np.float32)))
            m.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, n).astype(np.float32)))


def case_torch_mlp(rng):
    seeded(rng)
    model = nn.Sequential(
        nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.GELU(), nn.Linear(16, 1), nn.Sigmoid()
    )
    inputs = {"x": rng.normal(size=(ROWS, 10)).astype(np.float32)}
    return export(model, inputs, ["score"]), inputs


class ConvNet(nn.Module):
    """Channels-first Conv1d + BatchNorm + pooling, as PyTorch lays sequences out."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm1d(8)
        self.pool = nn.MaxPool1d(2)
        self.conv2 = nn.Conv1d(8, 6, 3, dilation=2)
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn(self.conv1(x))))
        h = torch.relu(self.conv2(h)).mean(dim=2)
        return torch.softmax(self.head(h), dim=1)


def case_torch_conv1d(rng):
    seeded(rng)
    model = ConvNet()
    randomise_batch_norm(model, rng)
    inputs = {"signal": rng.normal(size=(ROWS, 4, 20)).astype(np.float32)}
    return export(model, inputs, ["probs"]), inputs


class TextLstm(nn.Module):
    """Token ids → Embedding → LSTM (batch_first) → last step → Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 12, batch_first=True)
        self.head = nn.Linear(12, 1)

    def forward(self, tokens):
        out, _ = self.lstm(self.emb(tokens))
        return torch.sigmoid(self.head(out[:, -1, :]))


def case_torch_lstm(rng):
    seeded(rng)
    inputs = {"tokens": rng.integers(0, 50, size=(ROWS, 7)).astype(np.int64)}
    return export(TextLstm(), inputs, ["score"]), inputs


class BiGru(nn.Module):
    """A bidirectional GRU (PyTorch's GRU is ONNX's linear_before_reset=1) over features."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(5, 6, batch_first=True, bidirectional=True)
        self.head = nn.Linear(12, 3)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out.mean(dim=1))


def case_torch_gru_bidirectional(rng):
    seeded(rng)
    inputs = {"steps": rng.normal(size=(ROWS, 6, 5)).astype(np.float32)}
    return export(BiGru(), inputs, ["logits"]), inputs


class TwoInTwoOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(3, 8)
        self.score = nn.Linear(16, 1)
        self.probs = nn.Linear(16, 3)

    def forward(self, left, right):
        h = torch.cat([torch.tanh(self.a(left)), torch.relu(self.b(right))], dim=1)
        return torch.sigmoid(self.score(h)), torch.softmax(self.probs(h), dim=1)


def case_torch_two_inputs_two_outputs(rng):
    seeded(rng)
    inputs = {
        "left": rng.normal(size=(ROWS, 4)).astype(np.float32),
        "right": rng.normal(size=(ROWS, 3)).astype(np.float32),
    }
    return export(TwoInTwoOut(), inputs, ["score", "probs"]), inputs


def case_torch_fixed_batch(rng):
    seeded(rng)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    inputs = {"x": rng.normal(size=(ROWS, 6)).astype(np.float32)}
    return export(model, inputs, ["y"], dynamic=False), inputs


class Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.SiLU(), nn.Linear(16, 3)
        )

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


def case_torch_dynamo_mlp(rng):
    seeded(rng)
    inputs = {"x": rng.normal(size=(ROWS, 10)).astype(np.float32)}
    return export_dynamo(Mlp(), inputs, ["probs"]), inputs


def case_torch_dynamo_conv1d(rng):
    seeded(rng)
    model = ConvNet()
    randomise_batch_norm(model, rng)
    inputs = {"signal": rng.normal(size=(ROWS, 4, 20)).astype(np.float32)}
    return export_dynamo(model, inputs, ["probs"]), inputs


def case_torch_dynamo_lstm(rng):
    seeded(rng)
    inputs = {"tokens": rng.integers(0, 50, size=(ROWS, 7)).astype(np.int64)}
    return export_dynamo(TextLstm(), inputs, ["score"]), inputs


CASES = {
    "torch_mlp": case_torch_mlp,
    "torch_conv1d": case_torch_conv1d,
    "torch_lstm": case_torch_lstm,
    "torch_gru_bidirectional": case_torch_gru_bidirectional,
    "torch_two_inputs_two_outputs": case_torch_two_inputs_two_outputs,
    "torch_fixed_batch": case_torch_fixed_batch,
    "torch_dynamo_mlp": case_torch_dynamo_mlp,
    "torch_dynamo_conv1d": case_torch_dynamo_conv1d,
    "torch_dynamo_lstm": case_torch_dynamo_lstm,
}


def main() -> None:
    torch.set_num_threads(1)
    onnx_cases.main(CASES)


if __name__ == "__main__":
    main()
