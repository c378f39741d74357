"""Write README.md from nbs/index.ipynb as GitHub shows it: markdown cells as they are; code cells' Markdown outputs
(tables made by the code), without their source when the cell says `#| echo: false`; `#| hide` cells left out.
(`nbdev-readme` does the same through Quarto, which cannot be installed offline.)

    python tools/make_readme.py            # run from the repository root after executing nbs/index.ipynb
"""
import json
from pathlib import Path

def cell_markdown(cell: dict) -> str:
    "What one notebook cell contributes to the README."
    source = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown': return source
    directives = [l for l in source.splitlines() if l.startswith('#|')]
    if any(d.replace(' ', '') in ('#|hide', '#|include:false') for d in directives): return ''
    parts = [] if any(d.replace(' ', '') == '#|echo:false' for d in directives) else [f"```python\n{source}\n```"]
    for out in cell.get('outputs', []):
        data = out.get('data', {})
        if 'text/markdown' in data: parts.append(''.join(data['text/markdown']))
        elif 'text/plain' in data: parts.append(f"```\n{''.join(data['text/plain'])}\n```")
        elif out.get('output_type') == 'stream': parts.append(f"```\n{''.join(out['text'])}\n```")
    return '\n\n'.join(parts)

if __name__ == '__main__':
    cells = json.loads(Path('nbs/index.ipynb').read_text())['cells']
    text = '\n\n'.join(p for p in map(cell_markdown, cells) if p.strip())
    Path('README.md').write_text(text.rstrip() + '\n')
    print(f"README.md: {len(text.splitlines())} lines from nbs/index.ipynb")
