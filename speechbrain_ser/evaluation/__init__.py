"""How good is a recipe: cross-validation, linear probes, hyperparameter
search, ensembles and t-SNE pictures of learned representations."""
