"""Acting on files safely: delete, merge and undo through the journal, moves that never replace, the trash, sidecars, protected folders."""
