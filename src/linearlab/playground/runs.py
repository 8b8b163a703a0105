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
from linearlab.descent.diagnosis import RELATIVE_GAP_TOLERANCE
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
#: Most work one run may ask for: epochs x rows x (features + 1) (about 2-4 s of full-batch
#: descent here) ...
MAX_WORK = 500_000_000
#: ... and most parameter updates (epochs x batches per epoch; a batch_size=1 update costs
#: about 8 microseconds) ...
MAX_UPDATES = 500_000
#: ... and most numbers in the recorded path the page draws: (epochs + 1) x (features + 1).
MAX_PATH_NUMBERS = 1_000_000
#: Largest start or step parameter accepted (beyond it the loss overflows on ordinary data).
MAX_PARAMETER = 1e15
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
        from linearlab.models.linear import LinearModel

        init: Any = "zeros"
        if self.start is not None:
            if len(self.start) != n_features + 1:
                raise ParameterError(
                    f"start has {len(self.start)} values; give {n_features} weight(s) and the "
                    "intercept."
                )
            init = (list(self.start[:-1]), self.start[-1])
        return LinearModel(
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


def parse_settings(raw: Any, n_features: int | None = None) -> Settings:
    """Validate the page's settings; every problem is one clear :class:`ParameterError`.

    With ``n_features``, a start must have one weight per feature and the intercept."""
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
        if s.batch_size > 10**9:
            raise ParameterError(f"batch_size={s.batch_size} is too large; leave it empty for "
                                 "full batches.")
    s.standardize = raw.get("standardize", False)
    if not isinstance(s.standardize, bool):
        raise ParameterError(f"standardize must be true or false (got {s.standardize!r}).")
    s.alpha = number(raw.get("alpha", 0.0), "alpha")
    if not 0 <= s.alpha <= 1e6:
        raise ParameterError(f"alpha must be between 0 and 1e6 (got {s.alpha:g}).")
    if raw.get("start") is not None:
        s.start = parameters(raw["start"], "start", n_features)
    return s


def parameters(values: Any, name: str, n_features: int | None) -> list[float]:
    """A list of parameters ``[w..., b]``: finite numbers of sensible size, and as many as the
    features and the intercept when ``n_features`` is given."""
    if not isinstance(values, list):
        raise ParameterError(f"{name} must be a list of numbers [w..., b] (got {values!r:.60}).")
    if n_features is not None and len(values) != n_features + 1:
        raise ParameterError(f"{name} has {len(values)} value(s); give {n_features} weight(s) "
                             "and the intercept.")
    out = [number(v, name) for v in values]
    if any(abs(v) > MAX_PARAMETER for v in out):
        raise ParameterError(f"{name} values must be between -{MAX_PARAMETER:g} and "
                             f"{MAX_PARAMETER:g}; larger ones overflow the loss.")
    return out


def check_work(settings: Settings, n_rows: int, n_features: int) -> None:
    """Refuse a run that would cost more than the playground's budgets, with the largest
    number of epochs that fits."""
    per_epoch = n_rows * (n_features + 1)
    batches = -(-n_rows // settings.batch_size) if settings.batch_size else 1
    limits = {MAX_WORK // per_epoch: f"{n_rows} rows x {n_features} feature(s)",
              MAX_UPDATES // batches: f"{batches} updates per epoch (batch_size="
                                      f"{settings.batch_size})",
              MAX_PATH_NUMBERS // (n_features + 1) - 1: f"{n_features + 1} parameters to "
                                                        "record per epoch"}
    fits = min(limits)
    if settings.epochs > fits:
        what = limits[fits]
        raise ParameterError(
            f"epochs={settings.epochs} is too much work for the playground with {what}: at "
            f"most {max(fits, 0)} epochs here. Ask for fewer epochs"
            f"{', a larger batch size' if settings.batch_size else ''} or fewer rows, or fit "
            "from the command line (`linearlab fit DATA --epochs N`)."
        )


def _choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise ParameterError(f"Unknown {name} {value!r}; choose one of {', '.join(choices)}.")
    return str(value)


def number(value: Any, name: str) -> float:
    """``value`` as a finite float, or a :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number (got {value!r}).")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
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
    check_work(settings, X.shape[0], X.shape[1])
    model = settings.estimator(X.shape[1])
    diverged: DivergenceError | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, y, feature_names=feature_names)
        except DivergenceError as exc:
            diverged = exc
            model = _before_divergence(settings, X, y, exc.epoch, feature_names)
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
                      label=f"{settings.optimizer}, lr={settings.lr}", log_scale=False,
                      final_loss=None, converged_at=None)
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
    final = loss_at(settings, X, y, path[-1])[0]
    record["final_loss"] = final if np.isfinite(final) else None
    full_batch = not settings.batch_size or settings.batch_size >= X.shape[0]
    record["converged_at"] = (converged_at(history, final)
                              if record["converged"] and full_batch else None)
    if record["converged"] and not model.diagnosis_:
        record["message"] = converged_message(record)
    last = f"(last value {history[-1]:.6g})" if history.size else None
    if last and record["final_loss"] is not None and last in (record["message"] or ""):
        record["message"] = record["message"].replace(  # the same loss as the status line
            last, f"(the loss is {final:.6g} after the last epoch, {history[-1]:.6g} before it)")
    return model, record


def converged_at(history: np.ndarray, final: float) -> int:
    """The first epoch from which the loss stays within the diagnosis's tolerance (a millionth)
    of the final loss: the later epochs draw a flat line."""
    losses = np.append(history, final)
    bound = RELATIVE_GAP_TOLERANCE * abs(final) + RELATIVE_GAP_TOLERANCE**2 * abs(losses[0])
    within = np.maximum.accumulate(np.abs(losses - final)[::-1])[::-1] <= bound
    return int(np.argmax(within))


def converged_message(record: dict) -> str:
    """A converged run's diagnosis in words (the engine has nothing to say about it)."""
    at, epochs = record["converged_at"], record["epochs"]
    loss = "" if record["final_loss"] is None else f"; the loss is {record['final_loss']:.6g}"
    if at is not None and at < epochs:
        return (f"Converged at epoch {at} of {epochs}{loss}. The later epochs changed the loss "
                "by less than a millionth, so the animation stops there.")
    return f"Converged after {epochs} epochs{loss}: the loss stopped changing."


def loss_at(settings: Settings, X: np.ndarray, y: np.ndarray,
            theta: Any) -> tuple[float, Any]:
    """The objective (loss and penalty) at ``theta = [w..., b]`` over all rows and its
    gradients ``[dW, db]``: the engine's forward and backward pass."""
    theta = np.asarray(theta, dtype=np.float64)
    d = X.shape[1]
    config = DescentConfig(lr=0.0, loss=settings.loss, optimizer=settings.optimizer,
                           epochs=1, alpha=settings.alpha)
    penalty = penalty_factor(config, 1, float(X.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grads = forward_backward(theta[:d].reshape(d, 1), theta[d:], X, y.reshape(-1, 1),
                                       None, get_loss(settings.loss), penalty, True)
    return float(loss), grads


def _before_divergence(settings: Settings, X, y, epoch: int, names: list[str]):
    """The run up to just before the engine called it diverged (None if that is epoch 0)."""
    for epochs in range(epoch - 1, max(epoch - 4, 0), -1):
        if epochs < 1:
            break
        short = Settings(**{**settings.__dict__, "epochs": epochs})
        try:
            return short.estimator(X.shape[1]).fit(X, y, feature_names=names)
        except DivergenceError:
            continue
    return None


def step(settings: Settings, X: np.ndarray, y: np.ndarray, theta: Any,
         lr: float | None) -> dict:
    """One full-batch update at ``theta`` as the seeds write it: prediction, loss, dL/dW, dL/dB
    (the engine's forward and backward pass), the plain gradient step ``theta - lr·grad`` and
    the loss there."""
    d = X.shape[1]
    theta_arr = np.asarray(parameters(theta, "theta", d), dtype=np.float64)
    if lr is not None and not 0 < lr < 1e6:
        raise ParameterError(f"lr must be positive and below 1e6 (got {lr:g}).")
    loss, grads = loss_at(settings, X, y, theta_arr)
    grad = np.append(grads[0][:, 0], grads[1])
    with np.errstate(over="ignore", invalid="ignore"):
        prediction = (X[:STEP_ROWS] @ theta_arr[:d] + theta_arr[d])
        after = theta_arr - lr * grad if lr else None
    if not (np.isfinite(loss) and np.all(np.isfinite(grad)) and np.all(np.isfinite(prediction))
            and (after is None or np.all(np.isfinite(after)))):
        raise ParameterError(
            "At these parameters the loss or its gradient overflows floating point; start "
            "closer to the data (drag the start nearer the optimum) or lower the learning rate."
        )
    out = {
        "theta": theta_arr.tolist(),
        "loss": loss,
        "grad_w": grad[:d].tolist(),
        "grad_b": float(grad[d]),
        "rows": [{"x": X[i].tolist(), "y": float(y[i]), "prediction": float(prediction[i])}
                 for i in range(min(STEP_ROWS, X.shape[0]))],
        "lr": lr,
    }
    if after is not None:
        out["next"] = after.tolist()
        next_loss = loss_at(settings, X, y, after)[0]
        out["next_loss"] = next_loss if np.isfinite(next_loss) else None
    return out


def exact_fit(X: np.ndarray, y: np.ndarray, loss: str = "mse") -> dict:
    """The line that minimises ``loss`` (what the page draws live while points are dragged):
    least squares for the squared losses, the numerical optimum for mae and huber."""
    from linearlab.models.linear import LinearModel
    from linearlab.playground.landscape import loss_optimum

    if get_loss(loss).quadratic:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LinearModel().fit(X, y)
        coef, intercept = np.atleast_1d(model.coef_), float(model.intercept_)
    else:
        theta = loss_optimum(X, y, loss)
        coef, intercept = theta[:-1], float(theta[-1])
    residual = X @ coef + intercept - y
    kind = "exact" if get_loss(loss).quadratic else "numerical"
    return {"coef": coef.tolist(), "intercept": intercept, "loss_name": loss, "kind": kind,
            "loss": float(get_loss(loss).value(residual.reshape(-1, 1)))}


def model_file(model: Any, record: dict) -> bytes:
    """The model file (``linearlab.model/1`` JSON) of a finished run."""
    from linearlab.models.persist import model_to_dict

    if model is None or record["diverged"]:
        raise ParameterError(
            "This run diverged, so there is no model to download; lower the learning rate "
            "(or use lr='auto') and train again."
        )
    return json.dumps(model_to_dict(model), indent=2).encode()
