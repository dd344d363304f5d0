#!/usr/bin/env python3
"""Trains the model that an hparams file describes.

    python train.py hparams/demo.yaml
    python train.py hparams/<file>.yaml --data_folder=... --output_folder=...

The YAML names the data preparation, the dataset pipelines and the Brain;
see ``speechbrain_ser/run.py``.
"""

import sys

from speechbrain_ser.run import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
