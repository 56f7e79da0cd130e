"""Zero-shot cross-lingual image retrieval (Aggarwal & Kale, 2020): a small MLP maps frozen
multilingual sentence embeddings onto frozen ImageNet image features, trained on English only
with the M3L or PATR loss, and retrieves images from captions in eleven languages (XTD10)."""
