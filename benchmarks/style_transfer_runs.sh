#!/usr/bin/env bash
# The trainings behind benchmarks/README.md "Text style transfer". The yelp-sentiment preset is
# 1,000 steps of pre-training, then 700 of RL; here it runs as two stages, the pre-training
# (yelp-pretrained, stopped at step 1,000) and the RL phase started from it (yelp: 700 steps,
# style.pretrain=0), so that every ablation branches from the same pre-trained nets for 150
# steps and differs from yelp's checkpoint of step 150 in one setting. Also the preset without
# pre-training. CPU seconds (user, sys) of each training go to RUNS/NAME.time.
#
#   bash benchmarks/style_transfer_runs.sh ../shared/data/yelp runs
#   python benchmarks/style_transfer.py --data ../shared/data/yelp \
#       --run ganforge=runs/yelp --keep benchmarks/results/style_transfer \
#       --run "pre-training only"=runs/yelp-pretrained --run "RL, 150 steps"=runs/yelp@150 \
#       --run "no RL"=runs/yelp-no-rl --run "no cycle"=runs/yelp-no-cycle \
#       --run "Gumbel"=runs/yelp-gumbel --run "D also learns the rewrites"=runs/yelp-d-fake \
#       --run "no pre-training"=runs/yelp-no-pretraining \
#       --results benchmarks/results/style_transfer/peers.json
set -euo pipefail
data=${1:?give the corpus folder}; runs=${2:-runs}
train() {  # NAME, then --set arguments
  local name=$1; shift
  [ -e "$runs/$name/checkpoint/state.json" ] && return
  /usr/bin/time -f "%U %S" -o "$runs/$name.time" \
    ganforge train yelp-sentiment --set data.path="$data" --set train.progress=false "$@" \
    --out "$runs/$name"
}
mkdir -p "$runs"
train yelp-pretrained --set train.steps=1000
from=(--set style.init_from="$runs/yelp-pretrained" --set style.pretrain=0)
train yelp "${from[@]}" --set train.steps=700
# settings that nothing reads in an ablation (style.beta without RL or the cycle, style.samples
# without RL) are set back to their defaults
train yelp-no-rl "${from[@]}" --set train.steps=150 --set style.reward=none --set style.beta=1 \
  --set style.samples=1
train yelp-no-cycle "${from[@]}" --set train.steps=150 --set style.cycle=false \
  --set style.back_translation=0 --set style.beta=1
train yelp-gumbel "${from[@]}" --set train.steps=150 --set style.reward=gumbel --set style.samples=1
train yelp-d-fake "${from[@]}" --set train.steps=150 --set style.d_fake=1
train yelp-no-pretraining --set style.pretrain=0 --set train.steps=150
