"""Every table of the catalog, for Alembic and for the 'models match migrations' test.

Importing this module registers all ORM classes on `Base.metadata`.
"""

from indexer import models_dups, models_index, models_jobs, models_tags  # noqa: F401
from indexer.models import Base

metadata = Base.metadata
