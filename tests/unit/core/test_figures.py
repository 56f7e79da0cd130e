"""core.figures.training_curves: one colour per run, one line style per key, rows without the key skipped."""

import pytest


def test_training_curves_one_colour_per_run_one_style_per_key_and_gaps_skipped():
    from companion.core.figures import training_curves

    history = [{"epoch": 1, "train_loss": 2.0}, {"epoch": 2, "train_loss": 1.5, "val_loss": 1.8},
               {"epoch": 3, "train_loss": 1.0, "val_loss": 1.2}]
    fig = training_curves({"a": history, "b": history[:2]}, keys=("train_loss", "val_loss"), logy=True)
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["a: train loss", "a: val loss", "b: train loss", "b: val loss"]
    assert lines[1].get_xdata().tolist() == [2, 3]  # epoch 1 has no validation loss
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert lines[0].get_linestyle() == "-" and lines[1].get_linestyle() == "--"
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="at most 4 keys"):
        training_curves({"a": history}, keys=("a", "b", "c", "d", "e"))
