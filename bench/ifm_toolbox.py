"""vecmatte's ifm and cf against the authors' MATLAB toolbox, run in GNU Octave.

For each of GT01..GT20 and both trimap sets this runs the toolbox's (GitHub
``yaksoy/AffinityBasedMattingToolbox``) ``informationFlowMatting`` and ``closedFormMatting`` with
their defaults in ``octave-cli`` and ``vecmatte.estimate_alpha(image, trimap, method=M)`` for M in
("ifm", "cf") (ifm with ``ku_confidence="toolbox"``) on the same 8-bit files; it reports SAD and MSE
over the unknown pixels of all four and the max / mean |alpha_toolbox - alpha_vecmatte| per method.

    python bench/ifm_toolbox.py [--data DIR] [--toolbox DIR] [--images GT01,GT02]
                                [--trimaps trimap trimap2] [--scale 0.5] [--jobs 2]

Octave needs the ``image`` package. Octave's ``statistics`` package (1.5.3 in Debian
bookworm) has no ``knnsearch`` and the ``image`` package no ``imboxfilt``: this script
writes two small stand-ins into its work folder, ``knnsearch`` (exact Euclidean k nearest
rows, nearest first, as MATLAB's; computed by ``scipy.spatial.cKDTree`` in a Python
subprocess) and ``imboxfilt`` (mean over a square window, replicated borders, each plane on
its own, as MATLAB's defaults). Nothing of the toolbox is copied: ``--toolbox`` is a
checkout of it (default: unpacked from the local mirror with ``git archive``).

Each case's numbers are kept in ``--workdir`` (``cases.jsonl``), so an interrupted run
resumes; the report goes to bench/results/ifm_toolbox.md. Timing is not measured. The
photographs are read in place, never copied into the project.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import Template

import numpy as np
import provenance

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "alphamatting-lowres"
DEFAULT_OUTPUT = HERE / "results" / "ifm_toolbox.md"
MIRROR = Path("/work/.mirror/yaksoy+AffinityBasedMattingToolbox/repo")
NAMES = tuple(f"GT{i:02d}" for i in range(1, 21))
TRIMAPS = ("trimap", "trimap2")
# Result keys of a case: SAD and MSE of each method on each side.
SIDES = ("ifm_toolbox", "ifm_vecmatte", "cf_toolbox", "cf_vecmatte")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# Octave sources, filled in with string.Template ($name): Octave's own braces stay as they are.
KNNSEARCH_M = """\
function idx = knnsearch(X, Y, varargin)
  %% Stand-in for MATLAB's knnsearch(X, Y, 'K', k): exact Euclidean neighbours, nearest first.
  k = 1;
  for i = 1:2:numel(varargin)
    if strcmpi(varargin{i}, 'K')
      k = varargin{i + 1};
    else
      error('knnsearch stand-in: option %s not supported', varargin{i});
    end
  end
  stem = tempname();
  f = fopen([stem '.x'], 'w'); fwrite(f, X', 'double'); fclose(f);
  f = fopen([stem '.y'], 'w'); fwrite(f, Y', 'double'); fclose(f);
  cmd = sprintf('"$python" "$helper" "%s" %d %d %d %d', stem, size(X, 1), size(Y, 1), ...
                size(X, 2), k);
  [status, out] = system(cmd);
  if status ~= 0
    error('knnsearch stand-in failed: %s', out);
  end
  f = fopen([stem '.i'], 'r'); idx = double(fread(f, [k, size(Y, 1)], 'int64')'); fclose(f);
  delete([stem '.x']); delete([stem '.y']); delete([stem '.i']);
end
"""

KNN_HELPER_PY = """\
import sys

import numpy as np
from scipy.spatial import cKDTree

stem, (n_x, n_y, dims, k) = sys.argv[1], map(int, sys.argv[2:])
x = np.fromfile(stem + ".x").reshape(n_x, dims)
y = np.fromfile(stem + ".y").reshape(n_y, dims)
_, idx = cKDTree(x).query(y, k=k)
(np.asarray(idx, dtype=np.int64).reshape(n_y, k) + 1).tofile(stem + ".i")
"""

IMBOXFILT_M = """\
function B = imboxfilt(A, sz)
  %% Stand-in for MATLAB's imboxfilt(A, sz): window mean, replicated borders, per plane.
  if nargin < 2
    sz = 3;
  end
  r = (sz - 1) / 2;
  B = zeros(size(A));
  for c = 1:size(A, 3)
    P = padarray(double(A(:, :, c)), [r r], 'replicate');
    B(:, :, c) = conv2(P, ones(sz) / sz ^ 2, 'valid');
  end
end
"""

# One case: the inputs as the toolbox's demo reads them (imread, then im2double inside the
# functions), both methods with their default parameters, results as raw float64 row-major.
CASE_M = """\
pkg load image
addpath('$shim');
addpath('$toolbox');
abmtSetup
image = imread('$image');
trimap = imread('$trimap');
f = fopen('$out.image', 'w'); fwrite(f, permute(im2double(image), [3 2 1]), 'double'); fclose(f);
f = fopen('$out.trimap', 'w'); fwrite(f, im2double(trimap(:, :, 1))', 'double'); fclose(f);
f = fopen('$out.ku', 'w'); fprintf(f, '%d', ~detectHighlyTransparent(image, trimap)); fclose(f);
a = informationFlowMatting(image, trimap, [], true);
f = fopen('$out.ifm', 'w'); fwrite(f, a', 'double'); fclose(f);
a = closedFormMatting(image, trimap, [], true);
f = fopen('$out.cf', 'w'); fwrite(f, a', 'double'); fclose(f);
"""


# The same informationFlowMatting run taken apart (for --decompose): each flow, both trimmed
# trimaps, the known-to-unknown estimate, the final system, its pcg solution and its exact one.
STEPS_M = """\
pkg load image
addpath('$shim');
addpath('$toolbox');
abmtSetup
p = getMattingParams('IFM');
image = im2double(imread('$image'));
trimap = imread('$trimap');
trimap = im2double(trimap(:, :, 1));
useKU = ~detectHighlyTransparent(image, trimap);
unk = trimap < 0.8 & trimap > 0.2;
Wcm = colorMixtureAffinities(image, p.cm_K, unk, [], p.cm_xyw);
Lcm = affinityMatrixToLaplacian(Wcm);
Lloc = affinityMatrixToLaplacian(mattingAffinity(image, imdilate(unk, ones(2 * p.loc_win + 1)), ...
                                                 p.loc_win, p.loc_eps));
Wiu = colorSimilarityAffinities(image, p.iu_K, unk, unk, p.iu_xyw);
Lap = p.cm_mult * (Lcm' * Lcm) + p.loc_mult * Lloc + p.iu_mult * affinityMatrixToLaplacian(Wiu);
N = numel(trimap);
known = trimap > 0.8 | trimap < 0.2;
A = p.lambda * spdiags(double(known(:)), 0, N, N);
edgeTrimmed = trimmingFromKnownUnknownEdges(image, trimap);
patchTrimmed = patchBasedTrimming(image, trimap, [], [], [], 5);
[kToU, kToUconf] = knownToUnknownColorMixture(image, patchTrimmed, p.ku_K, p.ku_xyw);
kToU(edgeTrimmed < 0.2) = 0;
kToU(edgeTrimmed > 0.8) = 1;
kToUconf(edgeTrimmed < 0.2) = 1;
kToUconf(edgeTrimmed > 0.8) = 1;
kToUconf(known(:)) = 0;
if useKU
  A = A + p.ku_mult * spdiags(kToUconf(:), 0, N, N);
  b = A * kToU(:);
else
  b = A * double(trimap(:) > 0.8);
end
A = A + Lap;
[x_pcg, flag, relres, iter] = pcg(A, b, [], 2000);
x_direct = A \\ b;
save('-v6', '$out', 'useKU', 'Wcm', 'Lloc', 'Wiu', 'edgeTrimmed', 'patchTrimmed', 'kToU', ...
     'kToUconf', 'A', 'b', 'x_pcg', 'x_direct', 'flag', 'relres', 'iter');
"""


def fail(message: str) -> SystemExit:
    return SystemExit(f"ifm_toolbox.py: error: {message}")


def run_octave(script: str, *, log: Path | None = None) -> str:
    """Run ``script`` in octave-cli on one BLAS thread; its stdout, or a SystemExit."""
    env = dict(os.environ, **ONE_THREAD)
    result = subprocess.run(
        ["octave-cli", "--no-gui", "--quiet", "--no-history", "--eval", script],
        capture_output=True,
        text=True,
        env=env,
    )
    if log is not None:
        log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise fail(f"octave-cli failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return result.stdout


def octave_versions() -> dict:
    """Octave's version and those of its installed packages."""
    script = (
        "printf('octave %s\\n', OCTAVE_VERSION); p = pkg('list');"
        "for i = 1:numel(p) printf('%s %s\\n', p{i}.name, p{i}.version); end"
    )
    lines = [line.split() for line in run_octave(script).splitlines()]
    return {line[0]: line[1] for line in lines if len(line) == 2}


def unpack_toolbox(workdir: Path) -> tuple[Path, str]:
    """The toolbox from the local mirror, unpacked under ``workdir``, and its commit."""
    if not MIRROR.is_dir():
        raise fail(f"no toolbox mirror at {MIRROR}; pass --toolbox DIR (a checkout of it)")
    git = ["git", "-C", str(MIRROR)]
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    target = workdir / "toolbox"
    if not (target / "informationFlowMatting.m").exists():
        archive = subprocess.run([*git, "archive", "HEAD"], capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
    return target, commit


def write_shims(workdir: Path) -> Path:
    """The knnsearch and imboxfilt stand-ins (see the module docstring) in ``workdir/shim``."""
    shim = workdir / "shim"
    shim.mkdir(parents=True, exist_ok=True)
    helper = shim / "knn_helper.py"
    helper.write_text(KNN_HELPER_PY)
    knnsearch = Template(KNNSEARCH_M).substitute(python=sys.executable, helper=helper)
    (shim / "knnsearch.m").write_text(knnsearch)
    (shim / "imboxfilt.m").write_text(IMBOXFILT_M)
    return shim


def prepare(data: Path, name: str, trimap_set: str, scale: float, folder: Path):
    """8-bit image and trimap files for both sides (resized if ``scale != 1``), and the truth."""
    from PIL import Image

    import vecmatte

    with Image.open(data / "image" / f"{name}.png") as file:
        image = file.convert("RGB")
    with Image.open(data / trimap_set / f"{name}.png") as file:
        trimap = file.convert("L")
    with Image.open(data / "alpha" / f"{name}.png") as file:
        truth = file.convert("L")
    if scale != 1:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.BOX)
        trimap = trimap.resize(size, Image.Resampling.NEAREST)
        truth = truth.resize(size, Image.Resampling.BOX)
    image_path, trimap_path = folder / "image.png", folder / "trimap.png"
    image.save(image_path)
    trimap.save(trimap_path)
    return (
        vecmatte.load_image(image_path),
        vecmatte.load_trimap(trimap_path),
        np.asarray(truth, dtype=np.float64) / 255.0,
        image_path,
        trimap_path,
    )


def errors(alpha: np.ndarray, truth: np.ndarray, unknown: np.ndarray) -> tuple[float, float]:
    """SAD / 1000 and MSE over the unknown pixels."""
    diff = alpha[unknown] - truth[unknown]
    return float(np.abs(diff).sum() / 1000.0), float(np.mean(diff**2))


def run_case(args, shim: Path, toolbox: Path, name: str, trimap_set: str) -> dict:
    """Both toolbox functions in Octave and both vecmatte methods on one (image, trimap)."""
    import vecmatte
    from vecmatte.alpha.ifm import detect_highly_transparent

    folder = args.workdir / f"{name}-{trimap_set}-x{args.scale:g}"
    folder.mkdir(parents=True, exist_ok=True)
    image, trimap, truth, image_path, trimap_path = prepare(
        args.data, name, trimap_set, args.scale, folder
    )
    h, w = trimap.shape
    out = folder / "octave"
    script = Template(CASE_M).substitute(
        shim=shim, toolbox=toolbox, image=image_path, trimap=trimap_path, out=out
    )
    run_octave(script, log=folder / "octave.log")

    def read(suffix: str, shape: tuple[int, ...] = (h, w)) -> np.ndarray:
        return np.fromfile(f"{out}.{suffix}").reshape(shape)

    unknown = (trimap > 0.2) & (trimap < 0.8)
    is_fg, is_bg = trimap >= 0.8, trimap <= 0.2
    record = {
        "name": name,
        "trimap": trimap_set,
        "shape": [h, w],
        "unknown": int(unknown.sum()),
        "image_read_diff": float(np.abs(read("image", (h, w, 3)) - image).max()),
        "trimap_read_diff": float(np.abs(read("trimap") - trimap).max()),
        "ku_toolbox": Path(f"{out}.ku").read_text().strip() == "1",
        "ku_vecmatte": not detect_highly_transparent(image, is_fg, is_bg),
    }
    for method, options in (("ifm", {"ku_confidence": "toolbox"}), ("cf", {})):
        ours = vecmatte.estimate_alpha(image, trimap, method=method, **options)
        theirs = read(method)
        diff = np.abs(ours - theirs)[unknown]
        record[f"{method}_toolbox"] = errors(theirs, truth, unknown)
        record[f"{method}_vecmatte"] = errors(ours, truth, unknown)
        record[f"{method}_diff"] = (float(diff.max()), float(diff.mean()))
    return record


def decompose(args, shim: Path, toolbox: Path, name: str, trimap_set: str) -> dict:
    """Where toolbox and vecmatte differ on one case, one cause at a time.

    Differences of alpha over the unknown pixels between successive solutions: the
    toolbox's pcg result and the exact solution of its system; that and the same system with
    vecmatte's local flow; that and the exact solution of the system made of vecmatte's
    flows and estimate; that and vecmatte's estimate_alpha (its CG). Also counted: where the
    pieces differ and whether the nearest-neighbour searches had exact ties at the cut.
    """
    import scipy.io
    import scipy.sparse
    from scipy.sparse.linalg import spsolve

    import vecmatte
    from vecmatte.alpha import ifm
    from vecmatte.laplacians import information_flow as flows

    folder = args.workdir / f"{name}-{trimap_set}-x{args.scale:g}"
    folder.mkdir(parents=True, exist_ok=True)
    image, trimap, _, image_path, trimap_path = prepare(
        args.data, name, trimap_set, args.scale, folder
    )
    steps = folder / "steps.mat"
    if not steps.exists():
        script = Template(STEPS_M).substitute(
            shim=shim, toolbox=toolbox, image=image_path, trimap=trimap_path, out=steps
        )
        run_octave(script, log=folder / "steps.log")
    saved = scipy.io.loadmat(steps)
    h, w = trimap.shape
    # Octave numbers pixels column by column, vecmatte row by row.
    order = np.arange(h * w).reshape(h, w, order="F").ravel()

    def vector(key: str) -> np.ndarray:
        return np.asarray(saved[key], dtype=np.float64).ravel(order="F")[order]

    def matrix(key: str):
        return scipy.sparse.csr_matrix(saved[key])[order][:, order]

    def solve(a, b) -> np.ndarray:
        return np.clip(spsolve(a.tocsc(), b), 0.0, 1.0)

    is_fg, is_bg = trimap > 0.8, trimap < 0.2
    known = is_fg | is_bg
    unknown = ~known.ravel()
    use_ku = bool(saved["useKU"].item())
    a, b = matrix("A"), vector("b")
    local = flows.local_flow(image, ~known, eps=1e-6, radius=1)
    mixture = (scipy.sparse.diags(unknown * 1.0) - flows.color_mixture_flow(image, ~known)).tocsr()
    intra = flows.intra_unknown_flow(image, ~known, k=5, xy_weight=0.05)
    ours = mixture.T @ mixture + local + 0.01 * flows.graph_laplacian(intra)
    ours = ours + scipy.sparse.diags(100.0 * known.ravel())
    rhs = 100.0 * is_fg.ravel()
    alpha_hat, confidence = ifm._known_to_unknown_estimate(image, is_fg, is_bg, "toolbox")
    if use_ku:
        ours = ours + scipy.sparse.diags(0.05 * confidence.ravel())
        rhs = rhs + 0.05 * confidence.ravel() * alpha_hat.ravel()
    solutions = [
        np.clip(vector("x_pcg"), 0.0, 1.0),
        np.clip(vector("x_direct"), 0.0, 1.0),
        solve(a - matrix("Lloc") + local, b),
        solve(ours, rhs),
        vecmatte.estimate_alpha(image, trimap, method="ifm", ku_confidence="toolbox").ravel(),
    ]
    steps_diff = [np.abs(x - y)[unknown] for x, y in itertools.pairwise(solutions)]

    def changed(theirs, mine) -> int:
        pattern = (theirs != 0).astype(np.int8) - (mine != 0).astype(np.int8)
        return int(np.count_nonzero(np.asarray(abs(pattern).sum(axis=1)).ravel()))

    near_border = np.ones((h, w), dtype=bool)
    near_border[2:-2, 2:-2] = False
    local_rows = abs(matrix("Lloc") - local).max(axis=1).toarray().ravel()
    patch_fg, patch_bg = ifm.patch_trimming(image, is_fg, is_bg, k=5)
    patch = vector("patchTrimmed").reshape(h, w)
    return {
        "case": f"{name} {trimap_set}",
        "ku": use_ku,
        "pcg": (
            int(saved["flag"].item()),
            float(saved["relres"].item()),
            int(saved["iter"].item()),
        ),
        "steps": [(float(d.max()), float(d.mean())) for d in steps_diff],
        "local_interior": float(local_rows[unknown & ~near_border.ravel()].max()),
        "local_border": float(local_rows[unknown & near_border.ravel()].max(initial=0.0)),
        "cm_rows": changed(matrix("Wcm"), flows.color_mixture_flow(image, ~known)),
        "iu_rows": changed(matrix("Wiu"), intra),
        "patch": int((((patch > 0.8) != patch_fg) | ((patch < 0.2) != patch_bg)).sum()),
        "alpha_hat": int((np.abs(vector("kToU") - alpha_hat.ravel())[unknown] > 1e-6).sum()),
        "unknown": int(unknown.sum()),
    }


def report(records: list[dict], meta: dict, parts: list[dict]) -> str:
    """The markdown report: what ran, per-case table, totals per trimap set."""
    lines = [
        "## vecmatte's ifm and cf against the authors' toolbox (Octave)",
        "",
        provenance.generated_line(meta["command"]),
        "",
        f"Machine: {provenance.machine_line()}.",
        "",
        f"- toolbox: yaksoy/AffinityBasedMattingToolbox at {meta['commit']}, "
        "`informationFlowMatting` with `getMattingParams('IFM')` and `closedFormMatting` with "
        "`getMattingParams('CF')`, inputs read with `imread` (as its demo.m; the functions "
        "apply `im2double`)",
        f"- {meta['versions']}; `knnsearch` and `imboxfilt` are this script's stand-ins "
        "(exact Euclidean neighbours by SciPy's cKDTree; window mean with replicated borders)",
        "- vecmatte: `estimate_alpha(image, trimap, method=M)` (ifm: `ku_confidence='toolbox'`); "
        f"cases not run (still missing from --workdir): {', '.join(meta['missing']) or 'none'}",
        f"- scale {meta['scale']} (image resized with a box filter, trimap nearest, truth box), "
        "8-bit PNG files read by both sides",
        f"- Octave's `im2double(imread(...))` vs `vecmatte.load_image` / `load_trimap`: max "
        f"|diff| {max(r['image_read_diff'] for r in records):.3g} (image), "
        f"{max(r['trimap_read_diff'] for r in records):.3g} (trimap)",
        "",
        "SAD = sum |alpha - truth| / 1000 and MSE over the trimap's unknown pixels; "
        "'diff' = max / mean |alpha_toolbox - alpha_vecmatte| over the same pixels. "
        "K-U: whether the known-to-unknown flow is used (toolbox / vecmatte).",
        "",
        "| image | trimap | unknown | K-U | SAD ifm tb | SAD ifm vm | SAD cf tb | SAD cf vm "
        "| MSE ifm tb | MSE ifm vm | MSE cf tb | MSE cf vm | ifm diff max / mean "
        "| cf diff max / mean |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    yes = {True: "y", False: "n"}
    for r in records:
        lines.append(
            f"| {r['name']} | {r['trimap']} | {r['unknown']} "
            f"| {yes[r['ku_toolbox']]}/{yes[r['ku_vecmatte']]} "
            + "".join(f"| {r[key][0]:.3f} " for key in SIDES)
            + "".join(f"| {r[key][1]:.5f} " for key in SIDES)
            + "".join(
                f"| {r[f'{m}_diff'][0]:.3f} / {r[f'{m}_diff'][1]:.5f} " for m in ("ifm", "cf")
            )
            + "|"
        )
    lines += [
        "",
        "## Totals (means over the images of each trimap set)",
        "",
        "| trimap | cases | SAD ifm tb | SAD ifm vm | SAD cf tb | SAD cf vm "
        "| ifm/cf SAD tb | ifm/cf SAD vm | MSE ifm tb | MSE ifm vm | MSE cf tb | MSE cf vm "
        "| ifm diff max / mean | cf diff max / mean |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for trimap_set in sorted({r["trimap"] for r in records}):
        group = [r for r in records if r["trimap"] == trimap_set]

        def mean(key, i, group=group):
            return float(np.mean([r[key][i] for r in group]))

        sad = {key: mean(key, 0) for key in SIDES}
        lines.append(
            f"| {trimap_set} | {len(group)} "
            + "".join(f"| {value:.3f} " for value in sad.values())
            + f"| {sad['ifm_toolbox'] / sad['cf_toolbox']:.3f} "
            + f"| {sad['ifm_vecmatte'] / sad['cf_vecmatte']:.3f} "
            + "".join(f"| {mean(key, 1):.5f} " for key in SIDES)
            + "".join(
                f"| {max(r[f'{m}_diff'][0] for r in group):.3f} / {mean(f'{m}_diff', 1):.5f} "
                for m in ("ifm", "cf")
            )
            + "|"
        )
    if parts:
        lines += [
            "",
            "## Where the ifm differences come from (--decompose)",
            "",
            "Max / mean |difference| of alpha over the unknown pixels between successive "
            "solutions: (1) the toolbox's pcg result vs the exact solution of its own system; "
            "(2) that vs the same system with vecmatte's local flow (the toolbox normalises each "
            "row by its number of windows, vecmatte divides by 9: they differ only within 2 px "
            "of the image border); (3) that vs the exact solution of the system built from "
            "vecmatte's flows and known-to-unknown estimate; (4) that vs "
            "`estimate_alpha(method='ifm')` (CG to rtol 1e-6). Then where the pieces differ: "
            "local-flow rows of unknown pixels (max |diff| inside / within 2 px of the border), "
            "unknown pixels whose colour-mixture or intra-unknown neighbours differ, pixels the "
            "patch trimming labels differently, pixels whose known-to-unknown estimate differs "
            "(> 1e-6).",
            "",
            "| case | K-U | toolbox pcg flag / relres / iter | (1) pcg | (2) local flow "
            "| (3) flows | (4) vecmatte CG | local rows inside / border | cm rows | iu rows "
            "| patch px | alpha_hat px | unknown |",
            "|---|---|---|---|---|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for part in parts:
            flag, relres, iterations = part["pcg"]
            lines.append(
                f"| {part['case']} | {'y' if part['ku'] else 'n'} "
                f"| {flag} / {relres:.2g} / {iterations} "
                + "".join(f"| {high:.3g} / {mean:.2g} " for high, mean in part["steps"])
                + f"| {part['local_interior']:.2g} / {part['local_border']:.2g} "
                f"| {part['cm_rows']} | {part['iu_rows']} | {part['patch']} "
                f"| {part['alpha_hat']} | {part['unknown']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--toolbox", type=Path, help="a checkout of the toolbox (default: mirror)")
    parser.add_argument("--images", default=",".join(NAMES), help="comma-separated names")
    parser.add_argument("--trimaps", nargs="+", default=list(TRIMAPS), choices=TRIMAPS)
    parser.add_argument("--scale", type=float, default=1.0, help="resize both sides' inputs")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ifm_toolbox"))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--decompose",
        nargs="*",
        default=[],
        metavar="NAME:TRIMAP",
        help="cases to take apart step by step (e.g. GT05:trimap)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="write the report from the cases already in --workdir, run nothing new",
    )
    args = parser.parse_args(argv)
    if shutil.which("octave-cli") is None:
        print(
            "ifm_toolbox.py: octave-cli is not on PATH; install GNU Octave with its image "
            "package (Debian: apt-get install octave octave-image) to run this comparison",
            file=sys.stderr,
        )
        return 1
    if not 0 < args.scale <= 1:
        raise fail(f"--scale must be in (0, 1], got {args.scale}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.toolbox is None:
        toolbox, commit = unpack_toolbox(args.workdir)
    else:
        toolbox = args.toolbox.resolve()
        head = subprocess.run(["git", "-C", toolbox, "rev-parse", "HEAD"], capture_output=True)
        commit = head.stdout.decode().strip() or "unknown (not a git checkout)"
    if not (toolbox / "informationFlowMatting.m").exists():
        raise fail(f"{toolbox} has no informationFlowMatting.m; pass a checkout of the toolbox")
    shim = write_shims(args.workdir)
    versions = octave_versions()
    cache = args.workdir / "cases.jsonl"
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            record = json.loads(line)
            if record.get("scale") == args.scale:
                done[record["name"], record["trimap"]] = record
    cases = [
        (name, trimap_set)
        for trimap_set in args.trimaps
        for name in args.images.split(",")
        if (name, trimap_set) not in done and not args.report_only
    ]

    def one(case):
        record = dict(run_case(args, shim, toolbox, *case), scale=args.scale)
        with cache.open("a") as file:
            file.write(json.dumps(record) + "\n")
        print(f"{case[0]} {case[1]}: ifm diff {record['ifm_diff']}", file=sys.stderr)
        return record

    with ThreadPoolExecutor(args.jobs) as pool:
        for record in pool.map(one, cases):
            done[record["name"], record["trimap"]] = record
    records = [
        done[name, trimap_set]
        for trimap_set in args.trimaps
        for name in args.images.split(",")
        if (name, trimap_set) in done
    ]
    meta = {
        "command": "python bench/ifm_toolbox.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "commit": commit,
        "versions": ", ".join(
            f"{name} {versions[name]}"
            for name in ("octave", "image", "statistics")
            if name in versions
        ),
        "missing": [
            f"{n} {t}" for t in args.trimaps for n in args.images.split(",") if (n, t) not in done
        ],
        "scale": args.scale,
    }
    parts = [decompose(args, shim, toolbox, *case.split(":")) for case in args.decompose]
    provenance.write_markdown(args.output, report(records, meta, parts))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
