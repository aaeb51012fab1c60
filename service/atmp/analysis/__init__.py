"""Analysis over classification results: what-if counterfactuals, taxonomy views, tables and plots.

May import: :mod:`atmp.core` and :mod:`atmp.kg`; never :mod:`atmp.http` or :mod:`atmp.cli`.
"""
