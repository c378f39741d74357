"""Re-encode notebook pictures that are too heavy for a screen: pictures over 300 KB become JPEGs of at most
300 KB and 1200 px wide.

New outputs are already light (`enhance_lab.evaluation.screen_figures` makes matplotlib emit screen-sized JPEGs); this
brings outputs saved before that to the same standard without re-running the experiments behind them. The pictures
keep their content: only their encoding and, when wider than a screen, their size change.

    python tools/shrink_outputs.py nbs/*.ipynb      (prints what it changed; run nbdev-clean after)
"""
import base64, io, json, sys
from pathlib import Path

from PIL import Image

MAX_BYTES, MAX_WIDTH, QUALITY = 300_000, 1200, 85


def shrunk(png_b64: str) -> str:
    "A base64 picture as a base64 JPEG at most MAX_WIDTH wide and MAX_BYTES large (on white where it was transparent)."
    img = Image.open(io.BytesIO(base64.b64decode(png_b64)))
    if img.mode in ('RGBA', 'LA', 'P'):
        img = img.convert('RGBA'); canvas = Image.new('RGB', img.size, 'white'); canvas.paste(img, mask=img.getchannel('A')); img = canvas
    img = img.convert('RGB')
    if img.width > MAX_WIDTH: img = img.resize((MAX_WIDTH, round(img.height*MAX_WIDTH/img.width)), Image.LANCZOS)
    for quality in range(QUALITY, 40, -5):                     # the best quality within MAX_BYTES
        buf = io.BytesIO(); img.save(buf, 'JPEG', quality=quality, optimize=True)
        if buf.tell() <= MAX_BYTES: break
    return base64.b64encode(buf.getvalue()).decode()


def shrink_notebook(path: Path) -> int:
    "Re-encode the heavy picture outputs of one notebook in place; returns how many."
    nb = json.loads(path.read_text())
    n = 0
    for cell in nb['cells']:
        for out in cell.get('outputs', []):
            data = out.get('data', {})
            kind = next((k for k in ('image/png', 'image/jpeg') if k in data), None)
            if kind is None: continue
            b64 = ''.join(data[kind]) if isinstance(data[kind], list) else data[kind]
            if len(base64.b64decode(b64)) <= MAX_BYTES: continue
            del data[kind]; data['image/jpeg'] = shrunk(b64)
            if kind == 'image/png': out.get('metadata', {}).pop('image/png', None)
            n += 1
    if n: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return n


if __name__ == '__main__':
    for p in map(Path, sys.argv[1:]):
        if (n := shrink_notebook(p)): print(f"{p}: {n} picture(s) re-encoded")
