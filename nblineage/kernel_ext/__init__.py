"""The IPython extension: capture a notebook's dataset reads, transforms and model saves as lineage."""
