"""The dashboard benchmark's script runs alone in AppTest: it must import every name it uses."""

from __future__ import annotations

import builtins
import inspect
import symtable
import textwrap

from benchmarks import dashboard


def test_the_refresh_script_imports_every_name_it_uses():
    # AppTest.from_function runs the function's source as a script, without the module around it
    source = textwrap.dedent(inspect.getsource(dashboard._refresh_script))
    table = symtable.symtable(source, "<script>", "exec")
    (function,) = table.get_children()
    unbound = {
        name
        for name in function.get_globals()
        if not hasattr(builtins, name) and name != function.get_name()
    }
    assert unbound == set(), f"the script uses names it does not import: {sorted(unbound)}"
