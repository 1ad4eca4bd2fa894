import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # The suite runs against a real cache (local memory or Redis): start each test empty.
    cache.clear()
    yield
