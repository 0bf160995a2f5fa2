"""`flowgauge report --format html`: the page, self-contained, over the recorded events.

The same page.js and page.css the worker serves, with plotly.js and the view model (and, with
`--compare`, the baseline) inlined: the file needs no server and no network, from file:// too.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from flowgauge.page import asset, plotly_js


def _script_safe(code: str) -> str:
    """Script code that cannot close the <script> element it is inlined in (HTML ends it only
    at `</script`; `<\\/` means the same inside the JS strings and regexes it can occur in)."""
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def _data(element_id: str, value: Any) -> str:
    body = orjson.dumps(value).decode().replace("</", "<\\/")  # only inside JSON strings
    return f'<script type="application/json" id="{element_id}">{body}</script>\n'


def render_html(model: dict[str, Any], compare: dict[str, Any] | None = None) -> str:
    """One html file: the value stream map and charts of `model`, the baseline beside it."""
    title = "flowgauge report" + (" (compared with a baseline)" if compare else "")
    parts = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f'<title>{title}</title>\n<link rel="icon" href="data:,">\n',
        f"<style>\n{asset('page.css').decode()}\n</style>\n",
        f"<script>\n{_script_safe(plotly_js().decode())}\n</script>\n",
        "</head>\n<body>\n<header>\n",
        f"<h1>flowgauge <span>{title.removeprefix('flowgauge ')}</span></h1>\n",
        '<div id="status" role="status"></div>\n</header>\n',
        '<main id="streams"></main>\n<section id="dora"></section>\n',
        _data("flowgauge-view", model),
    ]
    if compare is not None:
        parts.append(_data("flowgauge-compare", compare))
    parts.append(f"<script>\n{_script_safe(asset('page.js').decode())}\n</script>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)
