#!/usr/bin/env bash
# The compose jobs, run inside the trainer image as `rarft-job <job> [extra args for the rarft command]`.
#
# Layout on the named volumes (docker-compose.yml):
#   /data/outputs/data      benchmark (rarft data)          /data/registry/v0-semantic   retriever v0
#   /data/outputs/policy    warm-started policy             /data/registry/v1-distilled  distilled retriever
#   /data/outputs/labels    gold-relevance labels           /data/outputs/runs/...       training runs, eval
# Every step is skipped when its output exists, so a rerun (or a restarted `up`) resumes the study.
set -euo pipefail

OUT="${RARFT_OUTPUTS:-/data/outputs}"
REG="${RARFT_REGISTRY:-/data/registry}"
URL="${RARFT_RETRIEVAL_URL:-http://retrieval:8000}"
DATA="$OUT/data"; POLICY="$OUT/policy"; LABELS="$OUT/labels/labels.parquet"
V0="${RARFT_V0:-v0-semantic}"; V1="${RARFT_V1:-v1-distilled}"
# Extra arguments per stage (word-split on purpose), e.g. RARFT_TRAIN_ARGS="--max-steps 20".
DATA_ARGS="${RARFT_DATA_ARGS:-}"; POLICY_ARGS="${RARFT_POLICY_ARGS:-}"; LABEL_ARGS="${RARFT_LABEL_ARGS:-}"
DISTILL_ARGS="${RARFT_DISTILL_ARGS:-}"; TRAIN_ARGS="${RARFT_TRAIN_ARGS:---max-steps 20}"; EVAL_ARGS="${RARFT_EVAL_ARGS:---k 4}"

say() { printf '[rarft-job %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
done_or() { if [[ -e "$1" ]]; then say "skip: $1 exists"; return 1; fi; }

init() {
    done_or "$DATA/manifest.json" && { say "building the benchmark"; rarft data --out "$DATA" $DATA_ARGS; }
    done_or "$POLICY/rarft_policy.json" && { say "warm-starting the policy"; rarft init-policy --data "$DATA" --out "$POLICY" $POLICY_ARGS; }
    done_or "$REG/$V0/manifest.json" && { say "building retriever $V0"; rarft build-retriever --bank "$DATA/bank.jsonl" --out "$REG/$V0"; }
    say "init done"
}

label() {
    mkdir -p "$(dirname "$LABELS")"
    done_or "$LABELS" && { say "labelling demonstrations by reasoning benefit"; rarft label --policy "$POLICY" --data "$DATA" --retriever "$REG/$V0" --out "$LABELS" $LABEL_ARGS "$@"; }
    return 0
}

distill() {
    done_or "$REG/$V1/manifest.json" && { say "distilling $V1"; rarft distill --labels "$LABELS" --data "$DATA" --parent "$REG/$V0" --out "$REG/$V1" $DISTILL_ARGS "$@"; }
    return 0
}

deploy() {  # hot-deploy V1 through the admin route (token from RARFT_ADMIN_TOKEN); with URL1,URL2 waits for every replica
    say "deploying $V1 to $URL"
    rarft deploy --url "$URL" load "$V1"
    rarft deploy --url "$URL" promote "$V1"
    rarft deploy --url "$URL" status
}

study() {  # the embedded-default study: label -> distill -> hot-deploy -> RA-RFT training -> evaluation
    label; distill; deploy
    local run="$OUT/runs/ra-rft"
    # rarft train saves the final model at the top of its output dir (checkpoints go to checkpoint-N/).
    done_or "$run/config.json" && { say "RA-RFT training against $URL"; rarft train --model "$POLICY" --train "$DATA/rl.jsonl" --retrieval-url "$URL" --output-dir "$run" $TRAIN_ARGS; }
    done_or "$OUT/runs/eval/ra-rft/results.json" && { say "evaluating with $V1"; rarft eval --model "$run" --data "$DATA/test.jsonl" --retrieval-url "$URL" --retriever-version "$V1" --out "$OUT/runs/eval/ra-rft" $EVAL_ARGS; }
    say "study done: outputs in the 'outputs' volume under $OUT/runs"
}

job="${1:-study}"; shift || true
case "$job" in
    init|label|distill|deploy|study) "$job" "$@" ;;
    *) echo "usage: rarft-job init|label|distill|deploy|study [extra args]" >&2; exit 2 ;;
esac
