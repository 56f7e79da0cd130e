import pytest

from companion.radiology.throughput import compare_vision_encoders, vision_throughput


def test_vision_throughput_reports_positive_rates_for_both_encoders():
    table = compare_vision_encoders(("modified", "plain"), trunk="densenet-small", image_size=32, batch_size=2,
                                    device="cpu", steps=1, warmup=0)
    assert list(table.index) == ["modified", "plain"]
    assert (table["train_images_per_s"] > 0).all() and (table["infer_images_per_s"] > 0).all()
    # the modified head adds the multi-scale branches, attention and mixing on top of the same trunk
    assert table.loc["modified", "params"] > table.loc["plain", "params"]
    assert set(table["precision"]) == {"fp32"} and not table["channels_last"].any()


def test_vision_throughput_validates_its_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        vision_throughput("plain", trunk="densenet-small", image_size=32, batch_size=1, device="cpu")
    with pytest.raises(ValueError, match="image_size"):
        vision_throughput("plain", trunk="densenet-small", image_size=16, batch_size=2, device="cpu")
    with pytest.raises(ValueError, match="kind"):
        vision_throughput("resnet", trunk="densenet-small", image_size=32, batch_size=2, device="cpu", steps=1)


def test_benchmark_script_prints_a_row_per_encoder(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "radiology_throughput.py"
    spec = importlib.util.spec_from_file_location("radiology_throughput", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.main(["--device", "cpu", "--trunk", "densenet-small", "--image-size", "32", "--batch-size", "2",
                         "--steps", "1", "--warmup", "0"])
    out = capsys.readouterr().out
    assert "load average" in out and "modified" in out and "plain" in out
    assert len(table) == 2
