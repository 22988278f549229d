#!/usr/bin/env bash
# Makes assets/fonts/NotoSansSC-GB2312.otf, the poster font: Noto Sans CJK SC (SIL Open Font License 1.1, from
# Debian's fonts-noto-cjk) cut to ASCII and the 7,445 characters of GB2312, which keeps the binary small while
# covering the Chinese a poster prints. Characters outside it are left out of a poster, never drawn as boxes.
#   apt-get install fonts-noto-cjk && pip install fonttools && scripts/font-subset.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
chars=$(mktemp)
python3 - "$chars" <<'PY'
import sys
out = set(chr(c) for c in range(0x20, 0x7f))
for high in range(0xA1, 0xF8):
    for low in range(0xA1, 0xFF):
        try:
            out.add(bytes([high, low]).decode('gb2312'))
        except UnicodeDecodeError:
            pass
open(sys.argv[1], 'w', encoding='utf-8').write(''.join(sorted(out)))
PY
# Face 2 of the collection is Noto Sans CJK SC.
pyftsubset "$source" --font-number=2 --text-file="$chars" --output-file=assets/fonts/NotoSansSC-GB2312.otf \
  --layout-features='*' --no-hinting --desubroutinize --name-IDs='*'
rm -f "$chars"
ls -l assets/fonts/NotoSansSC-GB2312.otf
