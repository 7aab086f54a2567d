"""Each tutorial's downloads: its script and a Colab-ready executed notebook."""

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from mnist_book.site import downloads


def test_colab_link_points_at_the_notebook_on_gh_pages():
    url = downloads.colab_url("https://github.com/me/book/", "single-layer/", "single-layer")
    assert url == (
        "https://colab.research.google.com/github/me/book/blob/gh-pages/"
        "single-layer/single-layer.ipynb"
    )
    assert downloads.colab_url("https://gitlab.com/me/book", "p/", "p") is None
    assert downloads.colab_url(None, "p/", "p") is None


def test_bar_offers_both_files_and_colab_when_there_is_a_link():
    bar = downloads.downloads_bar("page", "https://colab.example/page.ipynb")
    assert 'href="page.py" download' in bar and 'href="page.ipynb" download' in bar
    assert "Open in Colab" in bar
    assert "Open in Colab" not in downloads.downloads_bar("page", None)


def test_downloads_are_the_script_and_a_colab_ready_notebook(tmp_path):
    script = tmp_path / "docs" / "page.py"
    script.parent.mkdir()
    script.write_text("# %%\nprint(1)\n")
    executed = tmp_path / "page.ipynb"
    notebook = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    notebook.cells.append(nbformat.v4.new_code_cell("print(1)", id="cell-0"))
    nbformat.write(notebook, executed)

    downloads.write_downloads(
        script, executed, tmp_path / "site" / "page", "https://github.com/a/b"
    )
    target = tmp_path / "site" / "page"
    assert (target / "page.py").read_text() == script.read_text()
    written = nbformat.read(target / "page.ipynb", as_version=4)
    nbformat.validate(written)
    assert written.metadata.kernelspec.name == "python3" and "widgets" not in written.metadata
    setup, cell = written.cells
    assert "%pip install" in setup.source and "git+https://github.com/a/b" in setup.source
    compile(TransformerManager().transform_cell(setup.source), "setup", "exec")
    assert cell.source == "print(1)"


def test_downloads_leave_out_the_solutions_and_keep_the_check_cells(tmp_path):
    script = tmp_path / "docs" / "page.py"
    script.parent.mkdir()
    script.write_text(
        "# %% [markdown]\n# ### Exercise 1\n\n"
        "# %%\ncheck(1, ...)\n\n"
        '# %% tags=["solution"]\nanswer = 42\n\n'
        '# %% tags=["solution", "remove-input"]\nsolution(1, answer)\n\n'
        '# %% tags=["remove-input"]\nsentence()\n'
    )
    executed = tmp_path / "page.ipynb"
    notebook = nbformat.v4.new_notebook()
    for index, (source, tags) in enumerate(
        [("check(1, ...)", []), ("answer = 42", ["solution"]), ("sentence()", ["remove-input"])]
    ):
        notebook.cells.append(
            nbformat.v4.new_code_cell(source, id=f"c{index}", metadata={"tags": tags})
        )
    nbformat.write(notebook, executed)

    downloads.write_downloads(script, executed, tmp_path / "site", None)
    written_script = (tmp_path / "site" / "page.py").read_text()
    assert "check(1, ...)" in written_script and "sentence()" in written_script
    assert "answer" not in written_script and "solution" not in written_script
    assert written_script.startswith("# %% [markdown]\n# ### Exercise 1\n")
    cells = nbformat.read(tmp_path / "site" / "page.ipynb", as_version=4).cells
    assert [cell.source for cell in cells] == ["check(1, ...)", "sentence()"]
