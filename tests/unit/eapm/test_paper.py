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
