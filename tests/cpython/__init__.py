"""CPython test_asyncio against aioeventlet (see run.py)."""
