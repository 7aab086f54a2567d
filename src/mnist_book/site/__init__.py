"""The site machinery: the ``mnist-book`` mkdocs plugin and the jobs it wires together.

`plugin` holds only the mkdocs configuration and events; each job lives in its own module:

- `execution`: executing the tutorial scripts with nbclient, several at once, with a cell
  timeout, and the failure messages that name page and cell.
- `page_cache`: the execution cache, keyed on a page's code and its environment.
- `progress`: one terminal line per event while pages execute (pages, models, epochs).
- `report`: ``results.json``, the results and execution-time tables, the build information.
- `links`: links between tutorials, and between tutorials and the API reference.
- `downloads`: each tutorial's ``.py``, its Colab-ready ``.ipynb`` and the Colab link.
- `notebook_html`: the HTML mkdocs-jupyter renders, made light and version-independent.
- `figures`: the images of the executed pages, written as files beside each page.
- `accessibility`: repairs to the theme's HTML that accessibility checks ask for.

Nothing here is needed to use `mnist_book` outside the site: plotting, training and the rest
never import mkdocs.
"""
