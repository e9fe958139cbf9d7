"""Suite-wide set-up."""
import pytest

from lograd.fastpath import summarise_app_fast


@pytest.fixture(scope="session", autouse=True)
def compiled_scanners():
    """Compile the numba scanners once, before any test starts worker processes:
    a fresh checkout has no compiled cache yet, and every worker would compile its own."""
    summarise_app_fast(b"2024-01-24 10:15:32.123 INFO Request processed in 127ms cpu=5%\n")
