"""LinearModel (the command line's class, no scikit-learn) behaves as the public
LinearRegression: same parameter checks and errors, same feature-name and n_features checks,
same get_params/set_params, same model files, which load into either class."""

from __future__ import annotations

import json
import pickle
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import InvalidParameterError, make_constraint
from sklearn.utils.validation import _check_feature_names, _check_n_features

import linearlab
from linearlab.cli.main import main
from linearlab.data.features import check_feature_names, check_n_features
from linearlab.models import persist
from linearlab.models.estimator import LinearRegression
from linearlab.models.linear import LinearModel
from linearlab.models.linear_params import PARAMETER_CONSTRAINTS
from linearlab.models.params import Options, Range, satisfies, sklearn_constraints

ODD_VALUES = [None, True, False, np.bool_(True), 0, 1, -1, 2, 2**32, 0.0, 0.5, 1.0, -0.5, 1.5,
              np.float64(0.1), np.int64(3), np.nan, np.inf, -np.inf, "auto", "zeros", "sgd",
              "mse", "float32", "cpu", "nope", "", (1.0, 2.0), [1.0], {"a": 1}, print,
              np.random.RandomState(0), object()]


def test_the_public_class_is_a_scikit_learn_estimator_over_the_core():
    assert linearlab.LinearRegression is LinearRegression
    assert issubclass(LinearRegression, LinearModel) and issubclass(LinearRegression, BaseEstimator)
    assert not issubclass(LinearModel, BaseEstimator)
    model = clone(LinearRegression(alpha=2.0))
    assert type(model) is LinearRegression and model.alpha == 2.0
    assert type(pickle.loads(pickle.dumps(LinearModel(alpha=2.0)))) is LinearModel


@pytest.mark.parametrize("name", sorted(PARAMETER_CONSTRAINTS))
def test_light_constraints_accept_what_scikit_learn_accepts(name):
    light = PARAMETER_CONSTRAINTS[name]
    strict = [make_constraint(c) for c in sklearn_constraints({name: light})[name]]
    for value in ODD_VALUES:
        ours = any(satisfies(value, c) for c in light)
        theirs = any(c.is_satisfied_by(value) for c in strict)
        assert ours == theirs, (name, value)


def test_ranges_follow_interval_bounds():
    for closed in ("left", "right", "both", "neither"):
        ours = Range(Real, 0, 1, closed=closed)
        theirs = make_constraint(sklearn_constraints({"p": [ours]})["p"][0])
        for value in (-1, 0, 0.0, 0.5, 1, 1.0, 2, np.nan):
            assert ours.allows(value) == theirs.is_satisfied_by(value), (closed, value)
    assert Range(Integral, 1, None, closed="left").allows(True)  # as scikit-learn: bool is int
    assert not Options({"a"}).allows(1)


@pytest.mark.parametrize("params", [dict(alpha=-1.0), dict(solver="fast"), dict(epochs=0),
                                    dict(init="ones"), dict(lr="fast"), dict(random_state=-1),
                                    dict(missing=None), dict(validation_fraction=1.0)])
def test_invalid_parameters_raise_scikit_learns_error_in_both_classes(params):
    X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)
    with pytest.raises(InvalidParameterError) as public:
        LinearRegression(**params).fit(X, y)
    with pytest.raises(InvalidParameterError) as core:
        LinearModel(**params).fit(X, y)
    assert str(core.value) == str(public.value)
    assert str(public.value).startswith(f"The {next(iter(params))!r} parameter of "
                                        "LinearRegression must be")


@pytest.mark.parametrize("call", [
    lambda m: m.fit(np.ones((3, 1)), None),
    lambda m: m.predict(np.ones((3, 1))),
    lambda m: m.fit(np.arange(3.0).reshape(3, 1), np.ones(3)).predict(np.ones((3, 2))),
])
def test_core_messages_name_linear_regression(call):
    messages = []
    for cls in (LinearRegression, LinearModel):
        with pytest.raises(ValueError) as caught:  # DataError, NotFittedError: ValueErrors too
            call(cls())
        messages.append((type(caught.value), str(caught.value)))
    assert messages[0] == messages[1] and "LinearRegression" in messages[0][1]


def test_get_set_params_and_repr_match_the_public_class():
    core, public = LinearModel(alpha=0.5, solver="gd"), LinearRegression(alpha=0.5, solver="gd")
    assert core.get_params() == public.get_params()
    assert repr(core) == "LinearRegression(alpha=0.5, solver='gd')"
    assert core.set_params(epochs=7) is core and core.epochs == 7
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        core.set_params(nope=1)
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        public.set_params(nope=1)


class Probe:
    pass


def _outcome(check, fitted_on, X):
    probe = Probe()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            check(probe, fitted_on, reset=True)
            check(probe, X, reset=False)
            error = None
        except (ValueError, TypeError) as exc:
            error = (type(exc), str(exc))
    names = getattr(probe, "feature_names_in_", None)
    return [str(w.message) for w in seen], error, None if names is None else list(names)


FRAME = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
TABLES = [np.ones((2, 2)), FRAME, FRAME[["b", "a"]], FRAME.rename(columns={"a": "c"}),
          pd.DataFrame({"a": [1.0], 1: [2.0]}), pd.DataFrame(np.ones((2, 2)))]


@pytest.mark.parametrize("fitted_on", range(len(TABLES)))
@pytest.mark.parametrize("given", range(len(TABLES)))
def test_feature_name_checks_match_scikit_learn(fitted_on, given):
    ours = _outcome(check_feature_names, TABLES[fitted_on], TABLES[given])
    theirs = _outcome(_check_feature_names, TABLES[fitted_on], TABLES[given])
    assert ours == theirs


@pytest.mark.parametrize("given", [np.ones((3, 2)), np.ones((3, 3)), np.ones(3)])
def test_n_features_checks_match_scikit_learn(given):
    assert _outcome(check_n_features, np.ones((3, 2)), given)[1] == \
        _outcome(_check_n_features, np.ones((3, 2)), given)[1]


def _strip_date(path) -> str:
    doc = json.loads(path.read_text())
    doc.pop("created")
    return json.dumps(doc)


def test_both_classes_write_the_same_model_file(tmp_path):
    X, y = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 5.0], [4.0, 2.0]]), np.array([2, 4.1, 5.9, 8.2])
    for cls in (LinearRegression, LinearModel):
        cls(solver="gd", epochs=20).fit(X, y).save(tmp_path / f"{cls.__name__}.json")
    assert _strip_date(tmp_path / "LinearRegression.json") == \
        _strip_date(tmp_path / "LinearModel.json")


def test_cli_model_files_load_as_the_public_class_and_match_its_files(tmp_path, capsys):
    data = tmp_path / "small.csv"
    data.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    written = tmp_path / "cli.json"
    assert main(["fit", str(data), "-o", str(written)]) == 0
    public = linearlab.load(written)
    core = persist.load(written, LinearModel)
    assert type(public) is LinearRegression and type(core) is LinearModel
    X = np.array([[1.0], [2.5], [10.0]])
    assert np.array_equal(public.predict(X), core.predict(X))
    np.testing.assert_allclose(public.predict(X), 2.04 * X[:, 0] - 0.05)
    for model, name in ((public, "public.json"), (core, "core.json")):
        persist.save(model, tmp_path / name, metrics=model.metrics_, training=model.training_)
    assert _strip_date(tmp_path / "public.json") == _strip_date(tmp_path / "core.json")
    assert _strip_date(tmp_path / "public.json") == _strip_date(written)
