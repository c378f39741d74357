"""Drop progress-bar frames from notebook outputs: what a terminal would show once the bars are done.

A notebook executed outside Jupyter (nbdev's execnb, as `nbdev-test` and scripted re-runs do) gets fastprogress's
console bars: every frame of every bar saved as text, carriage returns and all. Jupyter shows a finished bar as one
line, and a bar that clears itself (`leave=False`) as nothing; this keeps what a terminal would show at the end —
the last text after each carriage return — without the bars' frames and fastprogress's stray block characters.

    python tools/drop_progress_frames.py nbs/*.ipynb      (prints what it changed; run nbdev-clean after)
"""
import json, re, sys
from pathlib import Path

BAR = re.compile(r'\|[█-]{10,}\| *\d+\.\d+% \[')     # fastprogress's console bar: |████----| 40.00% [2/5 00:01<00:02]


def visible(line: str) -> str:
    "What a terminal shows of `line` at the end: the text after its last carriage return that is not blank."
    parts = [p for p in line.split('\r') if p.strip()]
    return parts[-1].rstrip() if parts else ''


def without_frames(text: str) -> str:
    "`text` (a stream output) without progress-bar frames and fastprogress's stray '█' marks; other lines as they are."
    kept = []
    for line in text.split('\n'):
        if '\r' not in line and '█' not in line and not BAR.search(line): kept.append(line); continue
        shown = visible(line)
        if not BAR.search(shown) and shown.replace('█', '').strip(): kept.append(shown.replace('█', ''))
    return '\n'.join(kept)


def clean(path: Path) -> int:
    "Drop the frames from every stream output of the notebook at `path`; the number of outputs changed."
    nb, changed = json.loads(path.read_text()), 0
    for cell in nb['cells']:
        outputs = []
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'stream':
                text = ''.join(out['text'])
                new = without_frames(text)
                if new != text:
                    changed += 1
                    if not new.strip(): continue
                    out['text'] = new.splitlines(keepends=True)
            outputs.append(out)
        if 'outputs' in cell: cell['outputs'] = outputs
    if changed: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return changed


if __name__ == '__main__':
    for name in sys.argv[1:]:
        if n := clean(Path(name)): print(f"{name}: {n} outputs without progress frames")
