"""The captions `snakemake --report` renders are clean reStructuredText (no warnings, no errors)."""

import io
from pathlib import Path

import pytest

docutils_core = pytest.importorskip("docutils.core")

REPORT = Path(__file__).resolve().parents[2] / "report"
CAPTIONS = sorted((REPORT / "captions").glob("*.rst")) + [REPORT / "workflow.rst"]


def test_there_are_captions():
    assert len(CAPTIONS) > 20


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda p: p.name)
def test_caption_parses_without_warnings(path):
    """Math such as |w| is an inline literal: bare, reStructuredText reads it as a substitution reference."""
    stream = io.StringIO()
    docutils_core.publish_doctree(path.read_text(), source_path=str(path),
                                  settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream})
    assert stream.getvalue() == ""
