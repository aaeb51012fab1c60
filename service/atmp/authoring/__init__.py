"""Tools for the people who edit the rules: normaliser, template compiler, merge build, citations, QC.

Editors change ``ontology/src/atmp-edit.ttl`` and ``ontology/templates/*.tsv``; everything the
classifier reads (``ontology/atmp.ttl``) is generated from them by ``python -m atmp.authoring build``.
See ``ontology/README-editors.md``.

May import: :mod:`atmp.core`, :mod:`atmp.kg` and :mod:`atmp.analysis` (the release notes use the rule diff);
never :mod:`atmp.http` or :mod:`atmp.cli`.
"""
