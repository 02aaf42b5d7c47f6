"""The ``gamify`` command (:mod:`gamify.cli.main`) and ``flask gamify``
(:mod:`gamify.cli.commands`)."""
