"""Authoring the rules: releases (:mod:`atmp.authoring.release`).

May import: :mod:`atmp.core`, :mod:`atmp.kg`, :mod:`atmp.analysis`.
"""
