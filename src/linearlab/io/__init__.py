"""Files a model leaves: the atomic writer of every output, model files written and read back."""
