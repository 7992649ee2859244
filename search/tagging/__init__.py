"""Linear-probe tagging: classifiers trained on the stored, frozen embeddings.

One module per job: `labels` (where training labels come from), `fit` (scikit-learn training,
cross-validation, calibration), `store` (probes and manual tags in SQL), `train` (labels ->
stored probe), `apply` (score the collection, auto-tag new images), `query` (tag filters, one
image's tags, search within a tag), `export` (tags as CSV). See docs/TAGGING.md.
"""
