"""Reference vectors for companion.metrics.nlg, generated once with pycocoevalcap's scorers.

    cd tests/unit/metrics/reference && PYTHONPATH=../../../../lib python make_coco_vectors.py

Writes ``coco_caption.json``: IU X-ray-style report pairs (raw), their R2Gen-cleaned form and the
corpus and per-report scores of pycocoevalcap's Bleu(4), Meteor, Rouge and Cider called directly
on the cleaned strings (no PTB tokenizer). The tests compare `score_reports` with these numbers,
so a change of pycocoevalcap, of its jar, or of our pipeline shows up as a failure.
"""

import json

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge

from companion.metrics.nlg import clean_report

PAIRS = [
    ("The heart is normal in size. The mediastinum is unremarkable. The lungs are clear.",
     "The heart size is normal. The lungs are clear. No pneumothorax."),
    ("Heart size and mediastinal contour are normal. No pneumothorax or pleural effusion. 1. No acute disease.",
     "The heart is normal. No pleural effusion or pneumothorax."),
    ("Cardiomegaly. Small bilateral pleural effusions. No pneumothorax.",
     "Heart size is enlarged. Small right pleural effusion."),
    ("The lungs are clear bilaterally. Specifically, no evidence of focal consolidation, pneumothorax, or pleural "
     "effusion.. Cardio mediastinal silhouette is unremarkable. Visualized osseous structures of the thorax are "
     "without acute abnormality.",
     "The lungs are clear. No focal consolidation, pneumothorax, or pleural effusion. The cardiomediastinal "
     "silhouette is unremarkable."),
    ("1. No acute cardiopulmonary abnormality. 2. Stable calcified granuloma in the right upper lobe.",
     "No acute cardiopulmonary abnormality."),
    ("Mild degenerative changes of the thoracic spine. Heart size normal. XXXX sternotomy wires.",
     "Heart size is normal. Degenerative changes of the spine. No acute bony abnormality."),
    ("Low lung volumes. Bibasilar atelectasis. Heart size within normal limits (2.5 cm).",
     "Lung volumes are low. There is bibasilar atelectasis. The heart is normal in size."),
    ("Compression deformity of T11. No pneumothorax. Lungs are hyperexpanded.",
     "The lungs are hyperexpanded. No pneumothorax or effusion."),
    ("The cardiac silhouette is enlarged. Pulmonary vascular congestion: mild. Interstitial edema.",
     "Cardiomegaly with mild pulmonary edema."),
    ("No active disease.", "No acute disease."),
    ("Right upper lobe opacity, concerning for pneumonia. Follow-up recommended.",
     "Right lower lobe opacity may represent pneumonia."),
    ("Normal chest x-XXXX.", "Normal chest radiograph."),
]


def main():
    refs = [clean_report(r) for r, _ in PAIRS]
    hyps = [clean_report(h) for _, h in PAIRS]
    gts = {i: [r] for i, r in enumerate(refs)}
    res = {i: [h] for i, h in enumerate(hyps)}
    corpus, each = {}, {}
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    for n in range(4):
        corpus[f"BLEU_{n + 1}"], each[f"BLEU_{n + 1}"] = bleu[n], list(bleu_each[n])
    meteor = Meteor()
    corpus["METEOR"], each["METEOR"] = meteor.compute_score(gts, res)
    rouge, rouge_each = Rouge().compute_score(gts, res)
    corpus["ROUGE_L"], each["ROUGE_L"] = float(rouge), [float(v) for v in rouge_each]
    cider, cider_each = Cider().compute_score(gts, res)
    corpus["CIDEr"], each["CIDEr"] = float(cider), [float(v) for v in cider_each]
    out = {"generator": "make_coco_vectors.py", "pycocoevalcap": "1.2",
           "raw": [{"reference": r, "hypothesis": h} for r, h in PAIRS],
           "clean_references": refs, "clean_hypotheses": hyps, "corpus": corpus, "each": each}
    with open("coco_caption.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
