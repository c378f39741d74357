"""Train 24_ablations' arms outside Jupyter, one shard of them per process, so that a 2-core machine runs two at a time.

One run on both cores of a 2-core CPU uses them less well than two runs on one core each (about 10% more runs an hour
with two). This runs the notebook's own code cells in order up to its training loop (skipping the seeding check and
the figure set-up), then trains and evaluates every `n`-th arm from the `i`-th, for each seed given, through the
notebook's `run_arm`: the same keys, records and resumable checkpoints as the notebook. Running the notebook afterwards
reuses every run whose key matches. `--arms` trains only the arms named (comma-separated), e.g. the short ones when
little time is left.

    cd nbs && export ENHANCE_LAB_PROFILE=cpu OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    nohup python ../tools/run_ablations.py --shard 0/2 0 1 > shard0.log 2>&1 &
    nohup python ../tools/run_ablations.py --shard 1/2 0 1 > shard1.log 2>&1 &
"""
import argparse, json, sys, time
import torch

NOTEBOOK, LOOP = '24_ablations.ipynb', 't0 = time.time()'
SKIP = ('first_batch', 'screen_figures()')      # the seeding check and the notebook's figure format: not needed here


def notebook_namespace() -> dict:
    "The notebook's definitions: its code cells run in order until the training loop."
    ns = {'__name__': '__main__'}
    for cell in json.load(open(NOTEBOOK))['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] != 'code' or any(s in src for s in SKIP): continue
        if src.startswith(LOOP): return ns
        exec(compile(src, NOTEBOOK, 'exec'), ns)
    sys.exit(f"{NOTEBOOK}: no cell starts with {LOOP!r}")


def parse_args():
    "The shard `i/n`, the seeds and the arms to train."
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('seeds', nargs='*', type=int, default=[0, 1], help="seeds to train, each over all arms (default 0 1)")
    parser.add_argument('--shard', default='0/1', help="i/n: train every n-th arm from the i-th (default 0/1: all)")
    parser.add_argument('--arms', type=lambda names: names.split(','), help="comma-separated arm names: train only these")
    args = parser.parse_args()
    try: args.i, args.n = map(int, args.shard.split('/')); assert 0 <= args.i < args.n
    except (ValueError, AssertionError): parser.error(f"--shard {args.shard!r}: expected i/n with 0 <= i < n")
    return args


if __name__ == '__main__':
    args = parse_args()
    ns = notebook_namespace()
    unknown = set(args.arms or []) - set(ns['ARMS'])
    if unknown: sys.exit(f"--arms: no such arm {sorted(unknown)}; the arms are {list(ns['ARMS'])}")
    arms = [a for a in ns['ARMS'] if not args.arms or a in args.arms][args.i::args.n]
    print(f"shard {args.i} of {args.n}, {torch.get_num_threads()} thread(s), seeds {args.seeds}: {arms}", flush=True)
    for seed in args.seeds:
        for name in arms:
            print(time.strftime('%H:%M:%S'), name, 'seed', seed, flush=True)
            ns['run_arm'](name, seed)
    print('all arms of this shard done', flush=True)
