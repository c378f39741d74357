"""Issue #30: the manifest rows of the `scenes` photos — many small scenes for colourisation, from GCompris's data.

GCompris (`gcompris-qt-data`) keeps its activities' photographs as WebP files inside Qt resource archives (.rcc). This
script reads the archives of the activities that show photographs (animals, farm animals, monuments, world music,
the "erase" activity's pictures), keeps the WebP files of at least 256 px a side that are in colour (Hasler and
Süsstrunk's colourfulness ≥ 15: a few monuments are black-and-white), drops exact duplicates, records each photo's
licence from the package's `debian/copyright`, and prints the manifest rows: `file.rcc:webp@N` is the WebP that starts
at byte N of the archive. One photo in five (by a hash of its name) is a validation photo.

    python research/scenes_manifest.py PATH/TO/UNPACKED/gcompris-qt-data >> rows.tsv
"""
import fnmatch, hashlib, io, struct, sys
from pathlib import Path

import numpy as np
from PIL import Image

PACKAGE = 'gcompris-qt-data'
ACTIVITIES = ('erase', 'explore_farm_animals', 'explore_monuments', 'explore_world_animals', 'explore_world_music')
MIN_SIDE, MIN_COLOURFULNESS = 256, 15.


def rcc_files(data: bytes):
    "(path, offset of the file's bytes, size, flags) of every file in a Qt resource archive (format versions 1–3)."
    if data[:4] != b'qres': raise ValueError('not a Qt resource archive')
    version, tree, payload, names = struct.unpack('>IIII', data[4:20])
    node = 14 if version == 1 else 22
    def name(offset):
        n = struct.unpack('>H', data[names + offset:names + offset + 2])[0]
        return data[names + offset + 6:names + offset + 6 + 2*n].decode('utf-16-be')
    def walk(i, prefix):
        p = tree + i*node
        name_offset, flags = struct.unpack('>IH', data[p:p + 6])
        here = name(name_offset) if i else ''
        if flags & 2:                                                  # a directory: its children follow
            count, first = struct.unpack('>II', data[p + 6:p + 14])
            for c in range(first, first + count): yield from walk(c, f"{prefix}{here}/" if i else '')
        else:
            at = payload + struct.unpack('>I', data[p + 10:p + 14])[0]
            yield prefix + here, at + 4, struct.unpack('>I', data[at:at + 4])[0], flags
    yield from walk(0, '')


def copyright_stanzas(text: str) -> list[dict]:
    "The `Files:` stanzas of a machine-readable debian/copyright, in order (the last match wins)."
    stanzas, cur, key = [], {}, None
    for line in text.splitlines() + ['']:
        if not line.strip():
            if 'Files' in cur: stanzas.append(cur)
            cur, key = {}, None
        elif line[0] in ' \t' and key: cur[key] += ' ' + line.strip()
        elif ':' in line: key, _, v = line.partition(':'); cur[key] = v.strip()
    return stanzas


def licence_of(path: str, stanzas: list[dict]) -> str:
    "`License (Copyright)` of the last stanza whose patterns match `path` (compared without its extension: the archive holds WebP copies)."
    stem = path.removeprefix('gcompris/').rsplit('.', 1)[0]
    hit = None
    for s in stanzas:
        if any(fnmatch.fnmatch(stem, pat.rsplit('.', 1)[0]) or pat == '*' for pat in s['Files'].split()): hit = s
    who = hit.get('Copyright', '').split(' ', 1)[0] if hit['Files'] == '*' else hit.get('Copyright', '')
    return f"{hit['License'].split()[0]} ({'the package' if hit['Files'] == '*' else who}; debian/copyright)"


def colourfulness(img: Image.Image) -> float:
    "Hasler and Süsstrunk's colourfulness of an RGB image (0: grey)."
    a = np.asarray(img.convert('RGB'), np.float32)
    rg, yb = a[..., 0] - a[..., 1], (a[..., 0] + a[..., 1])/2 - a[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3*np.hypot(rg.mean(), yb.mean()))


def scene_rows(root: Path) -> list[dict]:
    "The manifest rows of the scenes in the unpacked package at `root`."
    stanzas = copyright_stanzas((root/'usr/share/doc'/PACKAGE/'copyright').read_text())
    rows, seen = [], set()
    for activity in ACTIVITIES:
        rcc = root/'usr/share/gcompris-qt/rcc'/f'{activity}.rcc'
        data = rcc.read_bytes()
        for path, at, size, flags in rcc_files(data):
            if flags or not path.endswith('.webp'): continue           # compressed entries are not photographs
            blob = data[at:at + size]
            img = Image.open(io.BytesIO(blob)); img.load()
            digest = hashlib.sha256(blob).hexdigest()
            if min(img.size) < MIN_SIDE or colourfulness(img) < MIN_COLOURFULNESS or digest in seen: continue
            seen.add(digest)
            name = f"gcompris-{activity.replace('_', '-')}-{Path(path).stem}.webp"
            role = 'scenes-valid' if int(hashlib.sha1(name.encode()).hexdigest(), 16) % 5 == 0 else 'scenes-train'
            rows.append({'role': role, 'name': name, 'debian_package': PACKAGE,
                         'path_in_package': f"/usr/share/gcompris-qt/rcc/{activity}.rcc:webp@{at}",
                         'width_x_height': f"{img.width}x{img.height}", 'licence': licence_of(path, stanzas),
                         'sha256_first16': digest[:16]})
    return rows


if __name__ == '__main__':
    for r in scene_rows(Path(sys.argv[1])): print('\t'.join(r.values()))
