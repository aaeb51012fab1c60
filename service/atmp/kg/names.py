"""The knowledge graph's names as plain strings: its named graphs and export formats.

Kept free of imports so the command line can offer them as choices (``atmp export --graph``/``--format``) without
loading rdflib or pyoxigraph, which keeps ``atmp --help`` fast.
"""

GRAPH_NAMES = ("ontology", "asserted", "inferred")
EXPORT_FORMAT_NAMES = ("turtle", "trig", "nt", "nq")
