"""Chapter 1: CLIP-style radiology report generation by retrieval.

A prompt-tuned (frozen) BERT and an attention-augmented DenseNet121 are trained contrastively on
chest X-ray/report pairs; a test image's report is the nearest training report (IU X-ray, Table 1).
"""
