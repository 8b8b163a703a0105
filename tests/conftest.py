import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def svm(tmp_path):
    """A 200 x 30 sparse svmlight file, its X and y."""
    import scipy.sparse as sp
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(0)
    X = sp.random(200, 30, density=0.2, format="csr", random_state=0)
    y = X @ rng.normal(size=30) + 0.1 * rng.normal(size=200) + 1.0
    path = tmp_path / "d.svm"
    dump_svmlight_file(X, y, str(path), zero_based=False)
    return path, X, y


@pytest.fixture(scope="module")
def client():
    """A Dask client: in-process workers (fast), behind a real TCP scheduler the command line
    can reach; one cluster per test module."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        yield client
