"""Example-attribute-based prediction modulation (EAPM) for object detection (Wu et al., ICASSP 2022).

EAPM moves a prediction away from its target by a factor that depends on an example attribute
(difficulty for classification, gap-over-sum shape variation for box regression) and evaluates
the original loss, and its original gradient, at the moved prediction.
"""
