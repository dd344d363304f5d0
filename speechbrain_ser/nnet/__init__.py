"""Neural network building blocks for speech emotion recognition."""
