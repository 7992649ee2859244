"""Every table of the catalog, in one neutral package below all layers: Alembic's environment,
the 'models match migrations' test and every layer import the tables from here."""

from vitrieve.tables import calibrations, duplicates, index_builds, jobs, stacks, tagging
from vitrieve.tables.catalog import Base

metadata = Base.metadata

__all__ = [
    "Base",
    "calibrations",
    "duplicates",
    "index_builds",
    "jobs",
    "metadata",
    "stacks",
    "tagging",
]
