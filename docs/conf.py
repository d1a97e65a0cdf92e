"""Sphinx configuration of network3's site.

Pages are MyST Markdown, notebooks (stored without outputs) are executed by
myst-nb at every build, and the API reference is made from the numpydoc
docstrings.  ``sphinx-build -W docs docs/_build/html`` builds it; CI builds
it with warnings as errors (tests/test_docs.py).
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

project = "network3"
author = "Michael Nielsen (the book and network3.py); the network3 developers (this port)"
copyright = "2015 Michael Nielsen; 2026 the network3 developers"

extensions = [
    "myst_nb",                       # MyST Markdown pages and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "figures/*.md"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks are stored without outputs and executed at every build; a cell
# that raises fails the build.
nb_execution_mode = "force"
nb_execution_in_temp = True          # what the notebooks write stays out of docs/
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True

# The API reference: numpydoc's sections, no class-member tables made twice.
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = "network3"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
