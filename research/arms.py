"""What the research scripts share: a resumable run of one arm, and the command line that trains and measures arms."""
import json, sys, time
from pathlib import Path

from fastai.callback.core import Callback

from enhance_lab.inference import load_model
from enhance_lab.training import Checkpoint, CheckpointError, load_checkpoint


def fit_resumable(learn, name: str, folder: Path, steps: int = 1000, every: int = 100, lr: float = 1e-3):
    "Train `learn` `steps` steps by one cycle at `lr`, a checkpoint in `folder` every `every` steps (resuming the last); the model in eval mode and the run's facts: its training seconds and the precision it trained in ('bf16+fp32' for pieces on different machines)."
    extra = {'arm': name, 'steps': steps}
    start = 0
    if (folder/'latest.json').exists():
        try: start = load_checkpoint(learn, folder, extra)
        except CheckpointError as e: print(f"{name}: starting again ({e})")
    run_file = folder/'seconds.json'
    done = json.loads(run_file.read_text()) if start and run_file.exists() else {}
    n_epoch = steps//every
    done_s, precisions = done.get('seconds', 0.), set(done.get('precisions', [])) | ({learn.precision} if start < n_epoch else set())
    t0 = time.time()
    class Seconds(Callback):      # after each checkpoint: a run stopped and resumed counts every finished piece, and its precision
        order = Checkpoint.order + 1
        def after_epoch(self): run_file.write_text(json.dumps({'seconds': done_s + time.time() - t0, 'precisions': sorted(precisions)}))
    learn.add_cbs([Checkpoint(folder, extra), Seconds()])
    if start < n_epoch: learn.fit_one_cycle(n_epoch, lr, start_epoch=start)
    learn.loss_func.remove()
    run = json.loads(run_file.read_text())
    return learn.model.eval(), {'train_seconds': round(run['seconds']), 'precision': '+'.join(run.get('precisions') or ['unrecorded'])}


def saved_model(path: str):
    "A model `enhance-lab train` saved (a release candidate, the shipped model), measured like an arm: the model, its run's facts (the whole run's seconds and precision, resumed pieces included), its recipe's settings and steps."
    model, config = load_model(path)
    run = {'train_seconds': round(config['wall_time_s']), 'precision': config.get('precision', 'unrecorded')}
    settings = {k: config[k] for k in ('model', 'loss_weights', 'recipe', 'freeze', 'init', 'lr', 'source') if k in config}
    return model, run, settings, config['steps']


def run_arms(names: list[str], arms: dict, out: Path, train_arm, evaluate_arm):
    "Train (or resume) and measure each arm of `names` whose record is not yet in `out`; unknown names stop everything first."
    for name in names:
        if name not in arms: sys.exit(f"unknown arm {name!r}; one of {list(arms)}")
    for name in names:
        if (out/f'{name}.json').exists(): print(f"{name}: done ({out/name}.json)"); continue
        (model, seconds), arm = train_arm(name)
        evaluate_arm(name, model, seconds, arm)
