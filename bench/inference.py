"""What a user meets enhancing everyday photos with the bundled models (issue #35).

For each bundled model and output size (0.3, 1, 3 and 12 megapixels): the command a user types, in a fresh process
(`enhance-lab upscale|colorize|stylize IN -o OUT --model NAME`: start-up, model loading and the work, wall time and
peak memory of that process), and the steady state (model loaded, after a warm-up: seconds per output megapixel),
against a baseline run in the same process: the tile plan used before this benchmark (tiles of the full side from
the top-left corner, the last one mostly overlap). Start-up on its own: fresh processes that import torch, import
the inference path, and load a model. The accuracy of bfloat16 inference against float32 on the held-out photos.
The largest tile side `auto` may use, swept on the x2 model (seconds per output MP at 1 and 3 MP); self-attention's
share of one tile's forward pass by tile side. And one tile's forward pass in ONNX Runtime against PyTorch, same
input, same process. Machine quiet; nothing else running.

    python bench/inference.py                       # writes bench/RESULTS-inference.md and bench/inference.json
    python bench/inference.py --sections tiles onnx # measures only these; the other sections are kept from inference.json
    python bench/inference.py --markdown-only       # rewrites RESULTS-inference.md from inference.json
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


def fresh_rows(names: list[str], sizes: list[float]) -> list[dict]:
    "The command a user types, per model and output size, in a fresh process."
    rows, tmp = [], tempfile.TemporaryDirectory()
    work = Path(tmp.name)
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
    tmp.cleanup()
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


def tile_sweep(name: str = 'superres-x2', sides: tuple = (256, 320, 384, 448, 512, 640), sizes: tuple = (1, 3)) -> list[dict]:
    "Steady seconds per output MP of model `name` with tiles of at most each side (the plan of `_tiles`), after a warm-up."
    model, config = load_model(name)
    task_function(model, config)(photo((64, 48)))
    rows = []
    for mp in sizes:
        img, (w, h) = photo(input_size(config, mp)), OUT_SIZES[mp]
        for side in sides:
            _, seconds, rss = timed(lambda: task_function(model, config, side)(img))
            rows.append({'model': name, 'output MP': mp, 'output': f'{w}x{h}', 'largest tile': side, 'seconds': seconds,
                         's per MP': seconds/(w*h/1e6), 'peak RSS GB': rss})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def onnx_vs_torch(name: str = 'superres-x2', sides: tuple = (384, 512), reps: int = 5) -> list[dict]:
    "Median seconds of one tile's forward pass (a crop of the photo) in PyTorch and in ONNX Runtime, same process, and their largest difference."
    import onnxruntime as ort
    from enhance_lab.export import export_onnx
    from enhance_lab.images import pil_to_batch
    model, _ = load_model(name, precision='fp32')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = export_onnx(name, Path(tmp)/'model.onnx')
        session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
        for side in sides:
            x = pil_to_batch(photo((side, side)))
            with torch.no_grad():
                run_torch = lambda: model(x)
                run_onnx = lambda: session.run(None, {'image': x.numpy()})[0]
                expected, got = run_torch().numpy(), run_onnx()                 # warm-up, and the outputs compared
                t_torch = statistics.median(timed(run_torch)[1] for _ in range(reps))
                t_onnx = statistics.median(timed(run_onnx)[1] for _ in range(reps))
            rows.append({'model': name, 'tile': f'{side}x{side}', 'PyTorch seconds': t_torch, 'ONNX Runtime seconds': t_onnx,
                         'ONNX Runtime speed-up': t_torch/t_onnx, 'max |ONNX - PyTorch|': f'{np.abs(got - expected).max():.1e}'})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def attention_cost(name: str = 'superres-x2', sides: tuple = (256, 384, 512, 640), reps: int = 7) -> list[dict]:
    "Median seconds of one tile's forward pass with the model's self-attention and with it skipped (its cost only: the output differs)."
    from enhance_lab.models import SelfAttention
    model, _ = load_model(name)
    rows = []
    for side in sides:
        x = torch.rand(1, 3, side, side)
        with torch.no_grad():
            model(x)                                                             # warm-up
            full = statistics.median(timed(lambda: model(x))[1] for _ in range(reps))
            attend, SelfAttention.forward = SelfAttention.forward, lambda self, x: x
            try: model(x); skipped = statistics.median(timed(lambda: model(x))[1] for _ in range(reps))
            finally: SelfAttention.forward = attend
        rows.append({'model': name, 'tile': f'{side}x{side}', 'seconds': full, 'without self-attention': skipped,
                     'self-attention share': f'{100*(1 - skipped/full):.0f} %', 's per tile MP': full/(side*side/1e6)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict], cols: list[str]) -> str:
    "A Markdown table of `cols`."
    cell = lambda v: (f'{v:.2f}' if isinstance(v, float) else str(v)).replace('|', '\\|')
    return '\n'.join(['| ' + ' | '.join(map(cell, cols)) + ' |', '|' + '---|'*len(cols)] + ['| ' + ' | '.join(cell(r.get(c, '')) for c in cols) + ' |' for r in rows])


SECTIONS = ['start_up', 'fresh', 'steady', 'precision', 'tiles', 'attention', 'onnx']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', type=float, nargs='+', default=list(OUT_SIZES))
    ap.add_argument('--baseline-sizes', type=float, nargs='+', default=[1, 3])
    ap.add_argument('--models', nargs='+', default=None)
    ap.add_argument('--sections', nargs='+', choices=SECTIONS, default=SECTIONS, help='measure only these; keep the others from inference.json')
    ap.add_argument('--markdown-only', action='store_true', help='rewrite RESULTS-inference.md from inference.json, measuring nothing')
    a = ap.parse_args()
    data = json.loads((HERE/'inference.json').read_text()) if (HERE/'inference.json').exists() else {'machine': {}, 'minutes': {}}
    if a.markdown_only: return write_markdown(data)
    names = a.models or list(bundled_models())
    measure = {'start_up': start_up,
               'fresh': lambda: fresh_rows(names, a.sizes),
               'steady': lambda: [r for n in names for r in steady(n, a.sizes, a.baseline_sizes)],
               'precision': precision_check, 'tiles': tile_sweep, 'attention': attention_cost, 'onnx': onnx_vs_torch}
    for section in a.sections:
        t0 = time.time()
        data[section] = measure[section]()
        data.setdefault('minutes', {})[section] = round((time.time() - t0)/60, 1)
        if section == 'precision': print(json.dumps(data[section]), flush=True)
    data['machine'] = {'cpu cores': os.cpu_count(), 'machine': platform.machine(), 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                       'precision': resolve_precision('auto', 'cpu')}
    data.setdefault('dates', {}).update({k: time.strftime('%Y-%m-%d') for k in a.sections})
    (HERE/'inference.json').write_text(json.dumps(data, indent=1, default=float))
    write_markdown(data)


def write_markdown(data: dict):
    "bench/RESULTS-inference.md from the measurements in `data` (what `inference.json` holds); sections not measured yet are left out."
    machine, dates, minutes = data['machine'], data['dates'], data['minutes']
    md = [f"# Inference as a user meets it\n\nWritten by `python bench/inference.py`: {machine['cpu cores']} CPU cores ({machine['machine']}), "
          f"torch {machine['torch']}, {machine['threads']} threads, inference precision {machine['precision']}. "
          f"Measured on: {', '.join(f'{k} {v}' for k, v in dates.items())}. Wall minutes: {'; '.join(f'{k}: {v}' for k, v in minutes.items())}. "
          "Input: scikit-image's astronaut (4:3 crop) resized to the input size.\n"]
    if 'start_up' in data:
        md += ["## Start-up (fresh processes, median of 3)\n", table([{'step': k, 'seconds': v} for k, v in data['start_up'].items()], ['step', 'seconds'])]
    if 'fresh' in data:
        md += ["\n## The command, in a fresh process (start-up, model loading and the work)\n",
               table(data['fresh'], ['model', 'output MP', 'output', 'wall seconds', 'peak RSS GB'])]
    if 'steady' in data:
        md += ["\n## Steady state (model loaded, after a warm-up), against the baseline tile plan in the same process\n",
               "Baseline: tiles of the full side placed every side − 64 px from the top-left corner (the plan before this benchmark).\n",
               table(data['steady'], ['model', 'output MP', 'output', 'seconds', 's per MP', 'peak RSS GB', 'baseline seconds', 'speed-up',
                                      'max |new - baseline| (grey levels)', 'mean |new - baseline|'])]
    if 'precision' in data:
        md += [f"\n## Precision: bfloat16 against float32 on the held-out photos\n\nThis CPU's native bfloat16: {machine['precision'] == 'bf16'} "
               "(without it, 'auto' runs float32 and bfloat16 is emulated: slower, so only its accuracy matters here).\n",
               table([data['precision']], list(data['precision']))]
    if 'tiles' in data:
        fastest = {mp: min((r for r in data['tiles'] if r['output MP'] == mp), key=lambda r: r['s per MP']) for mp in {r['output MP'] for r in data['tiles']}}
        md += ["\n## The largest tile side (steady state, the tile plan of `_tiles` under each limit)\n",
               "`auto` uses tiles of at most 512 px when memory allows. Fastest here: " +
               ', '.join(f"{r['largest tile']} px at {mp:g} MP ({r['s per MP']:.2f} s per MP)" for mp, r in sorted(fastest.items())) + ".\n",
               table(data['tiles'], ['model', 'output MP', 'output', 'largest tile', 'seconds', 's per MP', 'peak RSS GB'])]
    if 'attention' in data:
        md += ["\n## Self-attention's cost (one tile's forward pass, model loaded, median of 7)\n",
               "Every pixel attends to every other at the decoder level that has attention, so its cost grows with the square of the tile's pixel count.\n",
               table(data['attention'], list(data['attention'][0]))]
    if 'onnx' in data:
        md += ["\n## ONNX Runtime against PyTorch (one tile's forward pass, float32, same input, same process, median of 5)\n",
               table(data['onnx'], list(data['onnx'][0]))]
    (HERE/'RESULTS-inference.md').write_text('\n'.join(md) + '\n')
    print((HERE/'RESULTS-inference.md').read_text())


if __name__ == '__main__':
    main()
