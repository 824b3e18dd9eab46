"""The Dagster code location of the election (`dagster job execute -m election_assets -j ...`)."""

from election_assets.definitions import defs

__all__ = ["defs"]
