"""Training runs for the playground, on linearlab's own engine.

Every trajectory is ``LinearRegression(solver="gd", ...)``'s recorded ``params_history_`` and
``history_``; every landscape is :mod:`linearlab.viz.surface`'s grid, the one the PNGs draw; a
Step's numbers are the engine's :func:`~linearlab.descent.loop.forward_backward`. Nothing here
knows about HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.descent.config import DescentConfig, penalty_factor
from linearlab.descent.loop import forward_backward
from linearlab.descent.losses import LOSSES, get_loss
from linearlab.descent.optimizers import OPTIMIZERS
from linearlab.errors import DivergenceError, ParameterError
from linearlab.viz.diagnostics import LOG_SCALE_RATIO

#: Most epochs one run may ask for; more is refused with a message.
MAX_EPOCHS = 20_000
#: Runs drawn together on one landscape ("compare").
MAX_RUNS = 3
#: Rows shown in a Step's prediction table.
STEP_ROWS = 5
RANDOM_STATE = 0


@dataclass
class Settings:
    """One run's settings, as the page's controls set them."""

    loss: str = "mse"
    optimizer: str = "sgd"
    lr: float | str = "auto"
    batch_size: int | None = None
    epochs: int = 200
    standardize: bool = False
    backend: str = "numpy"
    alpha: float = 0.0
    start: list[float] | None = None  # [w..., b]; None starts at zero

    def estimator(self, n_features: int):
        from linearlab.models.linear import LinearRegression

        init: Any = "zeros"
        if self.start is not None:
            if len(self.start) != n_features + 1:
                raise ParameterError(
                    f"start has {len(self.start)} values; give {n_features} weight(s) and the "
                    "intercept."
                )
            init = (list(self.start[:-1]), self.start[-1])
        return LinearRegression(
            solver="gd", loss=self.loss, optimizer=self.optimizer, lr=self.lr,
            batch_size=self.batch_size, epochs=self.epochs, standardize=self.standardize,
            backend=self.backend, alpha=self.alpha, init=init, random_state=RANDOM_STATE,
        )

    def code(self, feature_names: list[str], target_name: str) -> str:
        """The equivalent Python for these settings."""
        args = ['solver="gd"', f'loss="{self.loss}"', f'optimizer="{self.optimizer}"',
                f"lr={self.lr!r}" if self.lr == "auto" else f"lr={float(self.lr):.6g}",
                f"epochs={self.epochs}"]
        if self.batch_size:
            args.append(f"batch_size={self.batch_size}")
        if self.standardize:
            args.append("standardize=True")
        if self.alpha:
            args.append(f"alpha={self.alpha:g}")
        if self.backend != "numpy":
            args.append(f'backend="{self.backend}"')
        if self.start is not None:
            coef = ", ".join(f"{v:.6g}" for v in self.start[:-1])
            args.append(f"init=([{coef}], {self.start[-1]:.6g})")
        args.append(f"random_state={RANDOM_STATE}")
        body = ",\n    ".join(args)
        return (
            "from linearlab import LinearRegression\n\n"
            f"model = LinearRegression(\n    {body},\n)\n"
            f"model.fit(X, y)  # X: columns {feature_names}, y: {target_name!r}\n"
            "print(model.coef_, model.intercept_, model.diagnosis_)\n"
        )


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def parse_settings(raw: Any) -> Settings:
    """Validate the page's settings; every problem is one clear :class:`ParameterError`."""
    if not isinstance(raw, dict):
        raise ParameterError("settings must be a JSON object.")
    s = Settings()
    s.loss = _choice(raw.get("loss", s.loss), LOSSES, "loss")
    s.optimizer = _choice(raw.get("optimizer", s.optimizer), OPTIMIZERS, "optimizer")
    backends = ("numpy", "torch") if torch_available() else ("numpy",)
    s.backend = _choice(raw.get("backend", s.backend), backends, "backend")
    lr = raw.get("lr", "auto")
    if lr != "auto":
        s.lr = number(lr, "lr")
        if not 0 < s.lr < 1e6:
            raise ParameterError(f"lr must be positive (got {lr!r}), or 'auto'.")
    epochs = number(raw.get("epochs", s.epochs), "epochs")
    if epochs != int(epochs) or not 1 <= epochs <= MAX_EPOCHS:
        raise ParameterError(
            f"epochs={raw.get('epochs')!r} is refused: the playground runs between 1 and "
            f"{MAX_EPOCHS} epochs. For longer runs use `linearlab fit --epochs N`."
        )
    s.epochs = int(epochs)
    batch = raw.get("batch_size")
    if batch not in (None, "", 0, "full"):
        batch = number(batch, "batch_size")
        if batch != int(batch) or batch < 1:
            raise ParameterError(f"batch_size must be a positive integer (got {batch!r}).")
        s.batch_size = int(batch)
    s.standardize = bool(raw.get("standardize", False))
    s.alpha = number(raw.get("alpha", 0.0), "alpha")
    if s.alpha < 0:
        raise ParameterError("alpha must be 0 or more.")
    if raw.get("start") is not None:
        s.start = [number(v, "start") for v in raw["start"]]
    return s


def _choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise ParameterError(f"Unknown {name} {value!r}; choose one of {', '.join(choices)}.")
    return str(value)


def number(value: Any, name: str) -> float:
    """``value`` as a finite float, or a :class:`ParameterError` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number (got {value!r}).") from None
    if not np.isfinite(number):
        raise ParameterError(f"{name} must be a finite number (got {value!r}).")
    return number


# --------------------------------------------------------------------------- runs
def train(settings: Settings, X: np.ndarray, y: np.ndarray, feature_names: list[str],
          target_name: str) -> tuple[Any, dict]:
    """Fit one run; returns the model (None when it diverged at once) and the page's record.

    A run that diverges is shown, not raised: it is refitted for the epochs before the blow-up,
    so the page can draw the overshooting path, and marked ``diverged`` with the engine's
    message and suggested step size.
    """
    model = settings.estimator(X.shape[1])
    diverged: DivergenceError | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, y)
        except DivergenceError as exc:
            diverged = exc
            model = _before_divergence(settings, X, y, exc.epoch)
    record: dict[str, Any] = {
        "settings": settings.__dict__.copy(),
        "code": settings.code(feature_names, target_name),
        "diverged": diverged is not None,
        "message": str(diverged) if diverged is not None else model.diagnosis_,
        "suggested_lr": getattr(diverged, "suggested_lr", None),
    }
    if model is None:
        start = np.asarray(settings.start or np.zeros(X.shape[1] + 1), dtype=np.float64)
        record.update(path=[start.tolist()], history=[], epochs=0, converged=False, lr=None,
                      label=f"{settings.optimizer}, lr={settings.lr}", log_scale=False)
        return None, record
    path = model.params_history_
    path = (path[:, :, 0] if path is not None
            else np.append(model.coef_, model.intercept_)[None, :])
    record.update(
        path=path.tolist(),
        history=[float(v) for v in model.history_],
        epochs=int(model.n_iter_),
        converged=bool(model.converged_) and diverged is None,
        lr=float(model.learning_rate_),
        label=f"{settings.optimizer}, lr={model.learning_rate_:.3g}",
    )
    history = np.asarray(record["history"])
    record["log_scale"] = bool(history.size and history.min() > 0
                               and history.max() >= LOG_SCALE_RATIO * history.min())
    return model, record


def _before_divergence(settings: Settings, X, y, epoch: int):
    """The run up to just before the engine called it diverged (None if that is epoch 0)."""
    for epochs in range(epoch - 1, max(epoch - 4, 0), -1):
        if epochs < 1:
            break
        short = Settings(**{**settings.__dict__, "epochs": epochs})
        try:
            return short.estimator(X.shape[1]).fit(X, y)
        except DivergenceError:
            continue
    return None


def step(settings: Settings, X: np.ndarray, y: np.ndarray, theta: list[float],
         lr: float | None) -> dict:
    """One full-batch update at ``theta`` as the seeds write it: prediction, loss, dL/dW, dL/dB
    (the engine's forward and backward pass) and the plain gradient step ``theta - lr·grad``."""
    d = X.shape[1]
    theta_arr = np.asarray([number(v, "theta") for v in theta], dtype=np.float64)
    if theta_arr.size != d + 1:
        raise ParameterError(f"theta has {theta_arr.size} values for {d} feature(s) + intercept.")
    W, b = theta_arr[:d].reshape(d, 1), theta_arr[d:]
    Y = y.reshape(-1, 1)
    config = DescentConfig(lr=lr or 0.0, loss=settings.loss, optimizer=settings.optimizer,
                           epochs=1, alpha=settings.alpha)
    penalty = penalty_factor(config, 1, float(X.shape[0]))
    loss, grads = forward_backward(W, b, X, Y, None, get_loss(settings.loss), penalty, True)
    grad = np.append(grads[0][:, 0], grads[1])
    prediction = (X[:STEP_ROWS] @ W + b)[:, 0]
    out = {
        "theta": theta_arr.tolist(),
        "loss": float(loss),
        "grad_w": grad[:d].tolist(),
        "grad_b": float(grad[d]),
        "rows": [{"x": X[i].tolist(), "y": float(y[i]), "prediction": float(prediction[i])}
                 for i in range(min(STEP_ROWS, X.shape[0]))],
        "lr": lr,
    }
    if lr:
        out["next"] = (theta_arr - lr * grad).tolist()
    return out


def exact_fit(X: np.ndarray, y: np.ndarray, loss: str = "mse") -> dict:
    """The least-squares line (what the page draws live while points are dragged)."""
    from linearlab.models.linear import LinearRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression().fit(X, y)
    residual = model.predict(X) - y
    return {"coef": np.atleast_1d(model.coef_).tolist(), "intercept": float(model.intercept_),
            "loss": float(get_loss(loss).value(residual.reshape(-1, 1)))}


def model_file(model: Any, record: dict) -> bytes:
    """The model file (``linearlab.model/1`` JSON) of a finished run."""
    from linearlab.io.persist import model_to_dict

    if model is None or record["diverged"]:
        raise ParameterError(
            "This run diverged, so there is no model to download; lower the learning rate "
            "(or use lr='auto') and train again."
        )
    return json.dumps(model_to_dict(model), indent=2).encode()
