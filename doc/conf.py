"""Sphinx configuration of the skbm documentation."""

import os
import warnings

import skbm

project = "skbm"
author = "The skbm developers"
copyright = "2025, The skbm developers"
version = skbm.__version__
release = skbm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# Autosummary writes one page per public name into gen_modules/ (gitignored).
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"

# numpydoc renders the Parameters / Attributes / Examples sections; the class
# template lists the methods, so numpydoc does not add a second member table.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

# One thread per example, as on the 2-core machines the gallery is timed on.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("skbm",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skbm": None},
    "remove_config_comments": True,
    "show_memory": False,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "min_reported_time": 0,
    "write_computation_times": False,
}

# Matplotlib runs without a display.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg",
)

html_theme = "pydata_sphinx_theme"
html_title = f"skbm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
html_show_sourcelink = False


# ----------------------------------------------------------------------------
# Benchmark results
# ----------------------------------------------------------------------------
# benchmarks.rst includes gen_modules/benchmark_results.inc, written here from
# what benchmarks/ holds at build time: benchmarks/results.rst if present, a
# table per JSON file written by ``bench_*.py --json``, and every PNG figure.
# Missing results give a note instead of a broken include, so the build stays
# clean with -W before the benchmarks have been run.
def _write_benchmark_results():
    import glob
    import json

    here = os.path.dirname(os.path.abspath(__file__))
    bench = os.path.join(here, "..", "benchmarks")
    out_dir = os.path.join(here, "gen_modules")
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    notes = os.path.join(bench, "results.rst")
    if os.path.isfile(notes):
        lines += [".. include:: /../benchmarks/results.rst", ""]
    for path in sorted(glob.glob(os.path.join(bench, "*.json"))):
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        name = os.path.basename(path)
        for section, rows in data.items() if isinstance(data, dict) else []:
            if not (isinstance(rows, list) and rows and "median_seconds" in rows[0]):
                continue
            columns = list(rows[0]["median_seconds"])
            ratios = [k for k in rows[0] if " / " in k]
            lines += [
                f".. list-table:: ``benchmarks/{name}``, {section}: median "
                "seconds and ratios",
                "   :header-rows: 1",
                "",
                "   * - workload",
            ]
            lines += [f"     - {c} (s)" for c in columns]
            lines += [f"     - {r}" for r in ratios]
            for row in rows:
                lines.append(f"   * - {row['workload']}")
                lines += [f"     - {row['median_seconds'][c]:.3f}" for c in columns]
                lines += [f"     - {row[r]:.2f}" for r in ratios]
            lines.append("")
    for path in sorted(glob.glob(os.path.join(bench, "*.png"))):
        name = os.path.basename(path)
        lines += [
            f".. figure:: /../benchmarks/{name}",
            "   :width: 90%",
            "",
            f"   ``benchmarks/{name}``",
            "",
        ]
    if not lines:
        lines = [
            ".. note::",
            "",
            "   No benchmark results have been recorded in ``benchmarks/`` yet.",
            "",
        ]
    text = "\n".join(lines) + "\n"
    target = os.path.join(out_dir, "benchmark_results.inc")
    if not os.path.isfile(target) or open(target).read() != text:
        with open(target, "w") as f:
            f.write(text)


_write_benchmark_results()
