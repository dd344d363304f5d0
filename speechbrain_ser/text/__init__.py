"""Text helpers: transcript normalisation and tokenisation."""
