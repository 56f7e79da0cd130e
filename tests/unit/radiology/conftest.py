"""Shared fixtures: the BERT files are read once per test module (the slow part)."""

import pytest

from companion.radiology.train import text_backbone


@pytest.fixture(scope="module")
def backbone():
    tokenizer, bert = text_backbone(None)
    bert.encoder.layer = bert.encoder.layer[:1]  # one layer is enough to test the wiring
    return tokenizer, bert


@pytest.fixture(scope="module")
def tokens(backbone):
    tok = backbone[0](["The heart is enlarged.", "Lungs are clear. No pleural effusion."], padding="max_length",
                      max_length=16, truncation=True, return_tensors="pt")
    return tok["input_ids"], tok["attention_mask"]
