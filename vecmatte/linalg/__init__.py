"""Sparse linear algebra for symmetric positive definite systems; knows nothing about images.

- :mod:`vecmatte.linalg.cg`: preconditioned conjugate gradient with diagnostics.
- :mod:`vecmatte.linalg.envelope`: envelope Cholesky in reverse Cuthill-McKee order.
- :mod:`vecmatte.linalg.multifrontal`: multifrontal Cholesky in a nested-dissection order of
  grid points.
"""
