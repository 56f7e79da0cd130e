import numpy as np
import pytest
import torch

from companion.radiology.evaluate import finding_agreement, most_frequent_report, random_reports, retrieve
from companion.radiology.paper import REPORTED, TABLE1


def test_retrieve_picks_nearest_and_validates():
    cand = torch.eye(3)
    query = torch.tensor([[0.1, 0.9, 0.0], [1.0, 0.0, 0.2]])
    assert list(retrieve(query, cand)) == [1, 0]
    with pytest.raises(ValueError):
        retrieve(query, torch.eye(4))


def test_baselines():
    reports = ["a", "b", "b", "c", "a", "b"]
    assert most_frequent_report(reports, 3) == ["b", "b", "b"]
    # counted after R2Gen cleaning: case and punctuation do not split a report; ties go to the first seen
    from companion.radiology.evaluate import most_frequent_report_info, normal_template_report

    info = most_frequent_report_info(["No effusion.", "Cardiomegaly.", "no effusion", "cardiomegaly."])
    assert info == {"report": "No effusion.", "count": 2, "tied": 2, "distinct": 2, "n": 4}
    template = normal_template_report(["The heart is normal. The lungs are clear. Small effusion.",
                                       "The heart is normal. No pneumothorax. Cardiomegaly."])
    assert template.startswith("The heart is normal.") and "effusion" not in template.lower()
    assert "pneumothorax" in template.lower() and "cardiomegaly" not in template.lower()
    r = random_reports(reports, 50, seed=1)
    assert r == random_reports(reports, 50, seed=1) and set(r) <= set(reports)
    with pytest.raises(ValueError):
        most_frequent_report([], 2)


def test_most_frequent_finding_report():
    from companion.radiology.data import label_findings
    from companion.radiology.evaluate import image_blind_systems, most_frequent_finding_report

    train = ["Lungs are clear.", "The heart is enlarged. Lungs are clear.", "Calcified granuloma in the right lung.",
             "The heart is enlarged.", "Cardiomegaly. Small left pleural effusion."]
    report = most_frequent_finding_report(train)
    assert label_findings([report]) == [frozenset({"cardiomegaly"})] and report == train[1]
    systems = image_blind_systems(train, 3)
    assert systems["most frequent finding report"] == [report] * 3 and len(systems) == 4
    with pytest.raises(ValueError, match="asserts any finding"):
        most_frequent_finding_report(["Lungs are clear.", "No acute disease."])
    with pytest.raises(ValueError, match="no training reports"):
        most_frequent_finding_report([])


def test_finding_agreement():
    out = finding_agreement([[], ["nodule"], ["cardiomegaly"]], [[], ["cardiomegaly"], ["cardiomegaly"]])
    assert out["normal_abnormal_agreement"] == 1.0
    assert out["exact_findings_agreement"] == pytest.approx(2 / 3)


def test_paper_numbers_point_at_registry_metrics():
    table1 = [n for n in REPORTED if n.source == "Table 1"]
    assert [n.value for n in table1] == list(TABLE1["Proposed method"])
    assert all(n.ours.startswith("radiology/") and ":" in n.ours for n in REPORTED)


def test_corpus_bleu_from_statistics_matches_coco_caption_and_bootstraps():
    import numpy as np
    from pycocoevalcap.bleu.bleu import Bleu

    from companion.metrics.nlg import clean_report
    from companion.radiology.evaluate import bleu_statistics, corpus_bleu, corpus_bleu_intervals

    refs = ["The heart is normal in size. No pleural effusion. XXXX granuloma.", "Lungs are clear.",
            "Cardiomegaly. Small left effusion.", "No acute disease. Heart size normal.", "Right apical pneumothorax."]
    hyps = ["Heart size is normal. No effusion.", "The lungs are clear. No pneumothorax.",
            "Heart is enlarged. Effusion on the left.", "Normal heart.", "There is a right pneumothorax."]
    stats = bleu_statistics(refs, hyps)
    for subset in ([0, 1, 2, 3, 4], [1, 3], [2, 2, 4, 0]):  # a resample may repeat studies
        expected, _ = Bleu(4).compute_score({i: [clean_report(refs[j])] for i, j in enumerate(subset)},
                                            {i: [clean_report(hyps[j])] for i, j in enumerate(subset)}, verbose=0)
        np.testing.assert_allclose(corpus_bleu(stats[subset]), expected, rtol=1e-9)
    intervals = corpus_bleu_intervals(refs, hyps, n_boot=300, seed=1)
    point = corpus_bleu(stats)
    for k in range(4):
        low, high = intervals[f"BLEU_{k + 1}"]
        assert low <= point[k] <= high and low < high
    assert intervals == corpus_bleu_intervals(refs, hyps, n_boot=300, seed=1)
    with pytest.raises(ValueError, match="hypotheses"):
        bleu_statistics(refs, hyps[:-1])


def test_checkpoint_holds_trainable_weights_and_retrieval_embeds_candidates_text_only(tmp_path):
    from companion.core import load_checkpoint
    from companion.radiology.synthetic import make_synthetic
    from companion.radiology.evaluate import embed, retrieve, run_retrieval
    from companion.radiology.train import TrainConfig, train

    root = make_synthetic(tmp_path / "iu", 16, 48, seed=0)
    config = TrainConfig(vision_trunk="densenet-small", text_layers=1, n_prompts=2, image_size=48, max_length=24,
                         epochs=1, batch_size=4)
    model, _, datasets = train(config, root, device="cpu", checkpoint_dir=tmp_path / "ck", progress=False)
    [path] = [p for p in (tmp_path / "ck").glob("*.pt") if not p.name.endswith(".best.pt")]
    saved = load_checkpoint(path)
    bert = {f"text.backbone.{n}" for n, _ in model.text.backbone.named_parameters()}
    assert bert and bert.isdisjoint(saved["model"]) and set(saved["frozen"]["names"]) == bert
    # a rebuilt model resumes from the file (nothing left to train) and has the same weights
    again, result, _ = train(config, root, device="cpu", checkpoint_dir=tmp_path / "ck", datasets=datasets,
                             progress=False)
    assert result.resumed_from_epoch == 1
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name

    train_set, test = datasets["train"], datasets["test"]
    full_image, full_text = embed(model, train_set)
    no_image, text_only = embed(model, train_set, parts=("text",))
    assert no_image is None and torch.allclose(text_only, full_text, atol=1e-6)
    image_only, no_text = embed(model, train_set, parts=("image",))
    assert no_text is None and torch.allclose(image_only, full_image, atol=1e-6)
    with pytest.raises(ValueError, match="parts"):
        embed(model, train_set, parts=("audio",))
    out = run_retrieval(model, datasets)
    test_image, _ = embed(model, test)
    assert list(out["retrieved_index"]) == list(retrieve(test_image, full_text))
    assert out["retrieved"] == [train_set.reports[j] for j in out["retrieved_index"]]


def test_per_report_means_uses_given_scores_and_shared_resamples(monkeypatch):
    import companion.metrics.nlg as nlg
    from companion.radiology.evaluate import NLG_KEYS, per_report_means

    monkeypatch.setattr(nlg, "score_systems", lambda *a, **k: pytest.fail("scores were given: no rescoring"))
    refs = ["r0", "r1", "r2", "r3"]
    per = {"a": np.array([0.0, 1.0, 0.0, 1.0]), "b": np.array([0.2, 0.2, 0.2, 0.2])}
    scored = {name: ({}, {k: v * (i + 1) for i, k in enumerate(NLG_KEYS)}) for name, v in per.items()}
    table = per_report_means(refs, {"a": ["x"] * 4, "b": ["y"] * 4}, n_boot=200, seed=1, scored=scored)
    assert table.loc["a", "BLEU_1"] == pytest.approx(0.5) and table.loc["a", "BLEU_2"] == pytest.approx(1.0)
    assert table.loc["b", "CIDEr"] == pytest.approx(0.2 * len(NLG_KEYS))
    assert table.loc["a", "BLEU_1_low"] < 0.5 < table.loc["a", "BLEU_1_high"]
    assert table.loc["b", "BLEU_1_low"] == pytest.approx(0.2) == table.loc["b", "BLEU_1_high"]
    with pytest.raises(ValueError, match="no entry"):
        per_report_means(refs, {"c": ["z"] * 4}, scored=scored)
    with pytest.raises(ValueError, match="3 reports for 4"):
        per_report_means(refs, {"a": ["x"] * 3}, scored=scored)


def test_per_report_cider_of_each_system_is_its_own_corpus_cider(monkeypatch):
    # Scoring all systems in one call over repeated references would change CIDEr's idf for
    # n-grams that no reference contains (log N becomes log kN); each system is scored alone.
    from contextlib import nullcontext

    from pycocoevalcap.cider.cider import Cider

    import companion.metrics.nlg as nlg
    from companion.radiology.evaluate import per_report_means

    monkeypatch.setattr(nlg, "_meteor_scorer", nullcontext)  # no JVM: METEOR is not under test here
    monkeypatch.setattr(nlg, "_meteor", lambda gts, res, scorer=None: (0.0, [0.0] * len(gts)))
    refs = ["the heart is normal .", "no pleural effusion .", "lungs are clear ."]
    systems = {"a": ["the heart is enlarged .", "no effusion seen .", "lungs are clear ."],
               "b": ["a nodule .", "the heart is normal .", "granuloma ."]}
    table = per_report_means(refs, systems)

    def cleaned(texts):
        return {i: [nlg.clean_report(t)] for i, t in enumerate(texts)}

    for name, hyps in systems.items():
        alone, _ = Cider().compute_score(cleaned(refs), cleaned(hyps))
        assert table.loc[name, "CIDEr"] == pytest.approx(alone, rel=1e-12), name


def _ablation_rows(bleu, train, val):
    import pandas as pd

    rows = []
    for run in bleu:
        for seed, (b, t, v) in enumerate(zip(bleu[run], train[run], val[run])):
            rows.append({"run": run, "seed": seed, "finding_f1": b, "final_train_loss": t, "final_val_loss": v})
    return pd.DataFrame(rows)


def test_ablation_claims_follow_the_evidence():
    from companion.radiology.evaluate import ablation_claims

    bleu = {"proposed": [0.20, 0.22, 0.21], "plain": [0.10, 0.13, 0.11], "frozen": [0.1] * 3,
            "finetune": [0.15, 0.16, 0.14]}
    train = {"proposed": [1.0, 1.1, 1.0], "plain": [1.2] * 3, "frozen": [3.0, 3.1, 3.0], "finetune": [0.2] * 3}
    val = {"proposed": [1.5, 1.6, 1.5], "plain": [1.7] * 3, "frozen": [3.1] * 3, "finetune": [2.5] * 3}
    bleu["data_25"], train["data_25"], val["data_25"] = [0.15, 0.16, 0.17], [1.0] * 3, [1.5] * 3
    table = ablation_claims(_ablation_rows(bleu, train, val), baseline_f1=0.1, ceiling_f1=0.2)
    assert list(table["holds"]) == [True, True, True, True, True]
    assert list(table["key"]) == ["modified_beats_plain", "frozen_does_not_converge", "finetune_overfits",
                                  "prompts_beat_finetune", "limited_data"]
    assert "0.18 vs 0.07" in table.loc[0, "paper"]
    # without the baseline and the ceiling the limited-data claim cannot be decided: left out
    assert "limited_data" not in list(ablation_claims(_ablation_rows(bleu, train, val))["key"])

    bleu["plain"] = [0.21, 0.20, 0.23]       # plain as good as proposed
    train["frozen"] = [0.9, 1.2, 1.0]       # frozen converges in one seed
    val["finetune"] = [0.6, 0.6, 0.6]       # no overfitting
    bleu["finetune"] = [0.22, 0.23, 0.22]   # and generalises as well as prompts
    bleu["data_25"] = [0.12, 0.13, 0.14]    # a quarter of the data closes less than half the gap
    assert not ablation_claims(_ablation_rows(bleu, train, val), baseline_f1=0.1, ceiling_f1=0.2)["holds"].any()


def test_ablation_claims_without_seeds_or_runs():
    from companion.radiology.evaluate import ablation_claims

    one_seed = _ablation_rows({"proposed": [0.3], "plain": [0.1]}, {"proposed": [1.0], "plain": [1.0]},
                              {"proposed": [1.0], "plain": [1.0]})
    table = ablation_claims(one_seed)
    assert len(table) == 1 and not table.loc[0, "holds"] and "no t-test" in table.loc[0, "this run"]
    with pytest.raises(ValueError, match="no 'proposed'"):
        ablation_claims(one_seed[one_seed.run == "plain"])
    with pytest.raises(ValueError, match="lacks columns.*finding_f1"):
        ablation_claims(one_seed.drop(columns="finding_f1"))


def test_score_table_headroom_and_claims(monkeypatch):
    """score_table on hand-made systems: perfect, never-abnormal; headroom and claims follow."""
    import pandas as pd

    from companion.metrics import nlg
    from companion.radiology import evaluate as ev

    refs = ["Mild cardiomegaly. Lungs clear.", "Lungs clear.", "Small left pleural effusion.", "Lungs clear."] * 10
    systems = {"ours": list(refs), "blind": ["Lungs clear."] * len(refs), "oracle": list(refs)}

    def fake_score_systems(references, systems, clean=True):  # no JVM in the unit test
        out = {}
        for name, hyps in systems.items():
            each = {"ROUGE_L": np.array([1.0 if h == r else 0.5 for h, r in zip(hyps, references)])}
            out[name] = ({"METEOR": 0.3}, each)
        return out

    monkeypatch.setattr(nlg, "score_systems", fake_score_systems)
    scores = ev.score_table(refs, systems, n_boot=50, seed=0)
    assert scores.loc["ours", "finding_f1"] == 1.0 and scores.loc["blind", "finding_f1"] == 0.0
    assert scores.loc["blind", "normal_agreement"] == pytest.approx(0.5)
    assert scores.loc["ours", "BLEU_4"] > scores.loc["blind", "BLEU_4"]
    assert scores.loc["ours", "BLEU_4_low"] <= scores.loc["ours", "BLEU_4"] <= scores.loc["ours", "BLEU_4_high"]
    head = ev.headroom_table(scores, ours="ours", baselines=["blind"], ceiling="oracle")
    assert head.attrs["best_baseline"] == "blind" and head.attrs["gap_closed"] == pytest.approx(1.0)
    diff, low, high = ev.paired_f1_difference(scores, "ours", "blind")
    assert diff == 1.0 and low > 0
    real = scores.loc[["blind"]]
    claims = ev.claims_table(scores.drop(index="oracle"), real, profile="smoke", ours="ours",
                             ablation={"claim_modified_beats_plain": 1.0})
    assert list(claims.columns) == ["claim", "paper", "this run", "criterion", "holds"]
    assert claims.loc[0, "holds"] is True
    assert "not testable here" in list(claims["holds"]) and "not run in this profile" in list(claims["holds"])
    table = ev.table1({"ours": scores.loc["ours"].to_dict()})
    assert list(table.columns) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "METEOR"]
    assert table.loc["paper: Proposed method", "BLEU-1"] == "0.48" and table.loc["ours", "METEOR"] == "0.300"
    assert isinstance(table, pd.DataFrame)


def test_plain_claim_by_paired_bootstrap_over_studies_with_one_seed():
    from companion.radiology.evaluate import ablation_claims

    truth = [{"nodule"}, set(), {"cardiomegaly"}, set()] * 30
    good = list(truth)
    bad = [set()] * len(truth)
    rows = _ablation_rows({"proposed": [1.0], "plain": [0.0]}, {"proposed": [1.0], "plain": [1.0]},
                          {"proposed": [1.0], "plain": [1.0]})
    table = ablation_claims(rows, findings={("proposed", 0): good, ("plain", 0): bad}, truth=truth, n_boot=100)
    assert table.loc[0, "holds"] and "paired bootstrap" in table.loc[0, "this run"]
    table = ablation_claims(rows, findings={("proposed", 0): bad, ("plain", 0): good}, truth=truth, n_boot=100)
    assert not table.loc[0, "holds"]


def test_frozen_claim_against_chance():
    from companion.radiology.evaluate import ablation_claims

    rows = _ablation_rows({"proposed": [0.8], "frozen": [0.5]}, {"proposed": [1.0], "frozen": [1.5]},
                          {"proposed": [1.2], "frozen": [1.6]})
    # trains slower than the prompt-tuned model, but far below chance: it converged
    assert not ablation_claims(rows, chance_loss=2.77)["holds"].iloc[0]
    assert ablation_claims(rows)["holds"].iloc[0]  # the weaker reading without chance
    stuck = _ablation_rows({"proposed": [0.8], "frozen": [0.1]}, {"proposed": [1.0], "frozen": [2.7]},
                           {"proposed": [1.2], "frozen": [2.7]})
    assert ablation_claims(stuck, chance_loss=2.77)["holds"].iloc[0]


def test_ablation_claims_paired_over_seeds_and_same_data_finetune():
    """Two seeds with test-study findings: the plain claim needs the bootstrap interval above 0 AND a win in
    every seed; fine-tuning on a quarter of the data is compared with prompts on the same quarter."""
    from companion.radiology.evaluate import ablation_claims

    truth = [{"nodule"}, set(), {"cardiomegaly"}, set()] * 30
    good, bad = list(truth), [set()] * len(truth)
    half = [t if i % 2 else set() for i, t in enumerate(truth)]
    runs = {"proposed": [0.9, 0.8], "plain": [0.1, 0.85], "data_25": [0.5, 0.5], "finetune_25": [0.2, 0.3]}
    rows = _ablation_rows(runs, {k: [1.0, 1.0] for k in runs},
                          {"proposed": [1.2, 1.2], "plain": [1.2, 1.2], "data_25": [1.3, 1.3], "finetune_25": [2.0, 1.9]})
    findings = {("proposed", 0): good, ("proposed", 1): half, ("plain", 0): bad, ("plain", 1): good,
                ("data_25", 0): good, ("data_25", 1): good, ("finetune_25", 0): bad, ("finetune_25", 1): half}
    table = ablation_claims(rows, findings=findings, truth=truth, n_boot=100).set_index("key")
    # seed 1: plain ahead (0.85 > 0.8), so the claim fails although the pooled interval may sit above 0
    assert not table.loc["modified_beats_plain", "holds"] and "per seed" in table.loc["modified_beats_plain", "this run"]
    assert "finetune_25 vs data_25" in table.loc["finetune_overfits", "this run"]
    assert table.loc["finetune_overfits", "holds"] and table.loc["prompts_beat_finetune", "holds"]
    rows.loc[(rows.run == "plain") & (rows.seed == 1), "finding_f1"] = 0.5
    findings["plain", 1] = half
    table = ablation_claims(rows, findings=findings, truth=truth, n_boot=100).set_index("key")
    assert table.loc["modified_beats_plain", "holds"]
