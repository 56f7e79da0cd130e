"""The evaluation toolkit: one metric family per module, shared by every chapter.

roc        ROC AUC, DeLong variance / CI / paired test (fast midrank), bootstrap CIs (paper 2)
nlg        R2Gen report cleaning and BLEU/METEOR/ROUGE-L/CIDEr via pycocoevalcap (paper 1)
detection  COCO bbox AP via faster-coco-eval / pycocotools (paper 4)
retrieval  Recall@K for image-text retrieval (papers 1 and 3)
color      colour-transfer measures: distribution distances, SSIM, CIEDE2000, colourfulness (paper 5)

Import the module you need, e.g. ``from companion.metrics.roc import delong_test``.
"""
