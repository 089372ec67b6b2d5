"""uWSGI's legacy XML configs: ``<uwsgi><socket>:3031</socket><master/></uwsgi>``.

Each child element is one entry (empty element = bare flag). The old ``<app mountpoint="/">``
block maps to ``mount = /=<script>`` as uWSGI 2.0's XML reader still does.
"""

from __future__ import annotations

from satrap.errors import ConfigError

from .entries import Entry, Origin


def parse_xml(text: str, path: str, section: str | None = None) -> tuple[list[Entry], bool]:
    """Entries of the root element (named ``uwsgi`` or ``section``) and whether it matched."""
    # imported here: only XML configs need it, and every module the master holds when it forks
    # is memory each worker maps (about 0.3 MB for ElementTree)
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ConfigError(f"{path}: invalid XML ({exc})") from None
    wanted = (section,) if section else ("uwsgi", "satrap")
    blocks = [root] if root.tag in wanted else [el for el in root if el.tag in wanted]
    entries: list[Entry] = []
    for block in blocks:
        for el in block:
            if not isinstance(el.tag, str):
                continue
            if el.tag == "app":
                script = (el.findtext("script") or "").strip()
                mountpoint = el.get("mountpoint", "")
                entries.append(Entry("mount", f"{mountpoint}={script}", Origin(path)))
                continue
            text_value = (el.text or "").strip()
            entries.append(Entry(el.tag, text_value or None, Origin(path)))
    return entries, bool(blocks)
