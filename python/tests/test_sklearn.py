"""scikit-learn models scored without scikit-learn at scoring time: models trained here
(seeded, with NaN) and saved with joblib and pickle are loaded by ``scorewell.load`` and give
scikit-learn's own ``predict_proba`` / ``predict``; a pickled scorer (what Spark ships to its
executors) scores the same; a hostile pickle is refused without running anything."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import scorewell

sklearn = pytest.importorskip("sklearn")
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def _data(seed: int, nan: bool) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] ** 2 + rng.normal(scale=0.3, size=400) > 0.5).astype(int)
    y[x[:, 2] > 1.2] = 2
    if nan:
        x[rng.random(x.shape) < 0.1] = np.nan
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]), y


@pytest.mark.parametrize(
    ("make", "nan", "suffix"),
    [
        (lambda: RandomForestClassifier(n_estimators=12, max_depth=6, random_state=0), True, ".joblib"),
        (lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0), True, ".pkl"),
        (lambda: make_pipeline(StandardScaler(), LogisticRegression()), False, ".joblib"),
    ],
)
def test_probabilities_and_labels_equal_scikit_learns(make, nan: bool, suffix: str, tmp_path: Path) -> None:
    frame, y = _data(7, nan)
    model = make().fit(frame, y)
    path = tmp_path / f"model{suffix}"
    if suffix == ".joblib":
        joblib.dump(model, path)
    else:
        path.write_bytes(pickle.dumps(model, protocol=5))
    scored = scorewell.load(path).score(frame)
    proba = model.predict_proba(frame)
    got = scored[[f"prediction_{i}" for i in range(proba.shape[1])]].to_numpy()
    np.testing.assert_allclose(got, proba, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(scored["label"].to_numpy(), model.predict(frame))


def test_a_pickled_scorer_scores_the_same(tmp_path: Path) -> None:
    frame, y = _data(3, True)
    model = RandomForestClassifier(n_estimators=5, random_state=1).fit(frame, y)
    path = tmp_path / "rf.joblib"
    joblib.dump(model, path, compress=3)
    scorer = scorewell.load(path)
    again = pickle.loads(pickle.dumps(scorer))
    pd.testing.assert_frame_equal(scorer.score(frame), again.score(frame))


class _Evil:
    def __reduce__(self):  # noqa: ANN204
        import os

        return (os.system, ("echo never-run",))


def test_a_pickle_that_calls_os_system_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(Exception, match="refused `posix.system`"):
        scorewell.load(path)
