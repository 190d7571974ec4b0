"""Local text generation backends and the bundled default models."""
