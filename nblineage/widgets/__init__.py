"""Notebook widgets (anywidget): the lineage graph (``graph.LineageGraph``, opened by ``nblineage.show``) and the
answer tables (``answers.AnswerTables``). Their JavaScript is built from ``labextension/`` into ``static/``."""
