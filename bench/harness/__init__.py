"""The benchmark harness behind ``bench/compare.py`` and ``bench/method_table.py``.

One module per step of a run:

- ``data``: find the images, trimaps and ground truth; load them at a scale;
- ``methods``: what can be measured (vecmatte's registry, PyMatting's estimators, the seed)
  and how each one is called;
- ``child``: the measuring child process (address-space cap, time limit, peak-memory probes);
- ``cells``: run children and turn what they report into ``Cell`` records;
- ``cache``: the code each measurement depends on and the cache of finished cells;
- ``plan``: which cells a run measures, in which order, and what it skips;
- ``ratios``, ``report``, ``plot``: the markdown report and the figure;
- ``method_rows``: the method-by-method comparison against PyMatting (``methods.md``);
- ``interleave``, ``interleave_report``: the same comparison with both libraries alternating
  in one process (``--timing same-process``), and its report;
- ``method_report``: what the two method reports share (targets, verdict, the section).
"""
