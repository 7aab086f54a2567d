"""The HTML that mkdocs-jupyter renders, made light and the same on every version.

mkdocs-jupyter puts before each notebook ~580 KB of JupyterLab CSS and scripts for
clipboard buttons, MathJax and Mermaid (0.27 also adds a MathJax loader to every page, from a
CDN), and wraps each code cell in its own copy widget with a second copy of the source.
`clean_notebook_html` keeps the notebook and drops all of that: code cells take
mkdocs-material's own markup (`<div class="highlight"><pre><code>`), so they get the theme's
highlighting, light and dark, and its copy button, and `docs/stylesheets/notebook.css` lays
out the cells in a few rules. A cell's tags, which mkdocs-jupyter shows as text above its code,
are dropped, and so are the wrappers and classes no rule of the site's addresses (a third of
a long page's notebook markup). The site has no mathematics to typeset and no Mermaid diagrams
in notebooks; `strip_mathjax_loader` removes the loader from finished pages, and
`without_indentation` their markup's indentation.
"""

from __future__ import annotations

import re

_WRAPPER = '<div class="jupyter-wrapper"'
_CODE_CELL_INPUT = re.compile(
    r'<div class="zeroclipboard-container">.*?</clipboard-copy>\s*</div>\s*'
    r'<div class="highlight-ipynb[^"]*"><pre>(?P<code>.*?)</pre></div>\s*'
    r'<div class="clipboard-copy-txt"[^>]*>.*?</div>',
    re.S,
)
_BARE_CODE_BLOCK = re.compile(
    r'<div class="highlight"><pre>(?!<code>)(?P<code>.*?)</pre></div>', re.S
)
_STYLE = re.compile(r"<style[^>]*>(?P<css>.*?)</style>\s*", re.S)
_STYLER_ID = re.compile(r' id="(?P<id>T_[0-9a-f]+_(?:row|level)\w*)"')
_EMPTY_COLLAPSER = re.compile(r'<div class="jp-Collapser[^"]*">\s*</div>\s*')
_CELL_TAG_TOOLBAR = re.compile(
    r'<div class="celltoolbar">\s*'
    r'(?:<div class="button_container tags_button_container">\s*<span class="tag-container">\s*'
    r'<span class="cell-tag">[^<]*</span>\s*</span>\s*</div>\s*)*'
    r"</div>\s*"
)
# Where whitespace is the content: code, text outputs, scripts and styles.
_VERBATIM = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2>)", re.S | re.I)
_INDENT = re.compile(r"\n[ \t]+")
_MATHJAX_LOADER = re.compile(r"<script data-mkdocs-jupyter-mathjax=.*?</script>\s*", re.S)
_CELL_START = re.compile(r'<div class="jp-Cell\b(?P<classes>[^"]*)"')
_DIV_OPENING_OR_CLOSING = re.compile(r"<div\b(?P<attributes>[^>]*)>|</div>")
_ATTRIBUTE = re.compile(r'\s+(?P<name>[\w-]+)="(?P<value>[^"]*)"')
_RENDERER_CLASS = re.compile(r"jp-|CodeMirror|cm-|celltag_")
_DOUBLED_CELL = re.compile(
    r'<div class="(?P<classes>jp-Cell\b[^"]*)">\s*(?=<div class="(?P=classes)")'
)

ADDRESSED_CLASSES = frozenset(
    {
        "jp-Notebook",
        "jp-Cell",
        "jp-CodeCell",
        "jp-MarkdownCell",
        "jp-Collapser",
        "jp-InputPrompt",
        "jp-OutputPrompt",
        "jp-OutputArea-output",
        "jp-RenderedText",
        "jp-RenderedImage",
        "jp-RenderedHTML",
        "jp-RenderedMarkdown",
    }
)
"""The renderer's classes the site addresses (`docs/stylesheets/notebook.css`, the browser
tests); the rest, and the ``celltag_`` classes aside, are dropped from the page."""
_UNADDRESSED_ATTRIBUTES = {"data-type"}

SOLUTION_TAG = "solution"
"""The tag of an exercise's solution cells (`# %% tags=["solution"]`): shown collapsed."""


def clean_notebook_html(html: str) -> str:
    """The notebook HTML of a page without mkdocs-jupyter's styles, scripts and widgets.

    Styles that outputs carry themselves (a pandas Styler table's ``#T_`` rules) are kept;
    everything mkdocs-jupyter adds before the notebook is dropped.
    """
    start = html.find(_WRAPPER)
    if start < 0:
        return html
    body = html[start:]
    body = _CODE_CELL_INPUT.sub(
        lambda match: f'<div class="highlight"><pre><code>{match["code"]}</code></pre></div>',
        body,
    )
    # Code in Markdown (a cell's, or an output's such as a page's Keras listing) comes as a
    # bare <pre>: given <code>, it is the theme's code block too, scrolling in its own box.
    body = _BARE_CODE_BLOCK.sub(
        lambda match: f'<div class="highlight"><pre><code>{match["code"]}</code></pre></div>',
        body,
    )
    body = _STYLE.sub(lambda match: match[0] if "#T_" in match["css"] else "", body)
    # A pandas Styler gives every cell an id; only those its own rules name are needed.
    styled = set(re.findall(r"#(T_\w+)", "".join(m["css"] for m in _STYLE.finditer(body))))
    body = _STYLER_ID.sub(lambda match: match[0] if match["id"] in styled else "", body)
    # JupyterLab's collapse handles: empty, and hidden by notebook.css (3 KB on a long page).
    body = _EMPTY_COLLAPSER.sub("", body)
    # A cell's tags are for the build (`exclusive`) and the renderer (`remove-input`), not the
    # reader: mkdocs-jupyter writes them as text above the cell's code. Its celltag_ classes stay.
    body = _CELL_TAG_TOOLBAR.sub("", body)
    # Keyboard users tab to links and scrollable outputs, not to every cell's source.
    body = body.replace('class="jp-Cell-inputWrapper" tabindex="0"', 'class="jp-Cell-inputWrapper"')
    # Notebook headings' "¶" links: as Material's own, so search leaves them out.
    body = body.replace('class="anchor-link"', 'class="headerlink"')
    return _without_unaddressed_markup(_without_doubled_cells(body))


def _without_doubled_cells(html: str) -> str:
    """`html` without the second wrapper mkdocs-jupyter puts around a code cell, a copy of
    the cell's own ``<div>`` (same classes, no id) with the cell as its only content."""
    pieces, done = [], 0
    for outer in _DOUBLED_CELL.finditer(html):
        if outer.start() < done:
            continue
        inner_end = _cell_end(html, outer.end())
        closing = _skip_space(html, inner_end)
        if not html.startswith("</div>", closing):
            continue  # not a wrapper of one cell: left as it is
        pieces += [html[done : outer.start()], html[outer.end() : inner_end]]
        done = closing + len("</div>")
    return "".join(pieces) + html[done:]


def _without_unaddressed_markup(html: str) -> str:
    """`html` with the renderer's ``<div>``s reduced to what the site addresses.

    A ``<div>`` whose classes are all the renderer's keeps those in `ADDRESSED_CLASSES` and
    the ``celltag_`` ones, and its attributes but a cell's id and `_UNADDRESSED_ATTRIBUTES`;
    left with nothing, it goes and its content stays where it was. Other ``<div>``s (an
    output's own HTML) are not touched.
    """
    pieces, kept, done = [], [], 0
    for tag in _DIV_OPENING_OR_CLOSING.finditer(html):
        pieces.append(html[done : tag.start()])
        done = tag.end()
        if tag["attributes"] is None:  # </div>
            if not kept or kept.pop():
                pieces.append(tag[0])
            continue
        leaner = _leaner_div(tag["attributes"])
        kept.append(leaner is not None)
        if leaner is not None:
            pieces.append(leaner)
    return "".join(pieces) + html[done:]


def _leaner_div(attributes: str) -> str | None:
    """The opening tag of a ``<div>`` with `attributes`, reduced; None if nothing is left."""
    found = {match["name"]: match["value"] for match in _ATTRIBUTE.finditer(attributes)}
    classes = found.get("class", "").split()
    unparsed = _ATTRIBUTE.sub("", attributes).strip()
    if unparsed or not classes or not all(_RENDERER_CLASS.match(name) for name in classes):
        return f"<div{attributes}>"
    found["class"] = " ".join(
        name for name in classes if name in ADDRESSED_CLASSES or name.startswith("celltag_")
    )
    if found.get("id", "").startswith("cell-id="):
        del found["id"]
    found = {
        name: value
        for name, value in found.items()
        if name not in _UNADDRESSED_ATTRIBUTES and (value or name != "class")
    }
    if not found:
        return None
    return "<div" + "".join(f' {name}="{value}"' for name, value in found.items()) + ">"


def collapse_solutions(html: str) -> str:
    """`html` with each run of ``solution`` cells inside a collapsed "Solution" block.

    The k-th run on the page is exercise k's solution: a ``<details>`` (mkdocs-material's
    collapsible "success" admonition, opened by its summary with a click or the keyboard,
    and opened for printing) whose summary names the exercise.
    """
    pieces, done, exercise = [], 0, 0
    for start in _CELL_START.finditer(html):
        if start.start() < done or not _is_solution(start):
            continue
        end = _cell_end(html, start.start())
        while (following := _CELL_START.match(html, _skip_space(html, end))) and _is_solution(
            following
        ):
            end = _cell_end(html, following.start())
        exercise += 1
        pieces += [
            html[done : start.start()],
            f'<details class="success mnist-book-solution">'
            f"<summary>Solution to exercise {exercise}</summary>\n",
            html[start.start() : end],
            "</details>",
        ]
        done = end
    return "".join(pieces) + html[done:]


def _is_solution(cell_start: re.Match[str]) -> bool:
    return f"celltag_{SOLUTION_TAG}" in cell_start["classes"].split()


def _skip_space(html: str, position: int) -> int:
    return len(html) - len(html[position:].lstrip())


def _cell_end(html: str, start: int) -> int:
    """The position just after the ``</div>`` that closes the ``<div>`` opened at `start`."""
    depth = 0
    for tag in _DIV_OPENING_OR_CLOSING.finditer(html, start):
        depth += -1 if tag[0] == "</div>" else 1
        if depth == 0:
            return tag.end()
    raise ValueError(f"The cell at {start} of the page's HTML has no end.")


def without_indentation(html: str) -> str:
    """`html` without the indentation of its lines, except where whitespace is content.

    The theme and the renderer indent their markup (8 KB of a long page's 100); a line
    break still separates what it separated, so the page reads and lays out the same.
    """
    parts = _VERBATIM.split(html)
    # split() gives the text before each verbatim element, the element, its tag's name, ...
    texts, verbatim = parts[0::3], [*parts[1::3], ""]
    return "".join(
        _INDENT.sub("\n", text) + element for text, element in zip(texts, verbatim, strict=True)
    )


def strip_mathjax_loader(output: str) -> str:
    """A finished page without the MathJax loader mkdocs-jupyter 0.27 appends to every page."""
    return _MATHJAX_LOADER.sub("", output)
