"""Moved to :mod:`vecmatte.batch.dask`; this name is kept so that old imports still work."""

from vecmatte.batch.dask import CONNECT_TIMEOUT, INSTALL_HINT, run_batch_on_cluster

__all__ = ["CONNECT_TIMEOUT", "INSTALL_HINT", "run_batch_on_cluster"]
