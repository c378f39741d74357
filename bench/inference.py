"""What a user meets enhancing everyday photos with the bundled models (issue #35).

For each bundled model and output size (0.3, 1, 3 and 12 megapixels): the command a user types, in a fresh process
(`enhance-lab upscale|colorize|stylize IN -o OUT --model NAME`: start-up, model loading and the work, wall time and
peak memory of that process), and the steady state (model loaded, after a warm-up: seconds per output megapixel),
against a baseline run in the same process: the tile plan used before this benchmark (tiles of the full side from
the top-left corner, the last one mostly overlap). Start-up on its own: fresh processes that import torch, import
the inference path, and load a model. And the accuracy of bfloat16 inference against float32 on the held-out photos.
Machine quiet; nothing else running.

    python bench/inference.py                  # writes bench/RESULTS-inference.md and bench/inference.json
    python bench/inference.py --markdown-only  # rewrites RESULTS-inference.md from inference.json
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import enhance_lab.inference as inference
from enhance_lab.core import resolve_precision
from enhance_lab.images import open_rgb
from enhance_lab.inference import bundled_models, load_model, task_function

OUT_SIZES = {0.3: (640, 480), 1: (1152, 864), 3: (2048, 1536), 12: (4000, 3000)}
COMMANDS = {'superres': 'upscale', 'colorize': 'colorize', 'style': 'stylize'}
HERE = Path(__file__).parent


def corner_tiles(size: int, tile: int, overlap: int) -> tuple[list[int], int]:
    "The baseline tile plan: full-side tiles every `tile - overlap` px from the corner, the last one flush with the edge."
    if size <= tile: return [0], size
    return sorted(set(range(0, size - tile, tile - overlap)) | {size - tile}), tile


def photo(size: tuple[int, int]) -> Image.Image:
    "scikit-image's astronaut cropped to 4:3 and resized (bicubic) to `size`: a real photo's content at any size."
    import skimage
    img = open_rgb(Path(skimage.__file__).parent/'data'/'astronaut.png').crop((0, 64, 512, 448))
    return img.resize(size, Image.BICUBIC)


def input_size(config: dict, mp: float) -> tuple[int, int]:
    "The input size that gives the `mp` output size for a model with `config` (super-resolution divides by its scale)."
    scale = config['scale'] if config['task'] == 'superres' else 1
    w, h = OUT_SIZES[mp]
    return w//scale, h//scale


def fresh(args: list[str]) -> tuple[float, float]:
    "Wall seconds and peak RSS (GB) of one fresh process running `args`."
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(); proc.stderr.close(); proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode: raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {err[-500:]}")
    return wall, usage.ru_maxrss/2**20


def start_up(reps: int = 3) -> dict:
    "Median seconds of fresh processes: Python alone, importing torch, importing the inference path, loading a model."
    steps = {'python': 'pass', 'import torch': 'import torch', 'import enhance_lab.inference': 'import enhance_lab.inference',
             'load superres-x2': "from enhance_lab.inference import load_model; load_model('superres-x2')"}
    return {name: statistics.median(fresh([sys.executable, '-c', code])[0] for _ in range(reps)) for name, code in steps.items()}


def timed(fn):
    "`fn()`'s result, the seconds it takes and this process's peak RSS (GB) while it runs."
    Path('/proc/self/clear_refs').write_text('5')
    t0 = time.perf_counter(); result = fn(); seconds = time.perf_counter() - t0
    hwm = int(next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')).split()[1])
    return result, seconds, hwm/2**20


def steady(name: str, sizes: list[float], baseline_sizes: list[float]) -> list[dict]:
    "Steady-state rows for model `name`: seconds per output MP with today's tile plan and with the baseline's."
    model, config = load_model(name)
    fn = task_function(model, config)
    fn(photo((64, 48)))                                                           # warm-up
    rows = []
    for mp in sizes:
        w, h = OUT_SIZES[mp]
        img = photo(input_size(config, mp))
        new, seconds, rss = timed(lambda: fn(img))
        row = {'model': name, 'output MP': mp, 'output': f'{w}x{h}', 'seconds': seconds, 's per MP': seconds/(w*h/1e6), 'peak RSS GB': rss}
        if mp in baseline_sizes:
            plan, inference._tiles = inference._tiles, corner_tiles
            try: old, base_s, _ = timed(lambda: fn(img))
            finally: inference._tiles = plan
            diff = np.abs(np.asarray(new, np.int16) - np.asarray(old, np.int16))
            row.update({'baseline seconds': base_s, 'speed-up': base_s/seconds, 'max |new - baseline| (grey levels)': int(diff.max()),
                        'mean |new - baseline|': float(diff.mean())})
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def fresh_rows(names: list[str], sizes: list[float], work: Path) -> list[dict]:
    "The command a user types, per model and output size, in a fresh process."
    rows = []
    for name in names:
        _, config = load_model(name)
        for mp in sizes:
            w, h = OUT_SIZES[mp]
            src, dst = work/f'{name}-{mp}.png', work/f'{name}-{mp}-out.png'
            photo(input_size(config, mp)).save(src)
            dst.unlink(missing_ok=True)
            wall, rss = fresh([sys.executable, '-m', 'enhance_lab.cli', COMMANDS[config['task']], str(src), '-o', str(dst), '--model', name])
            rows.append({'model': name, 'output MP': mp, 'output': f'{w}x{h}', 'wall seconds': wall, 'peak RSS GB': rss})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def precision_check(name: str = 'superres-x2', max_side: int = 384) -> dict:
    "PSNR-Y of `name` on the held-out photos of `21_superres` (long side ≤ `max_side`) with its body in bfloat16 and in float32."
    from enhance_lab.evaluation import mean_table, superres_table
    from enhance_lab.experiments import experiment_setup
    from enhance_lab.inference import upscale_image
    paths = experiment_setup('cpu').test_paths
    (fp32, config), (bf16, _) = load_model(name, precision='fp32'), load_model(name, precision='bf16')
    scale, t0 = config['scale'], time.time()
    per_photo = superres_table({'fp32': lambda lr: upscale_image(fp32, lr, scale), 'bf16': lambda lr: upscale_image(bf16, lr, scale)},
                               paths, scale, max_side=max_side)
    means = mean_table(per_photo)
    wide = per_photo.pivot(index='photo', columns='method', values='psnr_y')
    return {'model': name, 'photos': len(paths), 'max side': max_side, 'PSNR-Y fp32': means.loc['fp32', 'psnr_y'],
            'PSNR-Y bf16': means.loc['bf16', 'psnr_y'], 'bf16 - fp32 (dB)': means.loc['bf16', 'psnr_y'] - means.loc['fp32', 'psnr_y'],
            'largest |difference| on one photo (dB)': float((wide['bf16'] - wide['fp32']).abs().max()), 'seconds': time.time() - t0}


def table(rows: list[dict], cols: list[str]) -> str:
    "A Markdown table of `cols`."
    cell = lambda v: (f'{v:.2f}' if isinstance(v, float) else str(v)).replace('|', '\\|')
    return '\n'.join(['| ' + ' | '.join(map(cell, cols)) + ' |', '|' + '---|'*len(cols)] + ['| ' + ' | '.join(cell(r.get(c, '')) for c in cols) + ' |' for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=float, nargs='+', default=list(OUT_SIZES))
    ap.add_argument('--baseline-sizes', type=float, nargs='+', default=[1, 3])
    ap.add_argument('--models', nargs='+', default=None)
    ap.add_argument('--markdown-only', action='store_true', help='rewrite RESULTS-inference.md from inference.json, measuring nothing')
    a = ap.parse_args()
    if a.markdown_only: return write_markdown(json.loads((HERE/'inference.json').read_text()))
    t0 = time.time()
    names = a.models or list(bundled_models())
    with tempfile.TemporaryDirectory() as tmp:
        startup = start_up()
        fresh_r = fresh_rows(names, a.sizes, Path(tmp))
    steady_r = [r for n in names for r in steady(n, a.sizes, a.baseline_sizes)]
    precision = precision_check()
    print(json.dumps(precision), flush=True)
    machine = {'cpu cores': os.cpu_count(), 'machine': platform.machine(), 'torch': torch.__version__, 'threads': torch.get_num_threads(),
               'precision': resolve_precision('auto', 'cpu'), 'date': time.strftime('%Y-%m-%d'), 'wall minutes': round((time.time() - t0)/60, 1)}
    data = {'machine': machine, 'start_up': startup, 'fresh': fresh_r, 'steady': steady_r, 'precision': precision}
    (HERE/'inference.json').write_text(json.dumps(data, indent=1, default=float))
    write_markdown(data)


def write_markdown(data: dict):
    "bench/RESULTS-inference.md from the measurements in `data` (what `inference.json` holds)."
    machine, startup, fresh_r, steady_r, precision = (data[k] for k in ('machine', 'start_up', 'fresh', 'steady', 'precision'))
    md = [f"# Inference as a user meets it\n\nWritten by `python bench/inference.py` on {machine['date']}: {machine['cpu cores']} CPU cores "
          f"({machine['machine']}), torch {machine['torch']}, {machine['threads']} threads, inference precision {machine['precision']}; "
          f"benchmark wall time {machine['wall minutes']} min. Input: scikit-image's astronaut (4:3 crop) resized to the input size.\n",
          "## Start-up (fresh processes, median of 3)\n", table([{'step': k, 'seconds': v} for k, v in startup.items()], ['step', 'seconds']),
          "\n## The command, in a fresh process (start-up, model loading and the work)\n",
          table(fresh_r, ['model', 'output MP', 'output', 'wall seconds', 'peak RSS GB']),
          "\n## Steady state (model loaded, after a warm-up), against the baseline tile plan in the same process\n",
          "Baseline: tiles of the full side placed every side − 64 px from the top-left corner (the plan before this benchmark).\n",
          table(steady_r, ['model', 'output MP', 'output', 'seconds', 's per MP', 'peak RSS GB', 'baseline seconds', 'speed-up',
                           'max |new - baseline| (grey levels)', 'mean |new - baseline|']),
          f"\n## Precision: bfloat16 against float32 on the held-out photos\n\nThis CPU's native bfloat16: {machine['precision'] == 'bf16'} "
          "(without it, 'auto' runs float32 and bfloat16 is emulated: slower, so only its accuracy matters here).\n",
          table([precision], list(precision))]
    (HERE/'RESULTS-inference.md').write_text('\n'.join(md) + '\n')
    print((HERE/'RESULTS-inference.md').read_text())


if __name__ == '__main__':
    main()
