"""Library behind the paper companion book.

Sub-packages
------------
core       seeding, devices, precision, the training loop, checkpoints, DDP
metrics    the evaluation toolkit shared by every chapter
book       profiles, the papermill runner, the results registry, the scorecard
<chapter>  one package per paper (data, models, losses, train, evaluate, figures)
"""

__version__ = "0.1.0"
