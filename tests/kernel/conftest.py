"""Fixtures of the kernel tests: a fresh capture, active with the instrumentors the test module names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from hooktools import capturing

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture


@pytest.fixture
def capture(request: pytest.FixtureRequest) -> Iterator[Capture]:
    """A fresh capture, active with the test module's ``INSTRUMENTORS`` installed; everything undone afterwards."""
    with capturing(getattr(request.module, "INSTRUMENTORS", ())) as active:
        yield active


@pytest.fixture
def fresh_error_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the first-failure warning of a hook afresh."""
    monkeypatch.setattr(safety, "errors", Counter())
