"""Cost of the pre-training data check (speechbrain_ser/data/validation.py).

    python bench/validation_cost.py --data_folder ../shared/data/urdu

Prepares manifests of a class-folder corpus into a temporary folder, then
times the check three times: cold (no cache), warm (cache from the first
run) and cold again with every split decoded in full. Prints one JSON line.
"""

import argparse
import json
import os
import tempfile
import time

from speechbrain_ser.corpora.folder_prepare import prepare_class_folders
from speechbrain_ser.data.validation import validate_manifests


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data_folder", required=True)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    prepare_class_folders(args.data_folder, tmp)
    paths = {
        s: os.path.join(tmp, f"{s}.json") for s in ("train", "valid", "test")
    }
    report = {}
    for name, decode, cache in (
        ("cold", ("valid", "test"), "cache.json"),
        ("warm", ("valid", "test"), "cache.json"),
        ("cold_all_decoded", ("train", "valid", "test"), "other.json"),
    ):
        start = time.perf_counter()
        counts = validate_manifests(
            paths,
            data_folder=args.data_folder,
            task="classification",
            decode_splits=decode,
            cache_file=os.path.join(tmp, cache),
        )
        report[name] = {
            "seconds": round(time.perf_counter() - start, 3),
            **{
                k: counts[k]
                for k in ("utterances", "files_decoded", "cache_hits")
            },
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
