"""Models that earn their place: the workload classifier, the demand forecaster and the price forecaster.

Pure and seeded: `train_*` / `predict_*` / `evaluate_*` functions take data frames and return models, frames and
metric tables, and do no I/O except the registry (`models.registry`), which saves and loads artifacts. See
docs/models.md for the measured figures.
"""
