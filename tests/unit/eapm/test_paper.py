"""The paper's reported numbers (`companion.eapm.paper`)."""

import pytest


def test_paper_rows_follow_the_tables():
    from companion.eapm.paper import paper_row

    assert paper_row("RetinaNet", None)["AP"] == 35.6 and paper_row("RetinaNet", 2.0)["APl"] == 48.2
    assert paper_row("FCOS", 1.5)["APs"] == 22.3
    assert paper_row("Libra RetinaNet (mu=1.5)", 1.0)["AP"] == 38.4
    assert paper_row("Libra R-CNN", 1.5)["AP"] == 38.6
    assert paper_row("RetinaNet", 0.5) is None
    with pytest.raises(ValueError, match="unknown family"):
        paper_row("YOLO", None)


def test_full_profile_is_the_papers_schedule():
    from dataclasses import asdict

    from companion.book.profiles import resolve
    from companion.eapm.paper import SCHEDULE
    from companion.eapm.train import TrainConfig

    params = resolve("eapm", "03-training", "full")
    config = TrainConfig.from_params({k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__})
    assert {k: asdict(config)[k] for k in SCHEDULE} == SCHEDULE
    assert params["n_train"] > 1000 and params["threads"] == 0  # a GPU machine, not this CPU
