"""Command-line tools of the repository (not part of backprop_lib): the instructor's dashboard
(``build_dashboard``, run by ``make demo``) and the static course site (``build_site``, run by
``make site``)."""
