"""Where data enters linearlab: file and array sources, validation, error locating, datasets."""
