"""mkdocs-jupyter's HTML, cleaned: light, and the same whichever version rendered it."""

import re
from pathlib import Path

import nbformat
import pandas as pd
from mkdocs_jupyter.nbconvert2 import nb2html

from mnist_book.site import notebook_html


def rendered(tmp_path):
    """A small executed-looking notebook, rendered by the installed mkdocs-jupyter."""
    styled = pd.DataFrame({"a": [1.0, 2.0]}).style.highlight_max(color="red").to_html()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nSome *prose*.", id="m"),
        nbformat.v4.new_code_cell(
            'print("hi")',
            id="c",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi\n")],
        ),
        nbformat.v4.new_code_cell(
            "table",
            id="t",
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", data={"text/html": styled}, execution_count=2
                )
            ],
        ),
    ]
    path = tmp_path / "page.ipynb"
    nbformat.write(notebook, path)
    return nb2html(str(path))


def test_styles_scripts_and_widgets_of_the_renderer_are_dropped(tmp_path):
    html = rendered(tmp_path)
    assert "<script" in html and "clipboard-copy" in html  # what there was to clean
    cleaned = notebook_html.clean_notebook_html(html)
    assert len(cleaned) < len(html) / 5
    assert "<script" not in cleaned and "clipboard" not in cleaned
    assert not re.search(r"mathjax|mermaid|cdn", cleaned, re.I)
    # The pandas Styler's own rules stay with its table, and the cell ids they name.
    (style,) = re.findall(r"<style[^>]*>(.*?)</style>", cleaned, re.S)
    (highlighted,) = re.findall(r"#(T_\w+_row1_col0)", style)
    assert f'id="{highlighted}"' in cleaned
    # Cells no rule names lose their ids: a table's weight is its content.
    assert not re.search(r'id="T_\w+_row0_col0"', cleaned)
    assert re.search(r'id="T_\w+_row0_col0"', html)


def test_code_cells_take_the_themes_code_block_markup(tmp_path):
    cleaned = notebook_html.clean_notebook_html(rendered(tmp_path))
    code_block = r'<div class="highlight"><pre><code>(.*?)</code></pre></div>'
    blocks = re.findall(code_block, cleaned, re.S)
    assert len(blocks) == 2
    assert "print" in blocks[0] and "hi" in blocks[0]
    assert "highlight-ipynb" not in cleaned
    assert 'jp-Cell-inputWrapper" tabindex' in rendered(tmp_path)  # what there was to drop
    assert "tabindex" not in cleaned.split("<code>")[0]  # no stop at every cell's source
    assert "<h1" in cleaned and "<em>prose</em>" in cleaned and ">hi\n</pre>" in cleaned


def test_code_in_markdown_outputs_is_a_code_block_too(tmp_path):
    """A page's Keras listing (Markdown output) reads as the code cells do, in its own box."""
    notebook = nbformat.v4.new_notebook()
    listing = "```python\nmodel = keras.Sequential()\n```"
    notebook.cells = [
        nbformat.v4.new_markdown_cell("```python\nx = 1\n```", id="m"),
        nbformat.v4.new_code_cell(
            "listing()",
            id="c",
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", data={"text/markdown": listing}, execution_count=1
                )
            ],
        ),
    ]
    path = tmp_path / "listing.ipynb"
    nbformat.write(notebook, path)
    html = nb2html(str(path))
    assert re.search(r'<div class="highlight"><pre>(?!<code>)', html)  # what there was to fix
    cleaned = notebook_html.clean_notebook_html(html)
    blocks = re.findall(r'<div class="highlight"><pre>(.*?)</pre></div>', cleaned, re.S)
    assert len(blocks) == 3  # the markdown cell's, the code cell's, the output's
    assert all(block.startswith("<code>") and block.endswith("</code>") for block in blocks)
    assert "Sequential" in blocks[2]


def test_empty_collapse_handles_are_dropped(tmp_path):
    html = rendered(tmp_path)
    assert "jp-Collapser" in html  # what there was to drop
    cleaned = notebook_html.clean_notebook_html(html)
    assert "jp-Collapser" not in cleaned
    assert cleaned.count('<div class="jp-Cell ') == 3  # every cell is still there


def test_a_code_cell_is_wrapped_once(tmp_path):
    """mkdocs-jupyter wraps a code cell in a copy of its own <div>: one is enough."""
    html = rendered(tmp_path)
    cells = re.compile(r'<div class="jp-Cell jp-CodeCell')
    assert len(cells.findall(html)) == 4  # what there was to drop: two cells, twice each
    cleaned = notebook_html.clean_notebook_html(html)
    assert len(cells.findall(cleaned)) == 2
    assert cleaned.count("<div") == cleaned.count("</div>")


def test_only_the_markup_the_site_addresses_is_kept(tmp_path, monkeypatch):
    """The renderer's wrappers and classes that no rule of the site names go; the text, the
    code, the outputs and the attributes that mean something (a mime type, a tab stop) stay."""
    html = rendered(tmp_path)
    cleaned = notebook_html.clean_notebook_html(html)
    classes = {
        name
        for value in re.findall(r'<div class="([^"]*)"', cleaned)
        for name in value.split()
        if name.startswith(("jp-", "CodeMirror", "cm-"))
    }
    assert classes <= notebook_html.ADDRESSED_CLASSES
    assert {"jp-Cell", "jp-CodeCell", "jp-RenderedText", "jp-OutputArea-output"} <= classes
    assert "cell-id=" in html and "cell-id=" not in cleaned
    assert "jp-OutputArea-child" in html and "jp-OutputArea-child" not in cleaned
    assert 'data-mime-type="text/plain"' in cleaned
    assert re.search(r'jp-OutputArea-output[^>]*tabindex="0"', cleaned)
    monkeypatch.setattr(notebook_html, "_without_doubled_cells", lambda page: page)
    monkeypatch.setattr(notebook_html, "_without_unaddressed_markup", lambda page: page)
    with_all_markup = notebook_html.clean_notebook_html(html)
    assert len(cleaned) < 0.75 * len(with_all_markup)

    def text(page):
        return " ".join(re.sub(r"<[^>]*>", " ", page).split())

    assert text(cleaned) == text(with_all_markup)
    assert "print" in text(cleaned) and "hi" in text(cleaned) and "Title" in text(cleaned)


def test_an_outputs_own_markup_is_not_touched():
    html = (
        '<div class="jupyter-wrapper"><div class="jp-Cell jp-CodeCell jp-Notebook-cell">'
        '<div class="jp-Cell-outputWrapper"><div class="figure" id="f" data-x="1">'
        '<div><div class="jp-RenderedHTML mine">x</div></div></div></div></div></div>'
    )
    assert notebook_html.clean_notebook_html(html) == (
        '<div class="jupyter-wrapper"><div class="jp-Cell jp-CodeCell">'
        '<div class="figure" id="f" data-x="1">'
        '<div><div class="jp-RenderedHTML mine">x</div></div></div></div></div>'
    )


def test_the_classes_the_site_styles_are_kept():
    """A class that docs/stylesheets/notebook.css styles but the cleaning dropped would
    leave its rule addressing nothing."""
    css = (Path(__file__).parents[2] / "docs" / "stylesheets" / "notebook.css").read_text()
    styled = set(re.findall(r"\.(jp-[\w-]+)", css))
    assert styled and styled <= notebook_html.ADDRESSED_CLASSES


def test_cell_tags_are_not_shown_as_text(tmp_path):
    """`exclusive` (for the build) and `remove-input` (for the renderer) are not the reader's:
    no tag is text on the page; the cell keeps its code, its output and its celltag_ class."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "timed = measure()",
            id="x",
            metadata={"tags": ["exclusive", "slow"]},
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="measured\n")],
        ),
        nbformat.v4.new_code_cell(
            "say_the_sentence()",
            id="s",
            metadata={"tags": ["remove-input"]},
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="A sentence.\n")],
        ),
    ]
    path = tmp_path / "tagged.ipynb"
    nbformat.write(notebook, path)
    html = nb2html(str(path), remove_tag_config={"remove_input_tags": ["remove-input"]})
    assert ">exclusive<" in html  # what mkdocs-jupyter shows
    cleaned = notebook_html.clean_notebook_html(html)
    text = re.sub(r"<[^>]*>", " ", cleaned)  # what a reader reads: no tags, no attributes
    for tag in ("exclusive", "slow", "remove-input"):
        assert tag not in text, tag
    assert "celltoolbar" not in cleaned
    assert "celltag_exclusive" in cleaned and "celltag_remove-input" in cleaned
    assert "measure" in text and "measured" in text
    assert "say_the_sentence" not in text and "A sentence." in text


def test_indentation_goes_except_where_whitespace_is_content():
    html = (
        '<div class="jupyter-wrapper">\n  <div>\n    <p>Some\n      prose</p>\n'
        "    <pre>  indented\n    code</pre>\n  <textarea>\n  kept</textarea>\n"
        "  <script>\n  let a = 1;\n</script>\n</div>"
    )
    assert notebook_html.without_indentation(html) == (
        '<div class="jupyter-wrapper">\n<div>\n<p>Some\nprose</p>\n'
        "<pre>  indented\n    code</pre>\n<textarea>\n  kept</textarea>\n"
        "<script>\n  let a = 1;\n</script>\n</div>"
    )


def test_a_rendered_notebook_keeps_its_text_and_code_without_indentation(tmp_path):
    html = rendered(tmp_path)
    cleaned = notebook_html.without_indentation(notebook_html.clean_notebook_html(html))
    assert re.search(r"\n[ \t]+<", html) and not re.search(r"\n[ \t]+<", cleaned)
    assert ">hi\n</pre>" in cleaned and "<em>prose</em>" in cleaned


def test_html_without_a_notebook_is_unchanged():
    assert notebook_html.clean_notebook_html("<p>plain</p>") == "<p>plain</p>"


def test_the_mathjax_loader_is_removed_from_finished_pages():
    page = '<body><p>x</p><script data-mkdocs-jupyter-mathjax="{}">\nload()\n</script>\n</body>'
    assert notebook_html.strip_mathjax_loader(page) == "<body><p>x</p></body>"


def test_each_exercises_solution_cells_are_one_collapsed_block(tmp_path):
    """Runs of `solution` cells, rendered by mkdocs-jupyter, each become one <details> whose
    summary names its exercise; the cells keep their code and outputs, and nothing else moves."""

    def cell(source, tags=(), output=None):
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)] if output else []
        return nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)}, outputs=outputs)

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("### Exercise 1"),
        cell("check(1, ...)", output="Write your answer\n"),
        cell("answer = 6 * 7", ["solution"], output="42\n"),
        cell("solution(1, answer)", ["solution", "remove-input"], output="Because.\n"),
        nbformat.v4.new_markdown_cell("### Exercise 2"),
        cell("check(2, ...)"),
        cell("answer = 2", ["solution"], output="2\n"),
    ]
    for index, each in enumerate(notebook.cells):
        each.id = f"cell-{index}"
    path = tmp_path / "exercises.ipynb"
    nbformat.write(notebook, path)
    html = notebook_html.clean_notebook_html(
        nb2html(str(path), remove_tag_config={"remove_input_tags": ["remove-input"]})
    )
    collapsed = notebook_html.collapse_solutions(html)
    blocks = re.findall(r"<details class=\"success[^\"]*\">(.*?)</details>", collapsed, re.S)
    assert len(blocks) == 2
    assert "<summary>Solution to exercise 1</summary>" in blocks[0]
    assert "6" in blocks[0] and "42" in blocks[0] and "Because." in blocks[0]
    assert "Exercise 2" not in blocks[0] and "check(" not in blocks[0]
    assert "<summary>Solution to exercise 2</summary>" in blocks[1] and "answer" in blocks[1]
    assert collapsed.count("<div") == collapsed.count("</div>") == html.count("</div>")
    assert re.sub(r"<details.*?<summary>.*?</summary>\n|</details>", "", collapsed) == html
    assert notebook_html.collapse_solutions(notebook_html.clean_notebook_html(rendered(tmp_path)))
